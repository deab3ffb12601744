// sq8 vector storage: the code kernels on every instruction set against a double reference and
// the quantizer (ranges, clamping, retraining). The index with it: test_quantized_storage.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "datasets.hpp"
#include "kernel_sets.hpp"
#include "index/sq8_codec.hpp"
#include "simd/kernels.hpp"

using namespace imgvec;
using namespace imgvec::testing;
using imgvec::detail::RecordSpan;
using imgvec::detail::Sq8Codec;
using imgvec::detail::simd::Isa;
using imgvec::detail::simd::Kernels;

namespace {

std::vector<const Kernels*> available() { return imgvec::testing::available_kernels(); }

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
  CHECK(Sq8Codec(d).should_train(0, nullptr, 0) == false);
}

// 10k: test_hnsw_index.cpp checks sq8's recall at 20k; this one compares it with float32.
