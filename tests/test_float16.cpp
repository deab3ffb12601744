// float16 vector storage: the conversion kernels on every instruction set, and HnswIndex with
// VectorStorage::float16 against the float32 index and exact search.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <vector>

#include "datasets.hpp"
#include "kernel_sets.hpp"
#include "imgvec/error.hpp"
#include "imgvec/index/flat_index.hpp"
#include "imgvec/index/hnsw_index.hpp"
#include "simd/kernels.hpp"
#include "temp_dir.hpp"

using namespace imgvec;
using namespace imgvec::testing;
namespace fs = std::filesystem;
using imgvec::detail::simd::Isa;
using imgvec::detail::simd::Kernels;

namespace {

std::vector<const Kernels*> available() { return imgvec::testing::available_kernels(); }

// The exact value of a binary16 bit pattern, decoded field by field in double.
double half_value(std::uint16_t h) {
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  const double sign = (h & 0x8000) ? -1.0 : 1.0;
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);
  if (exponent == 31) {
    return mantissa ? std::numeric_limits<double>::quiet_NaN()
                    : sign * std::numeric_limits<double>::infinity();
  }
  return sign * std::ldexp(1024 + mantissa, exponent - 25);
}

std::uint16_t to_half(const Kernels& k, float x) {
  std::uint16_t h;
  k.to_f16(&x, 1, &h);
  return h;
}

HnswParams half_params() {
  HnswParams p;
  p.storage = VectorStorage::float16;
  return p;
}

}  // namespace

TEST_CASE("float16 conversions are exact both ways and round to nearest even", "[simd][float16]") {
  // Every finite half converts to its exact float value and back to the same bits.
  std::vector<std::uint16_t> all;
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    if (((h >> 10) & 0x1f) != 31) all.push_back(static_cast<std::uint16_t>(h));
  }
  for (const Kernels* k : available()) {
    INFO(k->name);
    std::vector<float> f(all.size());
    std::vector<std::uint16_t> back(all.size());
    k->from_f16(all.data(), all.size(), f.data());
    k->to_f16(f.data(), f.size(), back.data());
    std::size_t wrong_value = 0, wrong_bits = 0;
    for (std::size_t i = 0; i < all.size(); ++i) {
      wrong_value += static_cast<double>(f[i]) != half_value(all[i]) ? 1 : 0;
      wrong_bits += back[i] != all[i] ? 1 : 0;
    }
    CHECK(wrong_value == 0);
    CHECK(wrong_bits == 0);

    // Halfway between two halves goes to the even one; just past halfway goes up.
    CHECK(to_half(*k, 1.0f + 0x1p-11f) == 0x3c00);               // 1 + half an ulp -> 1
    CHECK(to_half(*k, 1.0f + 3 * 0x1p-11f) == 0x3c02);           // 1 + 1.5 ulp -> 1 + 2 ulp
    CHECK(to_half(*k, 1.0f + 0x1p-11f + 0x1p-20f) == 0x3c01);    // above the tie
    CHECK(to_half(*k, 0x1p-25f) == 0x0000);                      // tie below the least subnormal
    CHECK(to_half(*k, 0x1p-25f + 0x1p-35f) == 0x0001);
    CHECK(to_half(*k, 3 * 0x1p-25f) == 0x0002);                  // subnormal tie to even
    CHECK(to_half(*k, -2.5e-8f) == 0x8000);                      // signed zero
    CHECK(to_half(*k, 65504.0f) == 0x7bff);                      // the largest half
    CHECK(to_half(*k, 65519.0f) == 0x7bff);
    CHECK(to_half(*k, 65520.0f) == 0x7c00);                      // rounds up to infinity
    CHECK(to_half(*k, -1e30f) == 0xfc00);
    CHECK(to_half(*k, std::numeric_limits<float>::infinity()) == 0x7c00);
    CHECK((to_half(*k, std::numeric_limits<float>::quiet_NaN()) & 0x7fff) > 0x7c00);
  }
}

TEST_CASE("float16 distance kernels match a float reference on the rounded values",
          "[simd][float16]") {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal;
  for (const Kernels* k : available()) {
    for (std::size_t d : {1, 3, 8, 17, 33, 511, 512, 768}) {
      INFO(k->name << " d=" << d);
      std::vector<float> q(d), x(d * 5), xr(d * 5);
      for (float& v : q) v = normal(rng);
      for (float& v : x) v = normal(rng);
      std::vector<std::uint16_t> xh(x.size()), qh(d);
      k->to_f16(x.data(), x.size(), xh.data());
      k->to_f16(q.data(), d, qh.data());
      k->from_f16(xh.data(), xh.size(), xr.data());
      std::vector<float> qr(d);
      k->from_f16(qh.data(), d, qr.data());
      const double tol = 1e-5 * d + 1e-5;
      std::size_t dim = d;
      std::vector<float> rows(5), rows_l2(5);
      k->dot_rows_f16(q.data(), xh.data(), 5, d, rows.data());
      k->l2sq_rows_f16(q.data(), xh.data(), 5, d, rows_l2.data());
      for (std::size_t r = 0; r < 5; ++r) {
        const float* xrr = xr.data() + r * d;
        const std::uint16_t* xhr = xh.data() + r * d;
        const double dot = k->dot(q.data(), xrr, d);
        const double l2 = k->l2sq(q.data(), xrr, d);
        CHECK(std::abs(k->dot_f16(q.data(), xhr, d) - dot) < tol);
        CHECK(std::abs(k->l2sq_f16(q.data(), xhr, d) - l2) < tol * (1 + l2));
        CHECK(std::abs(rows[r] - dot) < tol);
        CHECK(std::abs(rows_l2[r] - l2) < tol * (1 + l2));
        CHECK(std::abs(k->hnsw_ip_f32_f16(q.data(), xhr, &dim) - (1.0 - dot)) < tol);
        CHECK(std::abs(k->hnsw_l2_f32_f16(q.data(), xhr, &dim) - l2) < tol * (1 + l2));
        CHECK(std::abs(k->hnsw_ip_f16(qh.data(), xhr, &dim) - (1.0 - k->dot(qr.data(), xrr, d))) < tol);
        const double l2h = k->l2sq(qr.data(), xrr, d);
        CHECK(std::abs(k->hnsw_l2_f16(qh.data(), xhr, &dim) - l2h) < tol * (1 + l2h));
      }
      // Four rows at once, as a graph walk scores a node's neighbours: rows 4, 2, 0, 1.
      const void* four[4] = {xh.data() + 4 * d, xh.data() + 2 * d, xh.data(), xh.data() + d};
      float ip4h[4], l24h[4];
      k->hnsw_ip4_f16(qh.data(), four, &dim, ip4h);
      k->hnsw_l2_4_f16(qh.data(), four, &dim, l24h);
      for (int r = 0; r < 4; ++r) {
        const float single_l2h = k->hnsw_l2_f16(qh.data(), four[r], &dim);
        CHECK(std::abs(ip4h[r] - k->hnsw_ip_f16(qh.data(), four[r], &dim)) < tol);
        CHECK(std::abs(l24h[r] - single_l2h) < tol * (1 + single_l2h));
      }
    }
  }
}

TEST_CASE("hnsw float16: recall and scores match float32 storage on 20k clustered vectors",
          "[index][hnsw][float16][recall]") {
  constexpr std::size_t n = test_rows(20000), d = 512;
  const Dataset base = clustered(n, d, 42);
  const Dataset queries = clustered(200, d, 42, 1);
  HnswIndex full(d, Metric::cosine);
  HnswIndex half(d, Metric::cosine, half_params());
  full.add_batch(iota_ids(n), base.view());
  half.add_batch(iota_ids(n), base.view());
  CHECK(full.storage() == VectorStorage::float32);
  CHECK(half.storage() == VectorStorage::float16);
  // Records shrink from 4 to 2 bytes per value: 2 kB less per 512-d vector.
  const double saved = double(full.memory_bytes() - half.memory_bytes()) / n;
  CHECK(saved > 1000);
  CHECK(saved < 1100);

  const auto truth = ground_truth(base, queries, 10, Metric::cosine);
  const SearchParams p(10);
  const auto found_full = full.search_batch(queries.view(), p);
  const auto found_half = half.search_batch(queries.view(), p);
  const double recall_full = recall_at_k(found_full, truth, 10);
  const double recall_half = recall_at_k(found_half, truth, 10);
  WARN("recall@10 float32 " << recall_full << ", float16 " << recall_half);
  CHECK(recall_half >= 0.95);
  CHECK(recall_half >= recall_full - 0.01);
  // A score differs from the exact float32 cosine by the rounding of the stored values only.
  const double worst = worst_cosine_error(found_half, base, queries);
  INFO("worst score error " << worst);
  CHECK(worst < 1e-3);
  CHECK(worst > 0);  // the values really were rounded

  // get_vector returns the stored (rounded) vector, within half precision of the normalized input.
  const std::vector<float> v = half.get_vector(7), w = full.get_vector(7);
  for (std::size_t i = 0; i < d; ++i) CHECK(std::abs(v[i] - w[i]) <= std::abs(w[i]) * 0x1p-11f + 0x1p-24f);
}

TEST_CASE("hnsw float16: save, load, filters, removal and compaction", "[index][hnsw][float16][io]") {
  TempDir dir;
  constexpr std::size_t n = 3000, d = 40;  // 40 is not a multiple of a vector width: tails run
  const Dataset base = clustered(n, d, 9);
  const Dataset queries = clustered(30, d, 9, 1);
  HnswIndex index(d, Metric::cosine, half_params());
  index.set_threads(1);  // one thread builds the same graph every time: file sizes compare exactly
  index.add_batch(iota_ids(n), base.view());
  for (Id id = 0; id < n; id += 7) index.remove(id);
  const std::string path = dir.file("half.idx");
  index.save(path);
  auto loaded = Index::load(path, d);
  CHECK(loaded->storage() == VectorStorage::float16);
  CHECK(loaded->ids() == index.ids());
  const Filter odd = Filter::predicate([](Id id) { return id % 2 == 1; });
  SearchParams filtered(10);
  filtered.filter = &odd;
  for (std::size_t q = 0; q < queries.rows; ++q) {
    const VectorView query(queries.row(q), d);
    const auto a = index.search(query, {10});
    const auto b = loaded->search(query, {10});
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].id == b[i].id);
      CHECK(a[i].score == b[i].score);
      CHECK(a[i].id % 7 != 0);
    }
    for (const SearchHit& h : loaded->search(query, filtered)) CHECK(h.id % 2 == 1);
  }
  // The file holds 2 bytes per value and is otherwise the float32 index's layout.
  HnswIndex full(d, Metric::cosine);
  full.set_threads(1);
  full.add_batch(iota_ids(n), base.view());
  for (Id id = 0; id < n; id += 7) full.remove(id);
  full.save(dir.file("full.idx"));
  const auto half_bytes = fs::file_size(path), full_bytes = fs::file_size(dir.file("full.idx"));
  CHECK(full_bytes - half_bytes == n * d * 2);

  auto reopened = HnswIndex::load(path);
  CHECK(reopened->params().storage == VectorStorage::float16);
  reopened->compact();
  CHECK(reopened->tombstones() == 0);
  CHECK(reopened->size() == index.size());
  CHECK(reopened->search(VectorView(base.row(1), d), {1})[0].id == 1);
  // Re-adding an id updates it in place, in float16 too.
  reopened->add(1, VectorView(base.row(2), d));
  const auto top = reopened->search(VectorView(base.row(2), d), {2});
  CHECK((top[0].id == 1 || top[0].id == 2));
  CHECK(top[1].score == Approx(top[0].score).margin(1e-6));
}

TEST_CASE("hnsw float16: out-of-range values are refused before anything is stored",
          "[index][hnsw][float16][errors]") {
  for (Metric metric : {Metric::inner_product, Metric::l2}) {
    HnswIndex index(4, metric, half_params());
    const std::vector<float> ok{65504.0f, -65504.0f, 1.0f, 0.0f};
    const std::vector<float> rows{1, 2, 3, 4, 5, 6, 7, 70000.0f};
    CHECK_THROWS_WITH(index.add_batch({1, 2}, MatrixView(rows.data(), 2, 4)),
                      Catch::Matchers::Contains("id 2") && Catch::Matchers::Contains("float16"));
    CHECK(index.size() == 0);
    index.add(3, ok);
    CHECK(index.get_vector(3) == ok);
  }
  // Cosine vectors are normalized first, so any finite direction fits.
  HnswIndex cosine(4, Metric::cosine, half_params());
  cosine.add(1, std::vector<float>{1e5f, 0, 0, 0});
  CHECK(cosine.get_vector(1)[0] == 1.0f);
}

