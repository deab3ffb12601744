// The portable fallback, built with the compiler's baseline flags. Its "vector" is 8 floats in an
// array: element-wise loops over it keep the same summation order as the SIMD kernels' lanes, and
// compilers vectorize them with whatever the baseline allows (SSE2 on x86-64, NEON on AArch64).
#include <cstddef>
#include <cstdint>

#include "simd/kernels.hpp"

namespace imgvec::detail::simd {
namespace {

std::uint32_t bits_of(float f) {
  std::uint32_t u;
  __builtin_memcpy(&u, &f, sizeof u);
  return u;
}

float float_of(std::uint32_t u) {
  float f;
  __builtin_memcpy(&f, &u, sizeof f);
  return f;
}

// IEEE binary16 <-> binary32 in software, matching F16C's results (round to nearest, ties to even).
float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu;
  const std::uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24, exact in float
    return float_of(sign | bits_of(static_cast<float>(mantissa) * 0x1p-24f));
  }
  if (exponent == 31) return float_of(sign | 0x7f800000u | (mantissa << 13));
  return float_of(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

std::uint16_t float_to_half(float f) {
  std::uint32_t x = bits_of(f);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  x &= 0x7fffffffu;
  std::uint32_t h;
  if (x >= 0x47800000u) {  // >= 2^16, infinity or NaN: all overflow (finite ones to infinity)
    h = x > 0x7f800000u ? 0x7e00u : 0x7c00u;
  } else if (x < 0x38800000u) {  // below 2^-14: the result is subnormal or zero
    // Adding 0.5 puts the value's 2^-24 units in the low mantissa bits, and the float adder
    // rounds them to nearest even for us.
    h = bits_of(float_of(x) + 0.5f) - 0x3f000000u;
  } else {
    // Rebias the exponent, then round the 13 dropped mantissa bits to nearest even; a carry
    // into the exponent (including up to infinity) is the correct result.
    const std::uint32_t odd = (x >> 13) & 1u;
    h = (x - 0x38000000u + 0xfffu + odd) >> 13;
  }
  return static_cast<std::uint16_t>(h | sign);
}

struct Scalar {
  static constexpr std::size_t W = 8;
  static constexpr int kPanelVectors = 2;
  static constexpr std::size_t kPanelUnroll = 4;
  struct V {
    float v[W];
  };
  static V zero() { return V{}; }
  static V load(const float* p) {
    V r;
    for (std::size_t i = 0; i < W; ++i) r.v[i] = p[i];
    return r;
  }
  static V load_tail(const float* p, std::size_t n) {
    V r{};
    for (std::size_t i = 0; i < n; ++i) r.v[i] = p[i];
    return r;
  }
  static V load(const std::uint16_t* p) {
    V r;
    for (std::size_t i = 0; i < W; ++i) r.v[i] = half_to_float(p[i]);
    return r;
  }
  static V load_tail(const std::uint16_t* p, std::size_t n) {
    V r{};
    for (std::size_t i = 0; i < n; ++i) r.v[i] = half_to_float(p[i]);
    return r;
  }
  static V load(const std::uint8_t* p) { return load_tail(p, W); }
  static V load_tail(const std::uint8_t* p, std::size_t n) {
    V r{};
    for (std::size_t i = 0; i < n; ++i) r.v[i] = static_cast<float>(p[i]);
    return r;
  }
  static float dot_u8_i16(const std::int16_t* w, const std::uint8_t* c, std::size_t d) {
    std::int64_t s = 0;
    for (std::size_t i = 0; i < d; ++i) s += std::int32_t{w[i]} * c[i];
    return static_cast<float>(s);
  }
  static std::int32_t dot_u4_i8(const std::int8_t* low, const std::int8_t* high, const std::uint8_t* c,
                                std::size_t bytes) {
    std::int32_t s = 0;
    for (std::size_t j = 0; j < bytes; ++j) s += low[j] * (c[j] & 15) + high[j] * (c[j] >> 4);
    return s;
  }
  static V mul(V a, V b) {
    for (std::size_t i = 0; i < W; ++i) a.v[i] *= b.v[i];
    return a;
  }
  static void store(std::uint16_t* p, V v) { store_tail(p, v, W); }
  static void store_tail(std::uint16_t* p, V v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) p[i] = float_to_half(v.v[i]);
  }
  static V fma(V a, V b, V c) {
    for (std::size_t i = 0; i < W; ++i) c.v[i] += a.v[i] * b.v[i];
    return c;
  }
  static V add(V a, V b) {
    for (std::size_t i = 0; i < W; ++i) a.v[i] += b.v[i];
    return a;
  }
  static V sub(V a, V b) {
    for (std::size_t i = 0; i < W; ++i) a.v[i] -= b.v[i];
    return a;
  }
  static void store(float* p, V v) {
    for (std::size_t i = 0; i < W; ++i) p[i] = v.v[i];
  }
  static float hsum(V v) {
    float s = 0.0f;
    for (std::size_t i = 0; i < W; ++i) s += v.v[i];
    return s;
  }
  static unsigned at_least(V a, float t) {
    unsigned m = 0;
    for (std::size_t i = 0; i < W; ++i) m |= (a.v[i] >= t ? 1u : 0u) << i;
    return m;
  }
  static unsigned at_least(V a, V b) {
    unsigned m = 0;
    for (std::size_t i = 0; i < W; ++i) m |= (a.v[i] >= b.v[i] ? 1u : 0u) << i;
    return m;
  }
  static V broadcast(const float* p) {
    V r;
    for (std::size_t i = 0; i < W; ++i) r.v[i] = *p;
    return r;
  }
};

#include "simd/kernels_impl.hpp"

}  // namespace

const Kernels kScalarKernels = make_kernels<Scalar>(Isa::scalar, "scalar");

}  // namespace imgvec::detail::simd
