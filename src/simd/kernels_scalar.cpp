// The portable fallback, built with the compiler's baseline flags. Its "vector" is 8 floats in an
// array: element-wise loops over it keep the same summation order as the SIMD kernels' lanes, and
// compilers vectorize them with whatever the baseline allows (SSE2 on x86-64, NEON on AArch64).
#include <cstddef>
#include <cstdint>

#include "simd/kernels.hpp"

namespace imgvec::detail::simd {
namespace {

struct Scalar {
  static constexpr std::size_t W = 8;
  static constexpr std::size_t kTileQueries = 4;
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
  static V bcast(const float* p) {
    V r;
    for (std::size_t i = 0; i < W; ++i) r.v[i] = *p;
    return r;
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
};

#include "simd/kernels_impl.hpp"

}  // namespace

const Kernels kScalarKernels = make_kernels<Scalar>(Isa::scalar, "scalar");

}  // namespace imgvec::detail::simd
