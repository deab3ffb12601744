// A program that uses hnswlib directly and imgvec::core side by side. Before imgvec compiled
// hnswlib privately, both defined hnswlib::HierarchicalNSW<float> (differently built), and the
// linker silently kept one definition for both.
#include <hnswlib/hnswlib.h>

#include <cstdio>
#include <vector>

#include <imgvec/imgvec.hpp>

int main() {
  const int d = 8;
  hnswlib::L2Space space(d);
  hnswlib::HierarchicalNSW<float> theirs(&space, 100);
  imgvec::HnswIndex ours(d, imgvec::Metric::l2);
  for (int i = 0; i < 50; ++i) {
    std::vector<float> v(d, 0.0f);
    v[i % d] = static_cast<float>(i + 1);
    theirs.addPoint(v.data(), static_cast<hnswlib::labeltype>(i));
    ours.add(static_cast<imgvec::Id>(i), v);
  }
  std::vector<float> q(d, 0.0f);
  q[3] = 20.0f;  // nearest: i = 19 (value 20 at index 3)
  const auto top = theirs.searchKnn(q.data(), 1);
  const auto hits = ours.search(q, 1);
  std::printf("hnswlib: %zu, imgvec: %llu\n", static_cast<std::size_t>(top.top().second),
              static_cast<unsigned long long>(hits.at(0).id));
  return top.top().second == 19 && hits.at(0).id == 19 ? 0 : 1;
}
