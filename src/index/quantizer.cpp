#include "index/quantizer.hpp"

#include <cmath>

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

bool all_finite_half(const std::uint16_t* h, std::size_t n) {
  bool bad = false;
  for (std::size_t i = 0; i < n; ++i) bad |= (h[i] & 0x7c00u) == 0x7c00u;
  return !bad;
}

}  // namespace imgvec::detail
