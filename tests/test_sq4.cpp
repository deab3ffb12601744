// sq4 vector storage: the nibble kernels on every instruction set against integer and double
// references, and the quantizer (layout, ranges from the spread, clamping, retraining). The index
// with it: test_quantized_storage.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "datasets.hpp"
#include "kernel_sets.hpp"
#include "index/quantizer.hpp"
#include "index/sq4_codec.hpp"
#include "simd/kernels.hpp"

using namespace imgvec;
using namespace imgvec::testing;
using imgvec::detail::QueryScratch;
using imgvec::detail::Sq4Codec;
using imgvec::detail::simd::Kernels;

namespace {

// The decoded vector of a row, in double.
std::vector<double> decoded(const Sq4Codec& codec, const std::uint8_t* row) {
  std::vector<double> v(codec.dim());
  for (std::size_t i = 0; i < codec.dim(); ++i) {
    v[i] = double(codec.lo()[i]) + double(codec.step()[i]) * Sq4Codec::code(row, i);
  }
  return v;
}

}  // namespace

TEST_CASE("sq4 nibble kernel matches an integer reference at every length and extreme", "[simd][sq4]") {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> code(0, 255), weight(-127, 127);
  for (std::size_t bytes : {32, 64, 96, 128, 256, 288, 2048}) {
    for (int pattern = 0; pattern < 4; ++pattern) {
      std::vector<std::uint8_t> c(bytes);
      std::vector<std::int8_t> low(bytes), high(bytes);
      for (std::size_t j = 0; j < bytes; ++j) {
        // 0: random; 1: every code 15 and every weight +127; 2: -127; 3: alternating signs.
        c[j] = pattern == 0 ? static_cast<std::uint8_t>(code(rng)) : 0xff;
        const int w = pattern == 0 ? weight(rng) : pattern == 1 ? 127 : pattern == 2 ? -127 : (j % 2 ? 127 : -127);
        low[j] = static_cast<std::int8_t>(w);
        high[j] = static_cast<std::int8_t>(pattern == 3 ? -w : w);
      }
      std::int64_t expected = 0;
      for (std::size_t j = 0; j < bytes; ++j) expected += low[j] * (c[j] & 15) + high[j] * (c[j] >> 4);
      for (const Kernels* k : available_kernels()) {
        INFO(k->name << " bytes=" << bytes << " pattern " << pattern);
        CHECK(k->dot_u4_i8(low.data(), high.data(), c.data(), bytes) == expected);
      }
    }
  }
}

TEST_CASE("sq4 query kernels match a double reference on the decoded vectors", "[simd][sq4]") {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  for (std::size_t d : {1, 3, 31, 32, 33, 63, 64, 65, 127, 512, 768}) {
    Sq4Codec codec(d, true);
    CHECK(codec.record_bytes() == d * 2);
    CHECK(codec.row_bytes() == (d + 63) / 64 * 32 + 4);
    CHECK(Sq4Codec(d, false).row_bytes() == (d + 63) / 64 * 32);
    constexpr std::size_t count = 6;
    std::vector<float> data(d * count);
    for (float& v : data) v = normal(rng) * 0.3f;
    const std::size_t bytes = codec.record_bytes(), row_bytes = codec.row_bytes();
    std::vector<char> records(count * bytes);
    std::vector<std::uint8_t> rows(count * row_bytes);
    codec.train(data.data(), count, {records.data(), bytes, 0});
    for (std::size_t r = 0; r < count; ++r) {
      codec.encode(data.data() + r * d, records.data() + r * bytes);
      codec.encode_row(records.data() + r * bytes, rows.data() + r * row_bytes);
    }
    std::vector<float> query(d);
    for (float& v : query) v = normal(rng);
    QueryScratch scratch;
    const auto& prepared = *static_cast<const detail::simd::Sq4Query*>(codec.prepare(query.data(), scratch));
    double qq = 0;
    for (float v : query) qq += double(v) * v;
    for (const Kernels* k : available_kernels()) {
      INFO(k->name << " d=" << d);
      for (std::size_t r = 0; r < count; ++r) {
        const std::uint8_t* row = rows.data() + r * row_bytes;
        const auto x = decoded(codec, row);
        std::vector<float> copy(d);
        k->from_f16(codec.half(records.data() + r * bytes), d, copy.data());
        double qx = 0, xx = 0, codes = 0;
        for (std::size_t i = 0; i < d; ++i) {
          qx += x[i] * query[i];
          xx += double(copy[i]) * copy[i];
          codes += Sq4Codec::code(row, i);
        }
        // The 8-bit weights are q_i * step_i to within half a unit of scale: at most that much
        // per code unit against the decoded vector.
        const double rounding = prepared.scale * 0.5 * codes + 1e-4 * (1 + std::abs(qx));
        CHECK(k->hnsw_ip_query_sq4(&prepared, row, codec.space()) == Approx(1.0 - qx).margin(rounding));
        CHECK(k->hnsw_l2_query_sq4(&prepared, row, codec.space()) ==
              Approx(qq - 2 * qx + xx).margin(2 * rounding).epsilon(1e-5));
      }
    }
  }
}

TEST_CASE("sq4 codec: codes within half a step in range, clamped beyond it, ranges retrain as the count doubles",
          "[sq4]") {
  constexpr std::size_t d = 70;  // one whole block of 64 and a padded one
  Sq4Codec codec(d, false);
  const std::size_t bytes = codec.record_bytes(), row_bytes = codec.row_bytes();
  CHECK(bytes == 140);
  CHECK(row_bytes == 64);
  const Dataset data = clustered(300, d, 3);
  std::vector<char> records(data.rows * bytes);
  std::vector<std::uint8_t> rows(data.rows * row_bytes);
  auto row_of = [&](std::size_t r) {
    codec.encode_row(records.data() + r * bytes, rows.data() + r * row_bytes);
    return rows.data() + r * row_bytes;
  };
  CHECK(codec.trained_on() == 0);
  CHECK(codec.should_train(0, data.row(0), 1));
  CHECK_FALSE(codec.should_train(0, nullptr, 0));
  codec.train(data.row(0), 100, {records.data(), bytes, 0});
  CHECK(codec.trained_on() == 100);
  for (std::size_t r = 0; r < 100; ++r) codec.encode(data.row(r), records.data() + r * bytes);
  std::vector<float> half(d);
  std::size_t in_range = 0, clamped = 0;
  for (std::size_t r = 0; r < 100; ++r) {
    detail::simd::active().from_f16(codec.half(records.data() + r * bytes), d, half.data());
    const std::uint8_t* row = row_of(r);
    const auto x = decoded(codec, row);
    for (std::size_t i = 0; i < d; ++i) {
      CHECK(std::abs(half[i] - data.row(r)[i]) <= std::abs(data.row(r)[i]) * 0x1p-11f + 1e-7f);
      const float lo = codec.lo()[i], hi = lo + Sq4Codec::kTop * codec.step()[i];
      if (half[i] >= lo && half[i] <= hi) {
        ++in_range;
        CHECK(std::abs(x[i] - half[i]) <= codec.step()[i] * 0.5 + 1e-6);
      } else {
        ++clamped;
        CHECK(Sq4Codec::code(row, i) == (half[i] < lo ? 0 : Sq4Codec::kTop));
      }
    }
    // The nibbles past the last dimension are zero.
    for (std::size_t j = 0; j < row_bytes; ++j) {
      const std::size_t low_dim = j / 32 * 64 + j % 32;
      if (low_dim >= d) CHECK((row[j] & 15) == 0);
      if (low_dim + 32 >= d) CHECK((row[j] >> 4) == 0);
    }
  }
  // +-2.7 standard deviations hold most values; a few clamp.
  CHECK(clamped < in_range / 50);
  // Out-of-range values clamp and never ask for retraining: the graph is built on the copies.
  std::vector<float> far(d, 5.0f);
  CHECK_FALSE(codec.should_train(100, far.data(), 1));
  std::vector<char> rec(bytes);
  std::vector<std::uint8_t> far_row(row_bytes);
  codec.encode(far.data(), rec.data());
  codec.encode_row(rec.data(), far_row.data());
  for (std::size_t i = 0; i < d; ++i) CHECK(Sq4Codec::code(far_row.data(), i) == Sq4Codec::kTop);
  CHECK_FALSE(codec.should_train(100, data.row(0), 50));
  CHECK(codec.should_train(100, data.row(100), 100));
  // Retrained ranges give the stored records new rows.
  const std::vector<float> old_lo = codec.lo();
  codec.train(data.row(100), 200, {records.data(), bytes, 100});
  CHECK(codec.trained_on() == 300);
  CHECK(codec.lo() != old_lo);
  for (std::size_t r = 0; r < 100; ++r) {
    detail::simd::active().from_f16(codec.half(records.data() + r * bytes), d, half.data());
    const auto x = decoded(codec, row_of(r));
    for (std::size_t i = 0; i < d; ++i) {
      const float lo = codec.lo()[i], hi = lo + Sq4Codec::kTop * codec.step()[i];
      if (half[i] >= lo && half[i] <= hi) CHECK(std::abs(x[i] - half[i]) <= codec.step()[i] * 0.5 + 1e-6);
    }
  }
  // A loaded record with a non-finite value is not finite.
  std::vector<char> bad(bytes);
  codec.encode(data.row(0), bad.data());
  const std::uint16_t inf = 0x7c00;
  std::memcpy(bad.data() + 2 * 3, &inf, sizeof inf);
  CHECK_FALSE(codec.finite(bad.data()));
  CHECK_FALSE(codec.reencode(bad.data()));
}

TEST_CASE("sq4 and sq8 query weights: scaled by the largest, rounded half away from zero, clamped", "[sq4][sq8]") {
  // weight_i = query_i * step_i; scale = the largest |weight| / top.
  const std::vector<float> query = {1.0f, -2.0f, 0.25f, -0.125f, 0.0f, -0.0f, 4.0f, 0.5f, -3.0f};
  const std::vector<float> step(query.size(), 0.5f);
  std::vector<float> weight(query.size());
  const float scale = detail::scale_weights(query.data(), step.data(), query.size(), 4, weight.data());
  CHECK(scale == 0.5f);  // largest |4 * 0.5| = 2, over 4
  CHECK(weight[1] == -1.0f);
  std::vector<std::int8_t> out(query.size());
  detail::round_weights(weight.data(), weight.size(), scale, 4, out.data());
  // weight / scale: 1, -2, 0.25, -0.125, 0, -0, 4, 0.5, -3
  CHECK(out == std::vector<std::int8_t>{1, -2, 0, 0, 0, 0, 4, 1, -3});
  // Beyond top (a scale given by the caller) the values clamp; ties round away from zero.
  const std::vector<float> wide = {9.0f, -9.0f, 2.5f, -2.5f, 1.49f, -1.51f};
  std::vector<std::int16_t> out16(wide.size());
  detail::round_weights(wide.data(), wide.size(), 1.0f, 7, out16.data());
  CHECK(out16 == std::vector<std::int16_t>{7, -7, 3, -3, 1, -2});
  // A zero query: scale 1, all weights 0.
  const std::vector<float> zero(5, 0.0f);
  std::vector<float> zw(5);
  CHECK(detail::scale_weights(zero.data(), step.data(), zero.size(), 127, zw.data()) == 1.0f);
  std::vector<std::int8_t> z8(5, 9);
  detail::round_weights(zw.data(), zw.size(), 1.0f, 127, z8.data());
  CHECK(z8 == std::vector<std::int8_t>(5, 0));
}
