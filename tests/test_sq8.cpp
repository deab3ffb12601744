// sq8 vector storage: the code kernels on every instruction set against a double reference, the
// quantizer (ranges, clamping, retraining), and HnswIndex with VectorStorage::sq8 against float32
// and exact search: recall, scores, re-rank depth, memory, save/load, compaction, growth.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <vector>

#include "datasets.hpp"
#include "kernel_sets.hpp"
#include "imgvec/error.hpp"
#include "imgvec/index/hnsw_index.hpp"
#include "index/sq8_codec.hpp"
#include "simd/kernels.hpp"
#include "temp_dir.hpp"

using namespace imgvec;
using namespace imgvec::testing;
namespace fs = std::filesystem;
using imgvec::detail::RecordSpan;
using imgvec::detail::Sq8Codec;
using imgvec::detail::simd::Isa;
using imgvec::detail::simd::Kernels;

namespace {

std::vector<const Kernels*> available() { return imgvec::testing::available_kernels(); }

HnswParams sq8_params() {
  HnswParams p;
  p.storage = VectorStorage::sq8;
  return p;
}

// The decoded vector of a record, in double.
std::vector<double> decoded(const Sq8Codec& codec, const char* record) {
  std::vector<double> v(codec.dim());
  const auto* codes = reinterpret_cast<const std::uint8_t*>(record);
  for (std::size_t i = 0; i < codec.dim(); ++i) v[i] = double(codec.lo()[i]) + double(codec.step()[i]) * codes[i];
  return v;
}

double dot(const std::vector<double>& a, const float* b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

TEST_CASE("sq8 kernels match a double reference on the decoded vectors", "[simd][sq8]") {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  for (std::size_t d : {1, 3, 8, 17, 33, 127, 128, 255, 511, 512, 768}) {
    Sq8Codec codec(d);
    std::vector<float> rows(d * 6);
    for (float& v : rows) v = normal(rng) * 0.3f;
    const std::size_t bytes = codec.record_bytes();
    std::vector<char> records(6 * bytes);
    codec.train(rows.data(), 6, {records.data(), bytes, 0});
    for (std::size_t r = 0; r < 6; ++r) codec.encode(rows.data() + r * d, records.data() + r * bytes);
    std::vector<float> query(d);
    for (float& v : query) v = normal(rng);
    std::vector<std::int16_t> weight;
    const auto prepared = codec.prepare(query.data(), weight);
    for (std::size_t i = 0; i < d; ++i) CHECK(std::abs(weight[i]) <= imgvec::detail::simd::sq8_max_weight(d));
    // The 16-bit weights are the query's q_i * step_i to within half a unit of scale.
    for (std::size_t i = 0; i < d; ++i) {
      CHECK(std::abs(weight[i] * prepared.scale - query[i] * codec.step()[i]) <= prepared.scale * 0.5 + 1e-6f * std::abs(query[i] * codec.step()[i]) + 1e-9f);
    }
    double qq = 0;
    for (float v : query) qq += double(v) * v;
    for (const Kernels* k : available()) {
      INFO(k->name << " d=" << d);
      for (std::size_t r = 0; r + 1 < 6; ++r) {
        const char* a = records.data() + r * bytes;
        const char* b = a + bytes;
        const auto x = decoded(codec, a), y = decoded(codec, b);
        double xy = 0, l2 = 0, xx = 0, qx = dot(x, query.data());
        for (std::size_t i = 0; i < d; ++i) {
          xy += x[i] * y[i];
          l2 += (x[i] - y[i]) * (x[i] - y[i]);
          xx += x[i] * x[i];
        }
        const double tol = 1e-5 * (1 + d * 0.01);
        // The two records' inner product is a sum of terms as large as |lo|^2, which cancel: its
        // float error grows with them, not with the result (for normalized vectors |lo|^2 < 20).
        double scale = 0;
        for (std::size_t i = 0; i < d; ++i) scale += std::pow(std::abs(x[i]) + std::abs(codec.lo()[i]), 2);
        CHECK(k->hnsw_ip_sq8(a, b, codec.space()) == Approx(1.0 - xy).margin(tol + 4e-7 * scale));
        CHECK(k->hnsw_l2_sq8(a, b, codec.space()) == Approx(l2).margin(tol).epsilon(1e-5));
        const auto* codes = reinterpret_cast<const std::uint8_t*>(a);
        std::int64_t w = 0, code_sum = 0, magnitude = 0;
        for (std::size_t i = 0; i < d; ++i) {
          w += std::int64_t{weight[i]} * codes[i];
          magnitude += std::abs(std::int64_t{weight[i]} * codes[i]);
          code_sum += codes[i];
        }
        // Lane sums are exact integers, added in float at the end: terms of either sign cancel,
        // so the error is relative to their magnitudes, not to the result.
        CHECK(k->dot_u8_i16(weight.data(), codes, d) == Approx(double(w)).epsilon(1e-6).margin(1e-6 * double(magnitude)));
        // Against the decoded vectors the weights' rounding adds at most half a scale per code unit.
        const double rounding = prepared.scale * 0.5 * double(code_sum);
        CHECK(k->hnsw_ip_query_sq8(&prepared, a, codec.space()) == Approx(1.0 - qx).margin(tol * 10 + rounding));
        CHECK(k->hnsw_l2_query_sq8(&prepared, a, codec.space()) ==
              Approx(qq - 2 * qx + xx).margin(tol * 10 + 2 * rounding).epsilon(1e-5));
      }
    }
  }
}

TEST_CASE("sq8 query kernels are exact at the largest codes and weights of either sign", "[simd][sq8]") {
  // Every lane of every kernel at its bound: all codes 255 and every weight at the largest
  // magnitude sq8_max_weight allows, positive, negative and alternating, at lengths that end
  // inside a block.
  for (std::size_t d : {64, 200, 512, 4096}) {
    const std::int32_t top = imgvec::detail::simd::sq8_max_weight(d);
    const std::vector<std::uint8_t> codes(d, 255);
    for (int pattern = 0; pattern < 3; ++pattern) {
      std::vector<std::int16_t> weight(d);
      double expected = 0;
      for (std::size_t i = 0; i < d; ++i) {
        const int sign = pattern == 0 ? 1 : pattern == 1 ? -1 : (i % 2 ? -1 : 1);
        weight[i] = static_cast<std::int16_t>(sign * (top - static_cast<std::int32_t>(i % 3)));
        expected += 255.0 * weight[i];
      }
      for (const Kernels* k : available()) {
        INFO(k->name << " d=" << d << " pattern " << pattern);
        CHECK(k->dot_u8_i16(weight.data(), codes.data(), d) == Approx(expected).epsilon(1e-6).margin(1e-3));
      }
    }
  }
}

TEST_CASE("sq8 codec: codes are within half a step, out-of-range values clamp, ranges retrain as the count doubles",
          "[sq8]") {
  constexpr std::size_t d = 24;
  Sq8Codec codec(d);
  const std::size_t bytes = codec.record_bytes();
  CHECK(bytes == 24 + 8 + 48);
  const Dataset data = clustered(300, d, 3);
  std::vector<char> records(data.rows * bytes);
  CHECK(codec.trained_on() == 0);
  CHECK(codec.should_train(0, data.row(0), 1));
  codec.train(data.row(0), 100, {records.data(), bytes, 0});
  CHECK(codec.trained_on() == 100);
  for (std::size_t r = 0; r < 100; ++r) codec.encode(data.row(r), records.data() + r * bytes);
  std::vector<float> half(d);
  for (std::size_t r = 0; r < 100; ++r) {
    const char* rec = records.data() + r * bytes;
    detail::simd::active().from_f16(Sq8Codec::half(rec, d), d, half.data());
    const auto x = decoded(codec, rec);
    for (std::size_t i = 0; i < d; ++i) {
      CHECK(std::abs(half[i] - data.row(r)[i]) <= std::abs(data.row(r)[i]) * 0x1p-11f + 1e-7f);
      CHECK(std::abs(x[i] - half[i]) <= codec.step()[i] * 0.5 + 1e-6);
    }
  }
  CHECK_FALSE(codec.should_train(100, data.row(0), 50));  // in range, and not yet doubled
  CHECK(codec.should_train(100, data.row(100), 100));
  // A value beyond the trained range clamps to the nearest end, and asks for retraining.
  std::vector<float> far(d, 5.0f);
  CHECK(codec.should_train(100, far.data(), 1));
  std::vector<char> rec(bytes);
  codec.encode(far.data(), rec.data());
  for (std::size_t i = 0; i < d; ++i) CHECK(static_cast<std::uint8_t>(rec[i]) == 255);
  // Retraining on more data re-encodes the stored records to the new ranges.
  const std::vector<float> old_lo = codec.lo();
  codec.train(data.row(100), 200, {records.data(), bytes, 100});
  CHECK(codec.trained_on() == 300);
  CHECK(codec.lo() != old_lo);
  for (std::size_t r = 0; r < 100; ++r) {
    const char* rec0 = records.data() + r * bytes;
    detail::simd::active().from_f16(Sq8Codec::half(rec0, d), d, half.data());
    const auto x = decoded(codec, rec0);
    for (std::size_t i = 0; i < d; ++i) CHECK(std::abs(x[i] - half[i]) <= codec.step()[i] * 0.5 + 1e-6);
  }
  // Ranges from a file are checked.
  CHECK(codec.set_ranges(std::vector<float>(d, 0.0f), std::vector<float>(d, 0.0f), 1) != "");
  CHECK(codec.set_ranges(std::vector<float>(d - 1, 0.0f), std::vector<float>(d - 1, 0.1f), 1) != "");
  CHECK(codec.set_ranges(std::vector<float>(d, 0.0f), std::vector<float>(d, 0.1f), 1) == "");
  CHECK(Sq8Codec(d).should_train(0, nullptr, 0) == false);
  // A constant dimension still gets a usable step.
  Sq8Codec flat(2);
  std::vector<float> same{0.5f, 0.5f, 0.5f, 0.5f};
  flat.train(same.data(), 2, {nullptr, flat.record_bytes(), 0});
  CHECK(flat.step()[0] > 0);
}

// 10k: test_hnsw_index.cpp checks sq8's recall at 20k; this one compares it with float32.
TEST_CASE("hnsw sq8: recall, scores and memory against float32 on 10k clustered vectors",
          "[index][hnsw][sq8][recall]") {
  constexpr std::size_t n = test_rows(10000), d = 512;
  const Dataset base = clustered(n, d, 42);
  const Dataset queries = clustered(200, d, 42, 1);
  HnswIndex full(d, Metric::cosine);
  HnswIndex coded(d, Metric::cosine, sq8_params());
  full.add_batch(iota_ids(n), base.view());
  coded.add_batch(iota_ids(n), base.view());
  CHECK(coded.storage() == VectorStorage::sq8);
  CHECK(coded.params().storage == VectorStorage::sq8);
  // Per 512-d vector: 4 bytes per value -> 1 code byte + 2 float16 bytes (+ 8 bytes of corrections).
  const double saved = double(full.memory_bytes() - coded.memory_bytes()) / n;
  CHECK(saved > 480);
  CHECK(saved < 520);

  const auto truth = ground_truth(base, queries, 10, Metric::cosine);
  for (std::size_t ef : {16, 64}) {
    SearchParams p(10);
    p.ef = ef;
    const double recall_full = recall_at_k(full.search_batch(queries.view(), p), truth, 10);
    const auto found = coded.search_batch(queries.view(), p);
    const double recall_coded = recall_at_k(found, truth, 10);
    WARN("ef " << ef << ": recall@10 float32 " << recall_full << ", sq8 " << recall_coded);
    CHECK(recall_coded >= recall_full - 0.02);  // at equal ef; the gain is speed per query
    // Scores come from the float16 copies, not the codes: within half precision of exact.
    const double worst = worst_cosine_error(found, base, queries);
    INFO("worst score error " << worst);
    CHECK(worst < 1e-3);
  }
  // Re-ranking fewer candidates than the walk found: still at least k results, and recall no
  // better than re-ranking them all.
  SearchParams shallow(10);
  shallow.ef = 64;
  shallow.rerank = 10;
  SearchParams deep = shallow;
  deep.rerank = 64;
  const auto found_shallow = coded.search_batch(queries.view(), shallow);
  for (const auto& hits : found_shallow) CHECK(hits.size() == 10);
  const double r_shallow = recall_at_k(found_shallow, truth, 10);
  const double r_deep = recall_at_k(coded.search_batch(queries.view(), deep), truth, 10);
  WARN("ef 64: rerank 10 recall " << r_shallow << ", rerank 64 " << r_deep);
  CHECK(r_deep >= r_shallow);
  CHECK(r_shallow > 0.8);
  // get_vector is the float16 copy of the normalized input.
  const std::vector<float> v = coded.get_vector(7), w = full.get_vector(7);
  for (std::size_t i = 0; i < d; ++i) CHECK(std::abs(v[i] - w[i]) <= std::abs(w[i]) * 0x1p-11f + 0x1p-24f);
}

TEST_CASE("hnsw sq8: grown one vector at a time, saved, loaded and compacted", "[index][hnsw][sq8][io]") {
  TempDir dir;
  constexpr std::size_t n = 3000, d = 40;  // 40 is not a multiple of a vector width: tails run
  const Dataset base = clustered(n, d, 9);
  const Dataset queries = clustered(30, d, 9, 1);
  HnswIndex index(d, Metric::cosine, sq8_params());
  index.set_threads(1);
  // One at a time: the ranges are retrained at 1, 2, 4, ... 2048 vectors, re-encoding the codes.
  for (std::size_t i = 0; i < n; ++i) index.add(i, VectorView(base.row(i), d));
  const auto truth = ground_truth(base, queries, 10, Metric::cosine);
  CHECK(recall_at_k(index.search_batch(queries.view(), {10}), truth, 10) >= 0.95);
  for (Id id = 0; id < n; id += 7) index.remove(id);
  const std::string path = dir.file("sq8.idx");
  index.save(path);
  auto loaded = HnswIndex::load(path, d);
  CHECK(loaded->storage() == VectorStorage::sq8);
  CHECK(loaded->ids() == index.ids());
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
  }
  // Per value: a code byte and a float16 copy; per record 8 bytes of corrections; plus the ranges.
  HnswIndex half(d, Metric::cosine, [] {
    HnswParams p;
    p.storage = VectorStorage::float16;
    return p;
  }());
  half.set_threads(1);
  for (std::size_t i = 0; i < n; ++i) half.add(i, VectorView(base.row(i), d));
  for (Id id = 0; id < n; id += 7) half.remove(id);
  half.save(dir.file("half.idx"));
  CHECK(fs::file_size(path) - fs::file_size(dir.file("half.idx")) == n * (d + 8) + 8 + 2 * d * 4);

  loaded->compact();
  CHECK(loaded->tombstones() == 0);
  CHECK(loaded->size() == index.size());
  CHECK(loaded->search(VectorView(base.row(1), d), {1})[0].id == 1);
  const Filter live = Filter::predicate([](Id id) { return id % 7 != 0; });
  const auto live_truth = ground_truth(base, queries, 10, Metric::cosine, &live);
  CHECK(recall_at_k(loaded->search_batch(queries.view(), {10}), live_truth, 10) >= 0.95);
  // Re-adding an id updates it in place.
  loaded->add(1, VectorView(base.row(2), d));
  const auto top = loaded->search(VectorView(base.row(2), d), {2});
  CHECK((top[0].id == 1 || top[0].id == 2));
  CHECK(top[1].score == top[0].score);
}

TEST_CASE("hnsw sq8: out-of-range values are refused before anything is stored", "[index][hnsw][sq8][errors]") {
  for (Metric metric : {Metric::inner_product, Metric::l2}) {
    HnswIndex index(4, metric, sq8_params());
    index.add(1, std::vector<float>{1, 2, 3, 4});
    CHECK_THROWS_AS(index.add(2, std::vector<float>{1, 2, 70000, 4}), Error);
    CHECK(index.size() == 1);
    CHECK(index.search(std::vector<float>{1, 2, 3, 4}, {1})[0].id == 1);
  }
}
