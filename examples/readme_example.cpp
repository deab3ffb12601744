// The C++ example in README.md, kept here so that it is compiled and run by the tests.
#include <imgvec/imgvec.hpp>

#include <cstdio>

int main() {
  imgvec::HnswIndex index(4, imgvec::Metric::cosine);   // or imgvec::FlatIndex: exact search
  index.add(1, std::vector<float>{1, 0, 0, 0});          // any 64-bit id; adding again replaces
  std::vector<float> rows = {0, 1, 0, 0, 0.9f, 0.1f, 0, 0, 0, 0, 1, 0};
  index.add_batch(std::vector<imgvec::Id>{2, 3, 4}, imgvec::MatrixView(rows.data(), 3, 4));

  std::vector<float> query = {1, 0.05f, 0, 0};
  for (const auto& hit : index.search(query, 2))        // best first: id, score, distance
    std::printf("id %llu  cosine %.3f\n", (unsigned long long)hit.id, hit.score);

  auto odd = imgvec::Filter::predicate([](imgvec::Id id) { return id % 2 == 1; });
  imgvec::SearchParams params(10);
  params.filter = &odd;                                  // exact scan or filtered graph walk
  params.min_score = 0.5f;                               // cosine >= 0.5
  std::printf("filtered: %zu hit(s)\n", index.search(query, params).size());

  index.save("example.imgvec");                          // atomic: the old file or the new one
  auto reopened = imgvec::Index::load("example.imgvec", 4);  // validated before use
  return reopened->size() == 4 ? 0 : 1;
}
