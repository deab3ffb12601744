#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>

#include "datasets.hpp"

using namespace imgvec;
using namespace imgvec::testing;

TEST_CASE(".fvecs and .ivecs files read back what was written", "[support]") {
  char path[] = "/tmp/imgvec-fvecs-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  {
    std::ofstream out(path, std::ios::binary);
    for (int r = 0; r < 3; ++r) {
      const std::int32_t d = 2;
      const float row[2] = {float(r), float(r) + 0.5f};
      out.write(reinterpret_cast<const char*>(&d), 4);
      out.write(reinterpret_cast<const char*>(row), 8);
    }
  }
  Dataset data = read_fvecs(path);
  CHECK(data.rows == 3);
  CHECK(data.dim == 2);
  CHECK(data.row(2)[1] == 2.5f);
  CHECK(read_fvecs(path, 2).rows == 2);
  // The same bytes read as .ivecs: rows of two int32 (the float bit patterns).
  auto ints = read_ivecs(path);
  REQUIRE(ints.size() == 3);
  CHECK(ints[1].size() == 2);
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    const std::int32_t d = 2;
    out.write(reinterpret_cast<const char*>(&d), 4);  // a row with no values
  }
  CHECK_THROWS_WITH(read_fvecs(path), Catch::Matchers::Contains("truncated"));
  std::remove(path);
}

TEST_CASE("clustered data looks like CLIP embeddings", "[support]") {
  Dataset a = clustered(400, 64, 3);
  Dataset b = clustered(400, 64, 3);
  CHECK(a.data == b.data);  // deterministic per seed
  double mean_cos = 0;
  for (std::size_t i = 0; i + 1 < a.rows; i += 2) {
    double dot = 0, n = 0;
    for (std::size_t k = 0; k < a.dim; ++k) {
      dot += double(a.row(i)[k]) * a.row(i + 1)[k];
      n += double(a.row(i)[k]) * a.row(i)[k];
    }
    CHECK(std::abs(n - 1.0) < 1e-4);
    mean_cos += dot;
  }
  mean_cos /= double(a.rows / 2);
  INFO("mean cosine of random pairs: " << mean_cos);
  CHECK(mean_cos > 0.3);
  CHECK(mean_cos < 0.8);
}

TEST_CASE("clip_like data has the statistics it documents, the same for a base and its queries", "[support]") {
  // 20k x 512 with the default shape scaled to the row count (as the benchmark does): the figures
  // land near those documented at 100k (nearest 0.878, tenth 0.816, median pair 0.441).
  ClipLikeShape shape;
  shape.clusters = 20000 / 64;
  const Dataset base = clip_like(20000, 512, 1, 0, shape);
  const Dataset queries = clip_like(200, 512, 1, 1, shape);
  CHECK(clip_like(50, 512, 1, 0, shape).data == std::vector<float>(base.data.begin(), base.data.begin() + 50 * 512));
  for (std::size_t r = 0; r < base.rows; r += 997) {
    double norm = 0;
    for (std::size_t i = 0; i < 512; ++i) norm += double(base.row(r)[i]) * base.row(r)[i];
    CHECK(norm == Approx(1.0).epsilon(1e-5));
  }
  const NeighbourCosines c = neighbour_cosines(base, queries, ground_truth(base, queries, 10, Metric::cosine));
  INFO("nearest " << c.nearest << ", tenth " << c.tenth << ", median pair " << c.median_pair);
  CHECK(c.nearest == Approx(0.87).margin(0.03));
  CHECK(c.tenth == Approx(0.81).margin(0.03));
  CHECK(c.tenth < c.nearest - 0.02);
  CHECK(c.median_pair == Approx(0.44).margin(0.04));
}
