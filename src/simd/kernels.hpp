#pragma once

#include <cstddef>
#include <cstdint>

namespace imgvec::detail::simd {

/// Instruction sets with their own kernels. Values appear in IMGVEC_SIMD and benchmark output.
enum class Isa { scalar = 0, avx2 = 1, avx512 = 2 };

/// 8-bit scalar-quantized vectors (VectorStorage::sq8): value i of a vector is lo_i + step_i * c_i
/// for a code c_i in 0..255. A record is the codes (code_bytes, d rounded up to 4) followed by two
/// floats: <lo o step, c> (the part of an inner product that does not depend on the other vector's
/// codes) and the decoded vector's squared norm. The space is the parameter of the hnsw_*_sq8
/// kernels.
struct Sq8Space {
  std::size_t dim = 0;
  std::size_t code_bytes = 0;
  const float* step_sq = nullptr;  // step_i^2, dim values
  float lo_sq = 0.0f;              // |lo|^2
};

/// A float query prepared for one Sq8Space: q_i * step_i = scale * weight_i (weights rounded to
/// 16-bit integers), bias = <q, lo>, norm_sq = |q|^2. Then <q, x> = bias + scale * sum weight_i *
/// c_i, an integer dot product of codes and weights (no decoding of x, no float conversion).
/// Weights are bounded by kSq8MaxWeight(dim), so no 32-bit lane of a kernel can overflow.
struct Sq8Query {
  const std::int16_t* weight = nullptr;
  float scale = 0.0f;
  float bias = 0.0f;
  float norm_sq = 0.0f;
};

/// The largest weight magnitude for a dimension: a lane of the AVX2 kernel (8 lanes) sums
/// dim / 8 + 2 products of a code (<= 255) and a weight.
inline std::int32_t sq8_max_weight(std::size_t dim) {
  const std::size_t bound = 2147483647u / (255u * (dim / 8 + 2));
  return static_cast<std::int32_t>(bound < 32767 ? bound : 32767);
}

/// 4-bit scalar-quantized codes (VectorStorage::sq4): value i of a vector is about lo_i + step_i *
/// c_i for a code c_i in 0..15. A row is the codes (code_bytes), then for L2 the vector's squared
/// norm as a float. Codes go in blocks of 64 dimensions, 32 bytes each: byte j of a block holds
/// dimension j in its low nibble and dimension 32 + j in its high nibble, so a kernel separates
/// them with one mask and one shift per load, whatever its width. The space is the parameter of
/// the hnsw_*_query_sq4 kernels and of hnswlib's float16 distances over the graph's records (the
/// float16 copies), which read it as the dimension: `dim` comes first.
struct Sq4Space {
  std::size_t dim = 0;
  std::size_t code_bytes = 0;  // 32 per 64 dimensions (the last block padded with zero codes)
};

/// A float query prepared for one Sq4Space: q_i * step_i = scale * weight_i, weights rounded to
/// 8-bit integers and laid out as the codes are: low[j] weighs the low nibble of code byte j,
/// high[j] its high nibble (code_bytes each; padding weighs 0). bias = <q, lo>, norm_sq = |q|^2.
struct Sq4Query {
  const std::int8_t* low = nullptr;
  const std::int8_t* high = nullptr;
  float scale = 0.0f;
  float bias = 0.0f;
  float norm_sq = 0.0f;
};

/// Queries per panel of the batched path (Kernels::dot_panel).
inline constexpr std::size_t kPanelQueries = 64;

/// One set of distance kernels, all compiled for the same instruction set.
struct Kernels {
  Isa isa;
  const char* name;

  /// <a, b> and |a - b|^2 over d floats.
  float (*dot)(const float* a, const float* b, std::size_t d);
  float (*l2sq)(const float* a, const float* b, std::size_t d);

  /// One query against n rows stored contiguously (row i at x + i * d): out[i] = <q, x_i> or
  /// |q - x_i|^2.
  void (*dot_rows)(const float* q, const float* x, std::size_t n, std::size_t d, float* out);
  void (*l2sq_rows)(const float* q, const float* x, std::size_t n, std::size_t d, float* out);

  /// Batched inner products, the GEMM-like path, over a panel of up to kPanelQueries queries
  /// stored transposed: panel[i * kPanelQueries + j] is value i of query j (kPanelQueries x d
  /// floats; unused queries zero). out[r * kPanelQueries + j] = <query j, row r> for nx rows (row r
  /// at x + r * ldx) and j < lanes; out holds nx x kPanelQueries floats, and entries from lanes up
  /// to the next multiple of 16 may be written too.
  void (*dot_panel)(const float* panel, std::size_t lanes, const float* x, std::size_t nx,
                    std::size_t ldx, std::size_t d, float* out);
  /// Bit j set where (scale * s[j] - shift) - offset[j] >= bar[j], for j < lanes (<= 64); s,
  /// offset and bar hold kPanelQueries floats each.
  std::uint64_t (*at_least_mask)(const float* s, float scale, float shift, const float* offset,
                                 const float* bar, std::size_t lanes);
  /// The first i < n with s[i] >= t, or n if there is none.
  std::size_t (*first_at_least)(const float* s, std::size_t n, float t);

  /// hnswlib's distance signature; the parameter points at the dimension as a size_t.
  /// hnsw_ip returns 1 - <a, b>, hnsw_l2 returns |a - b|^2.
  float (*hnsw_ip)(const void* a, const void* b, const void* dim);
  float (*hnsw_l2)(const void* a, const void* b, const void* dim);
  /// Four of hnsw_ip's or hnsw_l2's distances in one call: a against b[0..3], into out[0..3].
  /// Equal to four single calls up to rounding (the sums are associated differently).
  void (*hnsw_ip4)(const void* a, const void* const* b, const void* dim, float* out);
  void (*hnsw_l2_4)(const void* a, const void* const* b, const void* dim, float* out);

  /// The same with the stored side (x, b) in float16: IEEE binary16 bit patterns, converted to
  /// float in registers. The hnsw_*_f32_f16 pair takes a float query and a float16 vector; the
  /// hnsw_*_f16 pair takes two float16 vectors (hnswlib's own calls while it builds the graph).
  float (*dot_f16)(const float* a, const std::uint16_t* b, std::size_t d);
  float (*l2sq_f16)(const float* a, const std::uint16_t* b, std::size_t d);
  void (*dot_rows_f16)(const float* q, const std::uint16_t* x, std::size_t n, std::size_t d,
                       float* out);
  void (*l2sq_rows_f16)(const float* q, const std::uint16_t* x, std::size_t n, std::size_t d,
                        float* out);
  float (*hnsw_ip_f32_f16)(const void* a, const void* b, const void* dim);
  float (*hnsw_l2_f32_f16)(const void* a, const void* b, const void* dim);
  float (*hnsw_ip_f16)(const void* a, const void* b, const void* dim);
  float (*hnsw_l2_f16)(const void* a, const void* b, const void* dim);
  /// Four at once, as hnsw_ip4, with two float16 sides (graph construction; the query walk
  /// measured no faster with four-at-once calls and keeps single ones).
  void (*hnsw_ip4_f16)(const void* a, const void* const* b, const void* dim, float* out);
  void (*hnsw_l2_4_f16)(const void* a, const void* const* b, const void* dim, float* out);

  /// sum of w_i * c_i over d 8-bit codes and 16-bit weights (bounded as Sq8Query says), as float.
  float (*dot_u8_i16)(const std::int16_t* w, const std::uint8_t* c, std::size_t d);
  /// hnswlib's signature over sq8 records, the parameter a Sq8Space. hnsw_*_sq8 compare two
  /// records (hnswlib's own calls while it builds the graph); hnsw_*_query_sq8 take a Sq8Query
  /// and a record (searches). ip returns 1 - <a, b>, l2 returns |a - b|^2, of the decoded vectors.
  float (*hnsw_ip_sq8)(const void* a, const void* b, const void* space);
  float (*hnsw_l2_sq8)(const void* a, const void* b, const void* space);
  float (*hnsw_ip_query_sq8)(const void* query, const void* record, const void* space);
  float (*hnsw_l2_query_sq8)(const void* query, const void* record, const void* space);

  /// sum of low[j] * (c[j] & 15) + high[j] * (c[j] >> 4) over `bytes` code bytes (a multiple of
  /// 32), exact in 32 bits for any realistic size (each term is at most 15 * 128 in magnitude).
  std::int32_t (*dot_u4_i8)(const std::int8_t* low, const std::int8_t* high, const std::uint8_t* c,
                            std::size_t bytes);
  /// The walk's kernels over sq4 rows: a Sq4Query and a row, the parameter a Sq4Space.
  /// ip returns 1 - <q, x~>, l2 returns |q|^2 - 2 <q, x~> + |x|^2 (x~ the decoded codes, |x|^2
  /// the stored copy's norm): estimates that only steer the walk, which re-ranks exactly.
  float (*hnsw_ip_query_sq4)(const void* query, const void* record, const void* space);
  float (*hnsw_l2_query_sq4)(const void* query, const void* record, const void* space);

  /// Conversions of n values, rounding to the nearest float16 (ties to even); magnitudes of 65520
  /// and more become infinity, so callers check the range first.
  void (*to_f16)(const float* x, std::size_t n, std::uint16_t* out);
  void (*from_f16)(const std::uint16_t* x, std::size_t n, float* out);
};

/// The kernels used by default: the best this CPU supports, unless the environment variable
/// IMGVEC_SIMD names another (scalar, avx2, avx512) that it supports. Chosen once, thread-safe.
const Kernels& active();

/// The kernels for `isa`, or nullptr if this CPU (or this build) lacks them.
const Kernels* for_isa(Isa isa);

// Defined in the per-ISA files, compiled with that ISA's flags. The avx ones exist only on x86-64.
extern const Kernels kScalarKernels;
#if defined(__x86_64__)
extern const Kernels kAvx2Kernels;
extern const Kernels kAvx512Kernels;
#endif

}  // namespace imgvec::detail::simd
