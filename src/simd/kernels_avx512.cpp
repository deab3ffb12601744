// Compiled with -mavx512f -mavx512bw -mavx512vl -mfma (see CMakeLists.txt); used only when the CPU
// reports all of them (every AVX-512 CPU since Skylake-SP and Zen 4 does; only Xeon Phi lacks BW).
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
  // The batched tile: 6 rows x 4 vectors of queries = 24 accumulators + 4 query vectors + 1
  // broadcast row value of 32 registers.
  static constexpr int kPanelVectors = 4;
  // Steps of the tile's loop body: measured at 100k x 512, 64 queries, one thread (Intel Xeon,
  // Sapphire Rapids class; medians of 5 interleaved runs) 4 steps 164 GFLOP/s, 2 steps 163, 16
  // steps 158, against 147 for one step with a prefetch test in each.
  static constexpr std::size_t kPanelUnroll = 4;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static V load_tail(const float* p, std::size_t n) {
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p);
  }
  static V load(const std::uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  // Masked 16-bit loads need AVX512BW; tails are rare (dimensions are multiples of 16 in practice).
  static V load_tail(const std::uint16_t* p, std::size_t n) {
    alignas(32) std::uint16_t tmp[16] = {};
    for (std::size_t i = 0; i < n; ++i) tmp[i] = p[i];
    return load(tmp);
  }
  static void store(std::uint16_t* p, V v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p),
                        _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  static void store_tail(std::uint16_t* p, V v, std::size_t n) {
    alignas(32) std::uint16_t tmp[16];
    store(tmp, v);
    for (std::size_t i = 0; i < n; ++i) p[i] = tmp[i];
  }
  static V load(const std::uint8_t* p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
  static V load_tail(const std::uint8_t* p, std::size_t n) {
    alignas(16) std::uint8_t tmp[16] = {};
    for (std::size_t i = 0; i < n; ++i) tmp[i] = p[i];
    return load(tmp);
  }
  // Codes widened to 16 bits, multiplied by the weights and summed in pairs (vpmaddwd): 32 values
  // per step in three instructions, against 16 in four for the float path (AVX-512BW).
  static float dot_u8_i16(const std::int16_t* w, const std::uint8_t* c, std::size_t d) {
    __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
    std::size_t i = 0;
    for (; i + 64 <= d; i += 64) {
      const __m512i c0 = _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + i)));
      const __m512i c1 = _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + i + 32)));
      s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(c0, _mm512_loadu_si512(w + i)));
      s1 = _mm512_add_epi32(s1, _mm512_madd_epi16(c1, _mm512_loadu_si512(w + i + 32)));
    }
    if (i < d) {
      // One or two masked steps: the masks keep every read inside the arrays.
      for (; i < d; i += 32) {
        const std::size_t n = d - i < 32 ? d - i : 32;
        const __mmask32 m = n == 32 ? ~__mmask32{0} : (__mmask32{1} << n) - 1;
        const __m512i cv = _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(m, c + i));
        s1 = _mm512_add_epi32(s1, _mm512_madd_epi16(cv, _mm512_maskz_loadu_epi16(m, w + i)));
      }
    }
    return hsum(_mm512_add_ps(_mm512_cvtepi32_ps(s0), _mm512_cvtepi32_ps(s1)));
  }
  // As the AVX2 kernel (kernels_avx2.cpp), 128 values per step; a last half step (bytes is a
  // multiple of 32) loads with a mask, whose zero bytes add nothing.
  // (vpdpbusd on VNNI CPUs would fuse three instructions into one; the walk waits on memory.)
  static std::int32_t dot_u4_i8(const std::int8_t* low, const std::int8_t* high, const std::uint8_t* c,
                                std::size_t bytes) {
    const __m512i nibble = _mm512_set1_epi8(15), ones = _mm512_set1_epi16(1);
    __m512i s = _mm512_setzero_si512();
    for (std::size_t j = 0; j < bytes; j += 64) {
      const __mmask64 m = bytes - j >= 64 ? ~__mmask64{0} : (__mmask64{1} << (bytes - j)) - 1;
      const __m512i v = _mm512_maskz_loadu_epi8(m, c + j);
      const __m512i lo = _mm512_and_si512(v, nibble);
      const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nibble);
      const __m512i p = _mm512_add_epi16(_mm512_maddubs_epi16(lo, _mm512_maskz_loadu_epi8(m, low + j)),
                                         _mm512_maddubs_epi16(hi, _mm512_maskz_loadu_epi8(m, high + j)));
      s = _mm512_add_epi32(s, _mm512_madd_epi16(p, ones));
    }
    return _mm512_reduce_add_epi32(s);
  }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
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
  static unsigned at_least(V a, float t) {
    return _mm512_cmp_ps_mask(a, _mm512_set1_ps(t), _CMP_GE_OQ);
  }
  static unsigned at_least(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static V broadcast(const float* p) { return _mm512_set1_ps(*p); }
};

#include "simd/kernels_impl.hpp"

}  // namespace

const Kernels kAvx512Kernels = make_kernels<Avx512>(Isa::avx512, "avx512");

}  // namespace imgvec::detail::simd
