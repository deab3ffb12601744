#include "index/sq4_codec.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace imgvec::detail {
namespace {

// Where dimension i's code lives: byte (i / 64) * 32 + i % 32, high nibble for the second half of
// each 64-dimension block (simd::Sq4Space).
std::size_t code_byte(std::size_t i) { return i / 64 * 32 + i % 32; }
bool high_nibble(std::size_t i) { return i % 64 >= 32; }

}  // namespace

Sq4Codec::Sq4Codec(std::size_t dim, bool with_norm)
    : Quantizer(dim, kTop, "sq4", -1.0f, 2.0f / kTop), row_bytes_(row_bytes(dim, with_norm)) {
  derive();
}

void Sq4Codec::derive() {
  inv_step_.resize(dim_);
  for (std::size_t i = 0; i < dim_; ++i) inv_step_[i] = 1.0f / step_[i];
  space_.dim = dim_;
  space_.code_bytes = code_bytes(dim_);
}

bool Sq4Codec::should_train(std::size_t stored, const float*, std::size_t n) const {
  if (trained_on_ == 0) return stored + n > 0;
  return trained_on_ < kTrainLimit && stored + n >= 2 * trained_on_;
}

void Sq4Codec::fit(const float* rows, std::size_t n, const RecordSpan& records) {
  if (records.count + n == 0) return;
  // Sums in double: at 1M vectors float sums of squares lose the spread of small dimensions.
  std::vector<double> sum(dim_, 0.0), sum_sq(dim_, 0.0);
  auto add = [&](const float* v) {
    for (std::size_t i = 0; i < dim_; ++i) {
      sum[i] += v[i];
      sum_sq[i] += double(v[i]) * v[i];
    }
  };
  std::vector<float> decoded(dim_);
  for (std::size_t r = 0; r < records.count; ++r) {
    simd::active().from_f16(half(records.at(r)), dim_, decoded.data());
    add(decoded.data());
  }
  for (std::size_t r = 0; r < n; ++r) add(rows + r * dim_);
  const double count = static_cast<double>(records.count + n);
  for (std::size_t i = 0; i < dim_; ++i) {
    const double mean = sum[i] / count;
    const double sd = std::sqrt(std::max(0.0, sum_sq[i] / count - mean * mean));
    lo_[i] = static_cast<float>(mean - kSigmas * sd);
    step_[i] = std::max(static_cast<float>(2.0 * kSigmas * sd / kTop), kMinStep);
  }
  derive();
  trained_on_ = records.count + n;
}

void Sq4Codec::encode(const float* x, char* record) const {
  simd::active().to_f16(x, dim_, reinterpret_cast<std::uint16_t*>(record));
}

void Sq4Codec::encode_row(const char* record, std::uint8_t* row) const {
  thread_local std::vector<float> values;
  values.resize(dim_);
  const auto& k = simd::active();
  k.from_f16(half(record), dim_, values.data());
  std::memset(row, 0, row_bytes_);
  for (std::size_t i = 0; i < dim_; ++i) {
    // A non-finite copy (only from a damaged file, which a load refuses) gets code 0.
    float c = (values[i] - lo_[i]) * inv_step_[i];
    c = c >= 0.0f ? (c > float(kTop) ? float(kTop) : c) : 0.0f;
    const auto code = static_cast<std::uint8_t>(c + 0.5f);
    row[code_byte(i)] |= static_cast<std::uint8_t>(high_nibble(i) ? code << 4 : code);
  }
  if (row_bytes_ > space_.code_bytes) {
    // The copy's own norm, not the decoded vector's: the walk's L2 estimate |q|^2 - 2 <q, x~> +
    // |x|^2 then errs only in the inner product, whose rounding errors tend to cancel.
    const float norm_sq = k.dot(values.data(), values.data(), dim_);
    std::memcpy(row + space_.code_bytes, &norm_sq, sizeof norm_sq);
  }
}

int Sq4Codec::code(const std::uint8_t* row, std::size_t i) {
  const std::uint8_t byte = row[code_byte(i)];
  return high_nibble(i) ? byte >> 4 : byte & 15;
}

const void* Sq4Codec::prepare(const float* query, QueryScratch& scratch) const {
  const std::size_t bytes = space_.code_bytes;
  scratch.weight8.assign(2 * bytes, 0);
  simd::Sq4Query& q = scratch.sq4;
  q = {};
  thread_local std::vector<float> weight;
  weight.resize(dim_);
  // 8-bit weights: a rounding error of at most 1/254 of the largest weight per dimension, against
  // codes that are within half a step of 16 (a relative error about 8 times larger).
  q.scale = scale_weights(query, step_.data(), dim_, 127, weight.data());
  const auto& k = simd::active();
  q.bias = k.dot(query, lo_.data(), dim_);
  q.norm_sq = k.dot(query, query, dim_);
  std::int8_t* low = scratch.weight8.data();
  std::int8_t* high = low + bytes;
  // 32 weights at a time into each half of a 64-dimension block.
  for (std::size_t first = 0; first < dim_; first += 32) {
    std::int8_t* out = (first % 64 ? high : low) + first / 64 * 32;
    round_weights(weight.data() + first, std::min<std::size_t>(32, dim_ - first), q.scale, 127, out);
  }
  q.low = low;
  q.high = high;
  return &q;
}

}  // namespace imgvec::detail
