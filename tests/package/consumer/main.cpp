// A downstream program: builds, saves, reloads and searches an index through the public API.
#include <imgvec/imgvec.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  imgvec::HnswIndex index(3, imgvec::Metric::cosine);
  index.add(1, std::vector<float>{1, 0, 0});
  index.add(2, std::vector<float>{0, 1, 0});
  index.add(3, std::vector<float>{0.9f, 0.1f, 0});
  index.save(argv[1]);
  auto loaded = imgvec::Index::load(argv[1], 3);
  auto hits = loaded->search(std::vector<float>{1, 0.05f, 0}, 2);
  const bool ok = hits.size() == 2 && hits[0].id == 1 && hits[1].id == 3;
  std::printf("imgvec %s consumer: %s\n", imgvec::version_string(), ok ? "ok" : "WRONG RESULTS");
  return ok ? 0 : 1;
}
