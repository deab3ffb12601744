#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
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
