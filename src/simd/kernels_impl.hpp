#pragma once
// The kernel bodies, written once over a traits type that wraps one instruction set's vector type.
// Each kernels_<isa>.cpp includes this file inside an anonymous namespace, so every instantiation
// has internal linkage and code compiled with AVX-512 flags can never be picked by the linker for a
// caller on another CPU. For the same reason this file calls no inline function from the standard
// library: only intrinsics and plain loops.

// Included inside a namespace: the including file provides <cstddef>, <cstdint> and kernels.hpp.

// Forced inline so that the hnswlib wrappers below run the loop directly: a graph search calls
// them thousands of times per query through a function pointer already.
#define IMGVEC_KERNEL_INLINE inline __attribute__((always_inline))
#define IMGVEC_KERNEL_LAMBDA __attribute__((always_inline))

// float16 values as stored: IEEE binary16 bit patterns. Every traits type overloads load and
// load_tail for them, converting to float lanes, so one kernel body serves both storage types.
using Half = std::uint16_t;

template <typename T, typename A, typename B>
IMGVEC_KERNEL_INLINE float dot_impl(const A* a, const B* b, std::size_t d) {
  using V = typename T::V;
  constexpr std::size_t W = T::W;
  V s0 = T::zero(), s1 = T::zero(), s2 = T::zero(), s3 = T::zero();
  std::size_t i = 0;
  // Four independent accumulators hide the FMA latency.
  for (; i + 4 * W <= d; i += 4 * W) {
    s0 = T::fma(T::load(a + i), T::load(b + i), s0);
    s1 = T::fma(T::load(a + i + W), T::load(b + i + W), s1);
    s2 = T::fma(T::load(a + i + 2 * W), T::load(b + i + 2 * W), s2);
    s3 = T::fma(T::load(a + i + 3 * W), T::load(b + i + 3 * W), s3);
  }
  for (; i + W <= d; i += W) s0 = T::fma(T::load(a + i), T::load(b + i), s0);
  if (i < d) s1 = T::fma(T::load_tail(a + i, d - i), T::load_tail(b + i, d - i), s1);
  return T::hsum(T::add(T::add(s0, s1), T::add(s2, s3)));
}

template <typename T, typename A, typename B>
IMGVEC_KERNEL_INLINE float l2sq_impl(const A* a, const B* b, std::size_t d) {
  using V = typename T::V;
  constexpr std::size_t W = T::W;
  V s0 = T::zero(), s1 = T::zero(), s2 = T::zero(), s3 = T::zero();
  std::size_t i = 0;
  for (; i + 4 * W <= d; i += 4 * W) {
    V d0 = T::sub(T::load(a + i), T::load(b + i));
    V d1 = T::sub(T::load(a + i + W), T::load(b + i + W));
    V d2 = T::sub(T::load(a + i + 2 * W), T::load(b + i + 2 * W));
    V d3 = T::sub(T::load(a + i + 3 * W), T::load(b + i + 3 * W));
    s0 = T::fma(d0, d0, s0);
    s1 = T::fma(d1, d1, s1);
    s2 = T::fma(d2, d2, s2);
    s3 = T::fma(d3, d3, s3);
  }
  for (; i + W <= d; i += W) {
    V t = T::sub(T::load(a + i), T::load(b + i));
    s0 = T::fma(t, t, s0);
  }
  if (i < d) {
    V t = T::sub(T::load_tail(a + i, d - i), T::load_tail(b + i, d - i));
    s1 = T::fma(t, t, s1);
  }
  return T::hsum(T::add(T::add(s0, s1), T::add(s2, s3)));
}

// The single-query scan, one row after another: it is bound by memory bandwidth, and a single
// sequential stream is what the hardware prefetcher follows best. Measured at 100k x 512, one
// core, interleaved with a streaming read of as many bytes (bench search/flat/100k/vs_read; AMD
// EPYC Zen 4 class, AVX-512): 0.91-0.95x the read's time one row at a time, against 1.73-1.87x
// for four rows interleaved sharing each query load (the previous kernel, 1.10-1.13x on Zen 5
// with the software prefetch it had), and 1.43-1.51x with a prefetch of the row 1 or 4 rows ahead.
template <typename T, bool kL2, typename X>
void rows_impl(const float* q, const X* x, std::size_t n, std::size_t d, float* out) {
  for (std::size_t r = 0; r < n; ++r) {
    out[r] = kL2 ? l2sq_impl<T, float, X>(q, x + r * d, d) : dot_impl<T, float, X>(q, x + r * d, d);
  }
}

// The batched micro-kernel: 6 rows against QV vectors of queries from a transposed panel (lanes
// over queries, each row value broadcast), so nothing is summed across lanes and the rows are read
// where they are stored. Measured at 100k x 512, 64 queries, one core (AMD EPYC Zen 5): the kernel
// alone 90% of the FMA peak on AVX-512 and 87% on AVX2 (against the 256-bit peak), the whole
// search 82% and 85%, against 66% and 41% for the previous tile (queries x 4 rows, lanes over the
// dimension, lane sums reduced at the end). The accumulators are six arrays, one per row, not one
// two-dimensional array: GCC 12 kept a [6][2] array of __m256 in memory and stored it back every
// step (47% of peak).
template <typename T, int QV>
struct PanelTile {
  using V = typename T::V;
  static constexpr std::size_t W = T::W;
  static constexpr std::size_t P = kPanelQueries;
  V a0[QV], a1[QV], a2[QV], a3[QV], a4[QV], a5[QV];
  const float* x0;
  const float* x1;
  const float* x2;
  const float* x3;
  const float* x4;
  const float* x5;

  IMGVEC_KERNEL_INLINE void step(const float* panel, std::size_t i) {
    V q[QV];
    for (int v = 0; v < QV; ++v) q[v] = T::load(panel + i * P + v * W);
#define IMGVEC_PANEL_ROW(r)                                                 \
    {                                                                        \
      const V b = T::broadcast(x##r + i);                                    \
      for (int v = 0; v < QV; ++v) a##r[v] = T::fma(q[v], b, a##r[v]);       \
    }
    IMGVEC_PANEL_ROW(0) IMGVEC_PANEL_ROW(1) IMGVEC_PANEL_ROW(2)
    IMGVEC_PANEL_ROW(3) IMGVEC_PANEL_ROW(4) IMGVEC_PANEL_ROW(5)
#undef IMGVEC_PANEL_ROW
  }
};

template <typename T, int QV>
IMGVEC_KERNEL_INLINE void panel_tile(const float* panel, const float* const* rows, std::size_t d,
                                     float* out, const float* const* next) {
  constexpr std::size_t W = T::W;
  constexpr std::size_t P = kPanelQueries;
  PanelTile<T, QV> t;  // held in registers: GCC replaces the struct's arrays by scalars
  for (int v = 0; v < QV; ++v) t.a0[v] = t.a1[v] = t.a2[v] = t.a3[v] = t.a4[v] = t.a5[v] = T::zero();
  t.x0 = rows[0];
  t.x1 = rows[1];
  t.x2 = rows[2];
  t.x3 = rows[3];
  t.x4 = rows[4];
  t.x5 = rows[5];
  // T::kPanelUnroll steps at a time (a divisor of 16), with the next six rows' lines (a line of
  // each per 16 steps) fetched ahead of them: with one panel of queries (a batch of 64) each row
  // comes from memory once, while the kernel waits for it. Measured at 100k x 512, 64 queries (AMD
  // EPYC Zen 5, medians of 3 interleaved runs): one thread 194 -> 215 GFLOP/s on AVX-512, 98 -> 111
  // on AVX2; two threads +12-13%. Into L2 (prefetcht1) rather than L1: 158 against 157 GFLOP/s
  // (Intel Xeon, Sapphire Rapids class), and the L1 keeps the panel; a longer distance (12 or 24
  // rows) was slower there (157, 154).
  constexpr std::size_t U = T::kPanelUnroll;
  static_assert(16 % U == 0, "a prefetch every 16 steps falls on an unrolled step");
  std::size_t i = 0;
  for (; i + U <= d; i += U) {
    if (next != nullptr && (i & 15) == 0) {
      for (int r = 0; r < 6; ++r) __builtin_prefetch(next[r] + i, 0, 2);
    }
#pragma GCC unroll 16
    for (std::size_t k = 0; k < U; ++k) t.step(panel, i + k);
  }
  for (; i < d; ++i) t.step(panel, i);
  for (int v = 0; v < QV; ++v) {
    T::store(out + v * W, t.a0[v]);
    T::store(out + P + v * W, t.a1[v]);
    T::store(out + 2 * P + v * W, t.a2[v]);
    T::store(out + 3 * P + v * W, t.a3[v]);
    T::store(out + 4 * P + v * W, t.a4[v]);
    T::store(out + 5 * P + v * W, t.a5[v]);
  }
}

// Six rows against the panel's first `lanes` queries, T::kPanelVectors vectors at a time, the rest
// one vector at a time; the first tile prefetches the `next` six rows unless that is null.
template <typename T>
IMGVEC_KERNEL_INLINE void panel_rows(const float* panel, std::size_t lanes, const float* const* rows,
                                     std::size_t d, float* out, const float* const* next) {
  constexpr std::size_t W = T::W;
  constexpr std::size_t wide = W * T::kPanelVectors;
  std::size_t j = 0;
  for (; j + wide <= lanes; j += wide) {
    panel_tile<T, T::kPanelVectors>(panel + j, rows, d, out + j, j == 0 ? next : nullptr);
  }
  for (; j < lanes; j += W) panel_tile<T, 1>(panel + j, rows, d, out + j, j == 0 ? next : nullptr);
}

template <typename T>
void dot_panel_impl(const float* panel, std::size_t lanes, const float* x, std::size_t nx,
                    std::size_t ldx, std::size_t d, float* out) {
  constexpr std::size_t P = kPanelQueries;
  std::size_t r = 0;
  for (; r + 6 <= nx; r += 6) {
    const float* rows[6] = {x + r * ldx,       x + (r + 1) * ldx, x + (r + 2) * ldx,
                            x + (r + 3) * ldx, x + (r + 4) * ldx, x + (r + 5) * ldx};
    const float* next[6] = {rows[0] + 6 * ldx, rows[1] + 6 * ldx, rows[2] + 6 * ldx,
                            rows[3] + 6 * ldx, rows[4] + 6 * ldx, rows[5] + 6 * ldx};
    panel_rows<T>(panel, lanes, rows, d, out + r * P, r + 12 <= nx ? next : nullptr);
  }
  if (r < nx) {
    // The last rows: missing ones repeat the last row, and the sums go to a scratch tile.
    const float* rows[6];
    for (std::size_t k = 0; k < 6; ++k) rows[k] = x + (r + k < nx ? r + k : nx - 1) * ldx;
    float tail[6 * P];
    panel_rows<T>(panel, lanes, rows, d, tail, nullptr);
    for (std::size_t k = 0; r + k < nx; ++k) {
      for (std::size_t j = 0; j < lanes; ++j) out[(r + k) * P + j] = tail[k * P + j];
    }
  }
}

// Bit j set where (scale * s[j] - shift) - offset[j] >= bar[j], for j < lanes: the batched
// search's admission test for 64 queries at once, computed as the search computes its scores.
template <typename T>
std::uint64_t at_least_mask_impl(const float* s, float scale, float shift, const float* offset,
                                 const float* bar, std::size_t lanes) {
  constexpr std::size_t W = T::W;
  const typename T::V vscale = T::broadcast(&scale), vshift = T::broadcast(&shift);
  std::uint64_t mask = 0;
  for (std::size_t j = 0; j < lanes; j += W) {
    const typename T::V v =
        T::sub(T::sub(T::mul(T::load(s + j), vscale), vshift), T::load(offset + j));
    mask |= static_cast<std::uint64_t>(T::at_least(v, T::load(bar + j))) << j;
  }
  return lanes >= 64 ? mask : mask & ((std::uint64_t{1} << lanes) - 1);
}

// The first i in [0, n) with s[i] >= t, or n: top-k selection skips non-candidates a vector at a
// time instead of testing each score.
template <typename T>
std::size_t first_at_least_impl(const float* s, std::size_t n, float t) {
  constexpr std::size_t W = T::W;
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    if (const unsigned m = T::at_least(T::load(s + i), t)) return i + static_cast<std::size_t>(__builtin_ctz(m));
  }
  for (; i < n; ++i) {
    if (s[i] >= t) return i;
  }
  return n;
}

template <typename T, typename A, typename B>
float hnsw_ip_impl(const void* a, const void* b, const void* dim) {
  return 1.0f - dot_impl<T>(static_cast<const A*>(a), static_cast<const B*>(b),
                            *static_cast<const std::size_t*>(dim));
}

template <typename T, typename A, typename B>
float hnsw_l2_impl(const void* a, const void* b, const void* dim) {
  return l2sq_impl<T>(static_cast<const A*>(a), static_cast<const B*>(b),
                      *static_cast<const std::size_t*>(dim));
}

// One vector against four others at once (a graph walk's neighbours, from scattered places): each
// load of `a` serves four products, so a step takes 5 loads for 4 FMAs instead of 8, and one call
// replaces four indirect ones. Two accumulators per vector keep 8 FMA chains in flight. The sums
// are associated differently from dot_impl's, so results may differ from it in the last bits.
template <typename T, bool kL2, typename A, typename B>
IMGVEC_KERNEL_INLINE void four_impl(const A* a, const B* const* b, std::size_t d, float* out) {
  using V = typename T::V;
  constexpr std::size_t W = T::W;
  const B* b0 = b[0];
  const B* b1 = b[1];
  const B* b2 = b[2];
  const B* b3 = b[3];
  V s0 = T::zero(), s1 = T::zero(), s2 = T::zero(), s3 = T::zero();
  V t0 = T::zero(), t1 = T::zero(), t2 = T::zero(), t3 = T::zero();
  auto step = [&](V x, V y0, V y1, V y2, V y3, V& r0, V& r1, V& r2, V& r3) IMGVEC_KERNEL_LAMBDA {
    if constexpr (kL2) {
      const V e0 = T::sub(x, y0), e1 = T::sub(x, y1), e2 = T::sub(x, y2), e3 = T::sub(x, y3);
      r0 = T::fma(e0, e0, r0);
      r1 = T::fma(e1, e1, r1);
      r2 = T::fma(e2, e2, r2);
      r3 = T::fma(e3, e3, r3);
    } else {
      r0 = T::fma(x, y0, r0);
      r1 = T::fma(x, y1, r1);
      r2 = T::fma(x, y2, r2);
      r3 = T::fma(x, y3, r3);
    }
  };
  std::size_t i = 0;
  for (; i + 2 * W <= d; i += 2 * W) {
    step(T::load(a + i), T::load(b0 + i), T::load(b1 + i), T::load(b2 + i), T::load(b3 + i), s0, s1, s2, s3);
    const std::size_t j = i + W;
    step(T::load(a + j), T::load(b0 + j), T::load(b1 + j), T::load(b2 + j), T::load(b3 + j), t0, t1, t2, t3);
  }
  for (; i + W <= d; i += W) {
    step(T::load(a + i), T::load(b0 + i), T::load(b1 + i), T::load(b2 + i), T::load(b3 + i), s0, s1, s2, s3);
  }
  if (i < d) {
    const std::size_t n = d - i;
    step(T::load_tail(a + i, n), T::load_tail(b0 + i, n), T::load_tail(b1 + i, n), T::load_tail(b2 + i, n),
         T::load_tail(b3 + i, n), t0, t1, t2, t3);
  }
  out[0] = T::hsum(T::add(s0, t0));
  out[1] = T::hsum(T::add(s1, t1));
  out[2] = T::hsum(T::add(s2, t2));
  out[3] = T::hsum(T::add(s3, t3));
}

template <typename T, typename A, typename B>
void hnsw_ip4_impl(const void* a, const void* const* b, const void* dim, float* out) {
  four_impl<T, false>(static_cast<const A*>(a), reinterpret_cast<const B* const*>(b),
                      *static_cast<const std::size_t*>(dim), out);
  for (int k = 0; k < 4; ++k) out[k] = 1.0f - out[k];
}

template <typename T, typename A, typename B>
void hnsw_l2_4_impl(const void* a, const void* const* b, const void* dim, float* out) {
  four_impl<T, true>(static_cast<const A*>(a), reinterpret_cast<const B* const*>(b),
                     *static_cast<const std::size_t*>(dim), out);
}

// sq8 codes: every traits type overloads load and load_tail for bytes, widening them to float lanes.
using Code = std::uint8_t;

// sum w_i * a_i * b_i: the code-dependent part of two sq8 records' inner product (w = step^2).
template <typename T>
IMGVEC_KERNEL_INLINE float weighted_dot_impl(const float* w, const Code* a, const Code* b, std::size_t d) {
  using V = typename T::V;
  constexpr std::size_t W = T::W;
  V s0 = T::zero(), s1 = T::zero();
  std::size_t i = 0;
  for (; i + 2 * W <= d; i += 2 * W) {
    s0 = T::fma(T::mul(T::load(a + i), T::load(w + i)), T::load(b + i), s0);
    s1 = T::fma(T::mul(T::load(a + i + W), T::load(w + i + W)), T::load(b + i + W), s1);
  }
  for (; i + W <= d; i += W) s0 = T::fma(T::mul(T::load(a + i), T::load(w + i)), T::load(b + i), s0);
  if (i < d) {
    s1 = T::fma(T::mul(T::load_tail(a + i, d - i), T::load_tail(w + i, d - i)), T::load_tail(b + i, d - i), s1);
  }
  return T::hsum(T::add(s0, s1));
}

// sum w_i * (a_i - b_i)^2: two sq8 records' squared distance (w = step^2).
template <typename T>
IMGVEC_KERNEL_INLINE float weighted_l2_impl(const float* w, const Code* a, const Code* b, std::size_t d) {
  using V = typename T::V;
  constexpr std::size_t W = T::W;
  V s0 = T::zero(), s1 = T::zero();
  std::size_t i = 0;
  for (; i + 2 * W <= d; i += 2 * W) {
    const V t0 = T::sub(T::load(a + i), T::load(b + i));
    const V t1 = T::sub(T::load(a + i + W), T::load(b + i + W));
    s0 = T::fma(T::mul(t0, t0), T::load(w + i), s0);
    s1 = T::fma(T::mul(t1, t1), T::load(w + i + W), s1);
  }
  for (; i + W <= d; i += W) {
    const V t = T::sub(T::load(a + i), T::load(b + i));
    s0 = T::fma(T::mul(t, t), T::load(w + i), s0);
  }
  if (i < d) {
    const V t = T::sub(T::load_tail(a + i, d - i), T::load_tail(b + i, d - i));
    s1 = T::fma(T::mul(t, t), T::load_tail(w + i, d - i), s1);
  }
  return T::hsum(T::add(s0, s1));
}

// The two floats after a record's codes (see Sq8Space); memcpy because nothing aligns them.
IMGVEC_KERNEL_INLINE float sq8_extra(const void* record, std::size_t code_bytes, std::size_t which) {
  float f;
  __builtin_memcpy(&f, static_cast<const char*>(record) + code_bytes + which * sizeof(float), sizeof f);
  return f;
}

template <typename T>
float hnsw_ip_sq8_impl(const void* a, const void* b, const void* param) {
  const auto& s = *static_cast<const imgvec::detail::simd::Sq8Space*>(param);
  const float codes = weighted_dot_impl<T>(s.step_sq, static_cast<const Code*>(a), static_cast<const Code*>(b), s.dim);
  return 1.0f - (s.lo_sq + sq8_extra(a, s.code_bytes, 0) + sq8_extra(b, s.code_bytes, 0) + codes);
}

template <typename T>
float hnsw_l2_sq8_impl(const void* a, const void* b, const void* param) {
  const auto& s = *static_cast<const imgvec::detail::simd::Sq8Space*>(param);
  return weighted_l2_impl<T>(s.step_sq, static_cast<const Code*>(a), static_cast<const Code*>(b), s.dim);
}

template <typename T>
float hnsw_ip_query_sq8_impl(const void* query, const void* record, const void* param) {
  const auto& s = *static_cast<const imgvec::detail::simd::Sq8Space*>(param);
  const auto& q = *static_cast<const imgvec::detail::simd::Sq8Query*>(query);
  return 1.0f - (q.bias + q.scale * T::dot_u8_i16(q.weight, static_cast<const Code*>(record), s.dim));
}

template <typename T>
float hnsw_l2_query_sq8_impl(const void* query, const void* record, const void* param) {
  const auto& s = *static_cast<const imgvec::detail::simd::Sq8Space*>(param);
  const auto& q = *static_cast<const imgvec::detail::simd::Sq8Query*>(query);
  const float dot = q.bias + q.scale * T::dot_u8_i16(q.weight, static_cast<const Code*>(record), s.dim);
  return q.norm_sq - 2.0f * dot + sq8_extra(record, s.code_bytes, 1);
}

template <typename T>
IMGVEC_KERNEL_INLINE float sq4_dot(const void* query, const void* record, const void* param) {
  const auto& s = *static_cast<const imgvec::detail::simd::Sq4Space*>(param);
  const auto& q = *static_cast<const imgvec::detail::simd::Sq4Query*>(query);
  return q.bias + q.scale * static_cast<float>(T::dot_u4_i8(q.low, q.high, static_cast<const Code*>(record), s.code_bytes));
}

template <typename T>
float hnsw_ip_query_sq4_impl(const void* query, const void* record, const void* param) {
  return 1.0f - sq4_dot<T>(query, record, param);
}

template <typename T>
float hnsw_l2_query_sq4_impl(const void* query, const void* record, const void* param) {
  const auto& s = *static_cast<const imgvec::detail::simd::Sq4Space*>(param);
  const auto& q = *static_cast<const imgvec::detail::simd::Sq4Query*>(query);
  return q.norm_sq - 2.0f * sq4_dot<T>(query, record, param) + sq8_extra(record, s.code_bytes, 0);
}

template <typename T>
void to_half_impl(const float* x, std::size_t n, Half* out) {
  constexpr std::size_t W = T::W;
  std::size_t i = 0;
  for (; i + W <= n; i += W) T::store(out + i, T::load(x + i));
  if (i < n) T::store_tail(out + i, T::load_tail(x + i, n - i), n - i);
}

template <typename T>
void from_half_impl(const Half* x, std::size_t n, float* out) {
  constexpr std::size_t W = T::W;
  std::size_t i = 0;
  for (; i + W <= n; i += W) T::store(out + i, T::load(x + i));
  for (; i < n; ++i) out[i] = T::hsum(T::load_tail(x + i, 1));
}

template <typename T>
constexpr imgvec::detail::simd::Kernels make_kernels(imgvec::detail::simd::Isa isa,
                                                     const char* name) {
  static_assert(kPanelQueries % (T::W * T::kPanelVectors) == 0, "a panel holds whole tiles");
  return {isa,
          name,
          &dot_impl<T, float, float>,
          &l2sq_impl<T, float, float>,
          &rows_impl<T, false, float>,
          &rows_impl<T, true, float>,
          &dot_panel_impl<T>,
          &at_least_mask_impl<T>,
          &first_at_least_impl<T>,
          &hnsw_ip_impl<T, float, float>,
          &hnsw_l2_impl<T, float, float>,
          &hnsw_ip4_impl<T, float, float>,
          &hnsw_l2_4_impl<T, float, float>,
          &dot_impl<T, float, Half>,
          &l2sq_impl<T, float, Half>,
          &rows_impl<T, false, Half>,
          &rows_impl<T, true, Half>,
          &hnsw_ip_impl<T, float, Half>,
          &hnsw_l2_impl<T, float, Half>,
          &hnsw_ip_impl<T, Half, Half>,
          &hnsw_l2_impl<T, Half, Half>,
          &hnsw_ip4_impl<T, Half, Half>,
          &hnsw_l2_4_impl<T, Half, Half>,
          &T::dot_u8_i16,
          &hnsw_ip_sq8_impl<T>,
          &hnsw_l2_sq8_impl<T>,
          &hnsw_ip_query_sq8_impl<T>,
          &hnsw_l2_query_sq8_impl<T>,
          &T::dot_u4_i8,
          &hnsw_ip_query_sq4_impl<T>,
          &hnsw_l2_query_sq4_impl<T>,
          &to_half_impl<T>,
          &from_half_impl<T>};
}
