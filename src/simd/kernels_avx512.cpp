// Compiled with -mavx512f -mfma (see CMakeLists.txt); used only when the CPU reports AVX-512F.
// GCC 12's AVX-512 intrinsics build "undefined" vectors as self-initialized variables, which its own
// -Wuninitialized then reports at every use (GCC bug 105593, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "simd/kernels.hpp"

namespace imgvec::detail::simd {
namespace {

struct Avx512 {
  using V = __m512;
  static constexpr std::size_t W = 16;
  // 6 queries x 2 vectors = 12 accumulators + 2 panel vectors + 1 broadcast of 32 registers; the
  // tile is limited by load ports, not registers (Zen 4/5 and Ice Lake do 2 loads per cycle).
  static constexpr std::size_t kTileQueries = 6;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static V load_tail(const float* p, std::size_t n) {
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p);
  }
  static V bcast(const float* p) { return _mm512_set1_ps(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static float hsum(V v) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

#include "simd/kernels_impl.hpp"

}  // namespace

const Kernels kAvx512Kernels = make_kernels<Avx512>(Isa::avx512, "avx512");

}  // namespace imgvec::detail::simd
