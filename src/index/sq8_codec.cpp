#include "index/sq8_codec.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace imgvec::detail {
namespace {

std::size_t code_bytes(std::size_t dim) { return (dim + 3) / 4 * 4; }

}  // namespace

Sq8Codec::Sq8Codec(std::size_t dim) : Quantizer(dim, 255, "sq8", -1.0f, 2.0f / 255.0f) { derive(); }

std::size_t Sq8Codec::record_bytes(std::size_t dim) {
  return code_bytes(dim) + 2 * sizeof(float) + dim * sizeof(std::uint16_t);
}

std::size_t Sq8Codec::half_offset(std::size_t dim) { return code_bytes(dim) + 2 * sizeof(float); }

const std::uint16_t* Sq8Codec::half(const char* record, std::size_t dim) {
  return reinterpret_cast<const std::uint16_t*>(record + half_offset(dim));
}

void Sq8Codec::derive() {
  step_sq_.resize(dim_);
  lo_step_.resize(dim_);
  inv_step_.resize(dim_);
  float lo_sq = 0.0f;
  for (std::size_t i = 0; i < dim_; ++i) {
    step_sq_[i] = step_[i] * step_[i];
    lo_step_[i] = lo_[i] * step_[i];
    inv_step_[i] = 1.0f / step_[i];
    lo_sq += lo_[i] * lo_[i];
  }
  space_.dim = dim_;
  space_.code_bytes = code_bytes(dim_);
  space_.step_sq = step_sq_.data();
  space_.lo_sq = lo_sq;
}

bool Sq8Codec::should_train(std::size_t stored, const float* rows, std::size_t n) const {
  if (trained_on_ == 0) return stored + n > 0;
  if (trained_on_ < kTrainLimit && stored + n >= 2 * trained_on_) return true;
  for (std::size_t r = 0; r < n; ++r) {
    const float* v = rows + r * dim_;
    for (std::size_t i = 0; i < dim_; ++i) {
      if (v[i] < lo_[i] || v[i] > lo_[i] + 255.0f * step_[i]) return true;
    }
  }
  return false;
}

void Sq8Codec::fit(const float* rows, std::size_t n, const RecordSpan& records) {
  std::vector<float> lo(dim_, std::numeric_limits<float>::max());
  std::vector<float> hi(dim_, std::numeric_limits<float>::lowest());
  auto widen = [&](const float* v) {
    for (std::size_t i = 0; i < dim_; ++i) {
      lo[i] = std::min(lo[i], v[i]);
      hi[i] = std::max(hi[i], v[i]);
    }
  };
  const auto& k = simd::active();
  std::vector<float> decoded(dim_);
  for (std::size_t r = 0; r < records.count; ++r) {
    k.from_f16(half(records.at(r)), dim_, decoded.data());
    widen(decoded.data());
  }
  for (std::size_t r = 0; r < n; ++r) widen(rows + r * dim_);
  if (records.count + n == 0) return;
  for (std::size_t i = 0; i < dim_; ++i) {
    const float margin = (hi[i] - lo[i]) * kMargin;
    lo_[i] = lo[i] - margin;
    step_[i] = std::max((hi[i] + margin - lo_[i]) / 255.0f, kMinStep);
  }
  derive();
  trained_on_ = records.count + n;
}

void Sq8Codec::encode(const float* x, char* record) const {
  auto* copy = const_cast<std::uint16_t*>(half(record));
  simd::active().to_f16(x, dim_, copy);
  reencode(record);
}

bool Sq8Codec::finite(const char* record) const {
  float extra[2];
  std::memcpy(extra, record + code_bytes(dim_), sizeof extra);
  return all_finite_half(half(record), dim_) && std::isfinite(extra[0]) && std::isfinite(extra[1]);
}

bool Sq8Codec::reencode(char* record) const {
  const std::uint16_t* copy = half(record);
  if (!all_finite_half(copy, dim_)) return false;
  // Codes come from the float16 copy, not the caller's floats, so a record re-encoded later (new
  // ranges, compact()) gets exactly the codes it would have had. Each step is a plain loop the
  // compiler vectorizes, and the two sums are the SIMD dot kernel's: a retraining rewrites every
  // record, 512 values each (an earlier scalar loop took ~20 ns per value, 10 s at 1M vectors).
  thread_local std::vector<float> values, codes_f, decoded;
  values.resize(dim_);
  codes_f.resize(dim_);
  decoded.resize(dim_);
  const auto& k = simd::active();
  k.from_f16(copy, dim_, values.data());
  auto* codes = reinterpret_cast<std::uint8_t*>(record);
  for (std::size_t i = 0; i < dim_; ++i) {
    float x = (values[i] - lo_[i]) * inv_step_[i];
    x = x < 0.0f ? 0.0f : (x > 255.0f ? 255.0f : x);
    const auto c = static_cast<std::uint8_t>(x + 0.5f);
    codes[i] = c;
    codes_f[i] = c;
    decoded[i] = lo_[i] + step_[i] * codes_f[i];
  }
  const float lo_step_dot = k.dot(lo_step_.data(), codes_f.data(), dim_);
  const float norm_sq = k.dot(decoded.data(), decoded.data(), dim_);
  std::memset(codes + dim_, 0, code_bytes(dim_) - dim_);
  std::memcpy(record + code_bytes(dim_), &lo_step_dot, sizeof(float));
  std::memcpy(record + code_bytes(dim_) + sizeof(float), &norm_sq, sizeof(float));
  return true;
}

simd::Sq8Query Sq8Codec::prepare(const float* query, std::vector<std::int16_t>& weight) const {
  weight.resize(dim_);
  simd::Sq8Query q;
  thread_local std::vector<float> scaled;
  scaled.resize(dim_);
  // 16-bit weights: a relative rounding error of 2^-16 of the largest, far below the codes' own.
  const int top = simd::sq8_max_weight(dim_);
  q.scale = scale_weights(query, step_.data(), dim_, top, scaled.data());
  round_weights(scaled.data(), dim_, q.scale, top, weight.data());
  const auto& k = simd::active();
  q.bias = k.dot(query, lo_.data(), dim_);
  q.norm_sq = k.dot(query, query, dim_);
  q.weight = weight.data();
  return q;
}

}  // namespace imgvec::detail
