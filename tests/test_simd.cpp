#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernel_sets.hpp"
#include "simd/kernels.hpp"

using imgvec::detail::simd::Isa;
using imgvec::detail::simd::Kernels;

namespace {

std::vector<float> random_vector(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

double ref_dot(const float* a, const float* b, std::size_t d) {
  double s = 0;
  for (std::size_t i = 0; i < d; ++i) s += double(a[i]) * b[i];
  return s;
}

double ref_l2(const float* a, const float* b, std::size_t d) {
  double s = 0;
  for (std::size_t i = 0; i < d; ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return s;
}

// Float accumulation error grows with the dimension and the magnitudes summed.
double tolerance(std::size_t d) { return 1e-5 * double(d) + 1e-6; }

std::vector<const Kernels*> available() { return imgvec::testing::available_kernels(); }

const std::size_t kDims[] = {1, 3, 17, 511, 512, 768, 1000};

}  // namespace

TEST_CASE("the scalar kernels are always available and one set is active", "[simd]") {
  REQUIRE(imgvec::detail::simd::for_isa(Isa::scalar) != nullptr);
  const Kernels& active = imgvec::detail::simd::active();
  INFO("active kernels: " << active.name);
  CHECK(imgvec::detail::simd::for_isa(active.isa) == &active);
}

TEST_CASE("dot and l2sq kernels match a double-precision reference", "[simd]") {
  std::mt19937 rng(7);
  for (const Kernels* k : available()) {
    for (std::size_t d : kDims) {
      INFO(k->name << " d=" << d);
      // Offset by one float so unaligned loads and masked tails are exercised.
      auto a = random_vector(d + 1, rng), b = random_vector(d + 1, rng);
      CHECK(std::abs(k->dot(a.data() + 1, b.data() + 1, d) - ref_dot(a.data() + 1, b.data() + 1, d)) <
            tolerance(d));
      CHECK(std::abs(k->l2sq(a.data() + 1, b.data() + 1, d) - ref_l2(a.data() + 1, b.data() + 1, d)) <
            tolerance(d));
      std::size_t dim = d;
      CHECK(std::abs(k->hnsw_ip(a.data(), b.data(), &dim) - (1.0 - ref_dot(a.data(), b.data(), d))) <
            tolerance(d));
      CHECK(std::abs(k->hnsw_l2(a.data(), b.data(), &dim) - ref_l2(a.data(), b.data(), d)) <
            tolerance(d));
    }
  }
}

TEST_CASE("the four-at-once graph kernels equal four single calls", "[simd]") {
  // A graph walk scores a node's neighbours four at a time from scattered records: each of the
  // four results must be the single kernel's, whatever the dimension's tail.
  std::mt19937 rng(11);
  for (const Kernels* k : available()) {
    for (std::size_t d : kDims) {
      INFO(k->name << " d=" << d);
      auto a = random_vector(d + 1, rng);
      std::vector<std::vector<float>> rows;
      for (int r = 0; r < 4; ++r) rows.push_back(random_vector(d + 3, rng));
      // Different offsets: the records of a graph are not aligned with each other.
      const void* recs[4] = {rows[0].data() + 1, rows[1].data() + 2, rows[2].data(), rows[3].data() + 3};
      std::size_t dim = d;
      float ip[4], l2[4];
      k->hnsw_ip4(a.data() + 1, recs, &dim, ip);
      k->hnsw_l2_4(a.data() + 1, recs, &dim, l2);
      for (int r = 0; r < 4; ++r) {
        INFO("record " << r);
        const auto* x = static_cast<const float*>(recs[r]);
        CHECK(std::abs(ip[r] - k->hnsw_ip(a.data() + 1, x, &dim)) < tolerance(d));
        CHECK(std::abs(l2[r] - k->hnsw_l2(a.data() + 1, x, &dim)) < tolerance(d));
        CHECK(std::abs(ip[r] - (1.0 - ref_dot(a.data() + 1, x, d))) < tolerance(d));
      }
    }
  }
}

TEST_CASE("row kernels score one query against many rows", "[simd]") {
  std::mt19937 rng(11);
  for (const Kernels* k : available()) {
    for (std::size_t d : kDims) {
      for (std::size_t n : {1, 2, 3, 4, 5, 7, 8, 9, 37}) {
        INFO(k->name << " d=" << d << " n=" << n);
        auto q = random_vector(d, rng), x = random_vector(n * d, rng);
        std::vector<float> dots(n, -99.0f), l2s(n, -99.0f);
        k->dot_rows(q.data(), x.data(), n, d, dots.data());
        k->l2sq_rows(q.data(), x.data(), n, d, l2s.data());
        for (std::size_t i = 0; i < n; ++i) {
          CHECK(std::abs(dots[i] - ref_dot(q.data(), x.data() + i * d, d)) < tolerance(d));
          CHECK(std::abs(l2s[i] - ref_l2(q.data(), x.data() + i * d, d)) < tolerance(d));
        }
      }
    }
  }
}

TEST_CASE("the panel kernel computes inner products of packed queries and rows in place", "[simd]") {
  using imgvec::detail::simd::kPanelQueries;
  std::mt19937 rng(17);
  for (const Kernels* k : available()) {
    for (std::size_t d : kDims) {
      for (std::size_t nx : {1, 5, 6, 7, 12, 13}) {
        // Whole tiles (64 on AVX-512, 16 on AVX2), single vectors after them, and partial ones.
        for (std::size_t lanes : {1, 5, 8, 16, 17, 40, 48, 63, 64}) {
          INFO(k->name << " d=" << d << " rows=" << nx << " lanes=" << lanes);
          // A row stride wider than d: rows may live inside larger records.
          const std::size_t ldx = d + 5;
          auto q = random_vector(lanes * d, rng), x = random_vector(nx * ldx + 1, rng);
          x.back() = 1e30f;  // just past the last row: never read
          std::vector<float> panel(d * kPanelQueries, 0.0f);
          for (std::size_t j = 0; j < lanes; ++j) {
            for (std::size_t i = 0; i < d; ++i) panel[i * kPanelQueries + j] = q[j * d + i];
          }
          std::vector<float> out((nx + 1) * kPanelQueries, -99.0f);
          k->dot_panel(panel.data(), lanes, x.data(), nx, ldx, d, out.data());
          for (std::size_t r = 0; r < nx; ++r) {
            for (std::size_t j = 0; j < lanes; ++j) {
              CHECK(std::abs(out[r * kPanelQueries + j] - ref_dot(q.data() + j * d, x.data() + r * ldx, d)) <
                    tolerance(d));
            }
          }
          for (std::size_t j = 0; j < kPanelQueries; ++j) {
            CHECK(out[nx * kPanelQueries + j] == -99.0f);  // nothing written past the rows
          }
        }
      }
    }
  }
}

TEST_CASE("at_least_mask tests 64 scores against their bars as the batched search scores them", "[simd]") {
  using imgvec::detail::simd::kPanelQueries;
  std::mt19937 rng(23);
  std::uniform_real_distribution<float> value(-4.0f, 4.0f);
  for (const Kernels* k : available()) {
    for (std::size_t lanes : {1, 7, 8, 16, 33, 64}) {
      for (float scale : {1.0f, 2.0f}) {
        INFO(k->name << " lanes=" << lanes << " scale=" << scale);
        std::vector<float> s(kPanelQueries), offset(kPanelQueries), bar(kPanelQueries);
        for (std::size_t j = 0; j < kPanelQueries; ++j) {
          s[j] = value(rng);
          offset[j] = value(rng);
          bar[j] = value(rng);
        }
        const float shift = value(rng);
        bar[0] = (scale * s[0] - shift) - offset[0];  // equal to the bar counts
        std::uint64_t want = 0;
        for (std::size_t j = 0; j < lanes; ++j) {
          if ((scale * s[j] - shift) - offset[j] >= bar[j]) want |= std::uint64_t{1} << j;
        }
        CHECK((want & 1u) == 1u);
        CHECK(k->at_least_mask(s.data(), scale, shift, offset.data(), bar.data(), lanes) == want);
      }
    }
  }
}

TEST_CASE("first_at_least finds the first score at or above a bar", "[simd]") {
  for (const Kernels* k : available()) {
    for (std::size_t n : {0, 1, 7, 8, 15, 16, 17, 40}) {
      std::vector<float> s(n + 1, -1.0f);
      INFO(k->name << " n=" << n);
      CHECK(k->first_at_least(s.data(), n, 0.5f) == n);
      for (std::size_t at = 0; at < n; ++at) {
        std::vector<float> t = s;
        t[at] = 0.5f;  // equal to the bar counts
        if (at + 1 < n) t[n - 1] = 2.0f;
        t[n] = 9.0f;  // past the end: never seen
        CHECK(k->first_at_least(t.data(), n, 0.5f) == at);
        CHECK(k->first_at_least(t.data(), n, 10.0f) == n);
      }
    }
  }
}
