#include "index/quantizer.hpp"

#include <cmath>
#include <cstring>

#include "index/sq4_codec.hpp"
#include "index/sq8_codec.hpp"

namespace imgvec::detail {

std::unique_ptr<Quantizer> make_quantizer(VectorStorage storage, std::size_t dim, bool l2) {
  switch (storage) {
    case VectorStorage::sq8: return std::make_unique<Sq8Codec>(dim);
    case VectorStorage::sq4: return std::make_unique<Sq4Codec>(dim, l2);
    case VectorStorage::float32:
    case VectorStorage::float16: break;
  }
  return nullptr;
}

std::string Quantizer::set_ranges(std::vector<float> lo, std::vector<float> step, std::uint64_t trained_on) {
  if (lo.size() != dim_ || step.size() != dim_) return std::string(name_) + " ranges do not match the dimension";
  for (std::size_t i = 0; i < dim_; ++i) {
    if (!std::isfinite(lo[i]) || !std::isfinite(step[i]) || step[i] < kMinStep / 2 || std::abs(lo[i]) > 65504.0f ||
        step[i] * static_cast<float>(top_) > 2 * 65504.0f) {
      return std::string(name_) + " range of dimension " + std::to_string(i) + " is invalid";
    }
  }
  lo_ = std::move(lo);
  step_ = std::move(step);
  trained_on_ = trained_on;
  derive();
  return {};
}

float scale_weights(const float* query, const float* step, std::size_t dim, int top, float* weight) {
  // The largest magnitude as the largest bit pattern with the sign cleared (the same order for
  // finite floats): an integer maximum vectorizes, a float comparison (which may trap) does not.
  std::uint32_t most = 0;
  for (std::size_t i = 0; i < dim; ++i) {
    weight[i] = query[i] * step[i];
    std::uint32_t magnitude;
    std::memcpy(&magnitude, &weight[i], sizeof magnitude);
    magnitude &= 0x7fffffffu;
    most = most < magnitude ? magnitude : most;
  }
  float largest;
  std::memcpy(&largest, &most, sizeof largest);
  return largest > 0.0f ? largest / static_cast<float>(top) : 1.0f;
}

namespace {

template <typename Int>
void round_into(const float* __restrict weight, std::size_t n, float scale, int top, Int* __restrict out) {
  const float inv_scale = 1.0f / scale;
  for (std::size_t i = 0; i < n; ++i) {
    // |weight * inv_scale| <= top up to rounding, which the integer clamp keeps inside the type.
    const float v = weight[i] * inv_scale;
    int r = static_cast<int>(v + std::copysign(0.5f, v));
    r = r < top ? r : top;
    r = r > -top ? r : -top;
    out[i] = static_cast<Int>(r);
  }
}

}  // namespace

void round_weights(const float* weight, std::size_t n, float scale, int top, std::int8_t* out) {
  round_into(weight, n, scale, top, out);
}
void round_weights(const float* weight, std::size_t n, float scale, int top, std::int16_t* out) {
  round_into(weight, n, scale, top, out);
}

bool all_finite_half(const std::uint16_t* h, std::size_t n) {
  bool bad = false;
  for (std::size_t i = 0; i < n; ++i) bad |= (h[i] & 0x7c00u) == 0x7c00u;
  return !bad;
}

}  // namespace imgvec::detail
