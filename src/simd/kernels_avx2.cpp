// Compiled with -mavx2 -mfma -mf16c (see CMakeLists.txt); used only when the CPU reports AVX2, FMA
// and F16C (every AVX2 CPU from Intel and AMD has all three).
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
  // The batched tile: 6 rows x 2 vectors of queries = 12 accumulators + 2 query vectors + 1
  // broadcast row value of 16 registers.
  static constexpr int kPanelVectors = 2;
  // Steps of the tile's loop body: measured as for AVX-512 (Intel Xeon, AVX2 kernels) 8 or 16 steps
  // 94-95 GFLOP/s, 4 steps 91, 2 steps 90, one step 89.
  static constexpr std::size_t kPanelUnroll = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static V load_tail(const float* p, std::size_t n) {
    const __m256i mask =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kTailMask + 8 - n));
    return _mm256_maskload_ps(p, mask);
  }
  static V load(const std::uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static V load_tail(const std::uint16_t* p, std::size_t n) {
    alignas(16) std::uint16_t tmp[8] = {};
    for (std::size_t i = 0; i < n; ++i) tmp[i] = p[i];
    return load(tmp);
  }
  static void store(std::uint16_t* p, V v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p),
                     _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  static void store_tail(std::uint16_t* p, V v, std::size_t n) {
    alignas(16) std::uint16_t tmp[8];
    store(tmp, v);
    for (std::size_t i = 0; i < n; ++i) p[i] = tmp[i];
  }
  static V load(const std::uint8_t* p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  }
  static V load_tail(const std::uint8_t* p, std::size_t n) {
    alignas(16) std::uint8_t tmp[16] = {};
    for (std::size_t i = 0; i < n; ++i) tmp[i] = p[i];
    return load(tmp);
  }
  // Codes widened to 16 bits, multiplied by the weights and summed in pairs (vpmaddwd).
  static float dot_u8_i16(const std::int16_t* w, const std::uint8_t* c, std::size_t d) {
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
    std::size_t i = 0;
    for (; i + 32 <= d; i += 32) {
      const __m256i c0 = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c + i)));
      const __m256i c1 = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c + i + 16)));
      s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(c0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + i))));
      s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(c1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + i + 16))));
    }
    std::int64_t tail = 0;
    for (; i < d; ++i) tail += std::int32_t{w[i]} * c[i];
    return hsum(_mm256_add_ps(_mm256_cvtepi32_ps(s0), _mm256_cvtepi32_ps(s1))) + static_cast<float>(tail);
  }
  // Nibbles split by a mask and a 16-bit shift, multiplied by signed byte weights and summed in
  // pairs (vpmaddubsw: at most 2 * 15 * 128 per 16-bit lane, so the sum of two cannot saturate),
  // then widened to 32-bit sums (vpmaddwd by ones): 64 values per step.
  static std::int32_t dot_u4_i8(const std::int8_t* low, const std::int8_t* high, const std::uint8_t* c,
                                std::size_t bytes) {
    const __m256i nibble = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
    __m256i s = _mm256_setzero_si256();
    for (std::size_t j = 0; j < bytes; j += 32) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + j));
      const __m256i lo = _mm256_and_si256(v, nibble);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
      const __m256i p = _mm256_add_epi16(
          _mm256_maddubs_epi16(lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(low + j))),
          _mm256_maddubs_epi16(hi, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(high + j))));
      s = _mm256_add_epi32(s, _mm256_madd_epi16(p, ones));
    }
    __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    t = _mm_add_epi32(t, _mm_unpackhi_epi64(t, t));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 1));
    return _mm_cvtsi128_si32(t);
  }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static float hsum(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static unsigned at_least(V a, float t) {
    return static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(a, _mm256_set1_ps(t), _CMP_GE_OQ)));
  }
  static unsigned at_least(V a, V b) {
    return static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_GE_OQ)));
  }
  static V broadcast(const float* p) { return _mm256_broadcast_ss(p); }
};

#include "simd/kernels_impl.hpp"

}  // namespace

const Kernels kAvx2Kernels = make_kernels<Avx2>(Isa::avx2, "avx2");

}  // namespace imgvec::detail::simd
