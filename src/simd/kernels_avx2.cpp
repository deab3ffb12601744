// Compiled with -mavx2 -mfma (see CMakeLists.txt); used only when the CPU reports AVX2 and FMA.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "simd/kernels.hpp"

namespace imgvec::detail::simd {
namespace {

// A sliding window over this table gives the lane mask for a tail of n < 8 floats.
alignas(32) const std::int32_t kTailMask[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                0,  0,  0,  0,  0,  0,  0,  0};

struct Avx2 {
  using V = __m256;
  static constexpr std::size_t W = 8;
  // 6 x 2 = 12 accumulators + 2 panel vectors + 1 broadcast fit the 16 ymm registers.
  static constexpr std::size_t kTileQueries = 6;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static V load_tail(const float* p, std::size_t n) {
    const __m256i mask =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kTailMask + 8 - n));
    return _mm256_maskload_ps(p, mask);
  }
  static V bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static float hsum(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

#include "simd/kernels_impl.hpp"

}  // namespace

const Kernels kAvx2Kernels = make_kernels<Avx2>(Isa::avx2, "avx2");

}  // namespace imgvec::detail::simd
