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

// Four rows at a time share each load of the query: the single-query scan is bound by memory
// bandwidth, and this keeps the query in registers or L1 while the rows stream past.


template <typename T, bool kL2, typename X>
void rows_impl(const float* q, const X* x, std::size_t n, std::size_t d, float* out) {
  using V = typename T::V;
  constexpr std::size_t W = T::W;
  std::size_t r = 0;
  for (; r + 4 <= n; r += 4) {
    const X* x0 = x + r * d;
    const X* x1 = x0 + d;
    const X* x2 = x1 + d;
    const X* x3 = x2 + d;
    V s0 = T::zero(), s1 = T::zero(), s2 = T::zero(), s3 = T::zero();
    std::size_t i = 0;
    for (; i + W <= d; i += W) {
      // The next four rows, a line per row per step: the four interleaved streams otherwise
      // outrun the hardware prefetcher (measured at 100k x 512 on one core: 1.40-1.47x the
      // streaming-read time without, 1.10-1.13x with; 8 rows ahead gave 1.17-1.19x).
      __builtin_prefetch(x0 + i + 4 * d);
      __builtin_prefetch(x1 + i + 4 * d);
      __builtin_prefetch(x2 + i + 4 * d);
      __builtin_prefetch(x3 + i + 4 * d);
      V qv = T::load(q + i);
      if constexpr (kL2) {
        V t0 = T::sub(qv, T::load(x0 + i)), t1 = T::sub(qv, T::load(x1 + i));
        V t2 = T::sub(qv, T::load(x2 + i)), t3 = T::sub(qv, T::load(x3 + i));
        s0 = T::fma(t0, t0, s0);
        s1 = T::fma(t1, t1, s1);
        s2 = T::fma(t2, t2, s2);
        s3 = T::fma(t3, t3, s3);
      } else {
        s0 = T::fma(qv, T::load(x0 + i), s0);
        s1 = T::fma(qv, T::load(x1 + i), s1);
        s2 = T::fma(qv, T::load(x2 + i), s2);
        s3 = T::fma(qv, T::load(x3 + i), s3);
      }
    }
    if (i < d) {
      const std::size_t t = d - i;
      V qv = T::load_tail(q + i, t);
      if constexpr (kL2) {
        V t0 = T::sub(qv, T::load_tail(x0 + i, t)), t1 = T::sub(qv, T::load_tail(x1 + i, t));
        V t2 = T::sub(qv, T::load_tail(x2 + i, t)), t3 = T::sub(qv, T::load_tail(x3 + i, t));
        s0 = T::fma(t0, t0, s0);
        s1 = T::fma(t1, t1, s1);
        s2 = T::fma(t2, t2, s2);
        s3 = T::fma(t3, t3, s3);
      } else {
        s0 = T::fma(qv, T::load_tail(x0 + i, t), s0);
        s1 = T::fma(qv, T::load_tail(x1 + i, t), s1);
        s2 = T::fma(qv, T::load_tail(x2 + i, t), s2);
        s3 = T::fma(qv, T::load_tail(x3 + i, t), s3);
      }
    }
    out[r] = T::hsum(s0);
    out[r + 1] = T::hsum(s1);
    out[r + 2] = T::hsum(s2);
    out[r + 3] = T::hsum(s3);
  }
  for (; r < n; ++r) {
    out[r] = kL2 ? l2sq_impl<T, float, X>(q, x + r * d, d) : dot_impl<T, float, X>(q, x + r * d, d);
  }
}

// The GEMM-like micro-kernel: MQ queries x 4 rows, lanes over the dimension, so rows are read where
// they are stored. (A transposed, packed copy of each row panel cost as much as the FMAs at batch 64:
// 87 GFLOP/s against 155 for this one on one core.) Each step loads 4 row vectors and MQ query vectors
// for 4 * MQ FMAs; the 4 * MQ lane sums are reduced once at the end, 4 at a time.
template <typename T, int MQ>
IMGVEC_KERNEL_INLINE void block_tile(const float* q, std::size_t ldq, const float* const* x,
                                     std::size_t d, float* out, std::size_t ldo, std::size_t ahead = 0) {
  using V = typename T::V;
  constexpr std::size_t W = T::W;
  V acc[MQ][4];
  for (int m = 0; m < MQ; ++m) acc[m][0] = acc[m][1] = acc[m][2] = acc[m][3] = T::zero();
  const float* x0 = x[0];
  const float* x1 = x[1];
  const float* x2 = x[2];
  const float* x3 = x[3];
  std::size_t i = 0;
  for (; i + W <= d; i += W) {
    // The next group of rows, a line per row per step: without it every group starts with four
    // cache misses (measured: 145 -> 155 GFLOP/s at 100k x 512, batch 64, one core).
    __builtin_prefetch(x0 + i + ahead);
    __builtin_prefetch(x1 + i + ahead);
    __builtin_prefetch(x2 + i + ahead);
    __builtin_prefetch(x3 + i + ahead);
    const V v0 = T::load(x0 + i), v1 = T::load(x1 + i), v2 = T::load(x2 + i), v3 = T::load(x3 + i);
    for (int m = 0; m < MQ; ++m) {
      const V qv = T::load(q + m * ldq + i);
      acc[m][0] = T::fma(qv, v0, acc[m][0]);
      acc[m][1] = T::fma(qv, v1, acc[m][1]);
      acc[m][2] = T::fma(qv, v2, acc[m][2]);
      acc[m][3] = T::fma(qv, v3, acc[m][3]);
    }
  }
  if (i < d) {
    const std::size_t t = d - i;
    const V v0 = T::load_tail(x0 + i, t), v1 = T::load_tail(x1 + i, t);
    const V v2 = T::load_tail(x2 + i, t), v3 = T::load_tail(x3 + i, t);
    for (int m = 0; m < MQ; ++m) {
      const V qv = T::load_tail(q + m * ldq + i, t);
      acc[m][0] = T::fma(qv, v0, acc[m][0]);
      acc[m][1] = T::fma(qv, v1, acc[m][1]);
      acc[m][2] = T::fma(qv, v2, acc[m][2]);
      acc[m][3] = T::fma(qv, v3, acc[m][3]);
    }
  }
  for (int m = 0; m < MQ; ++m) T::hsum4(acc[m][0], acc[m][1], acc[m][2], acc[m][3], out + m * ldo);
}

// MQ queries against every row: the query tile stays in L1 while the rows stream from L2 (callers
// pass blocks of rows that fit there). Missing rows of the last group of 4 repeat the last row and
// their sums go to a scratch tile.
template <typename T, int MQ>
IMGVEC_KERNEL_INLINE void block_row_sweep(const float* q, std::size_t ldq, const float* x,
                                          std::size_t nx, std::size_t ldx, std::size_t d,
                                          float* out, std::size_t ldo) {
  std::size_t j = 0;
  for (; j + 4 <= nx; j += 4) {
    const float* rows[4] = {x + j * ldx, x + (j + 1) * ldx, x + (j + 2) * ldx, x + (j + 3) * ldx};
    block_tile<T, MQ>(q, ldq, rows, d, out + j, ldo, 4 * ldx);
  }
  if (j < nx) {
    const float* rows[4];
    for (std::size_t r = 0; r < 4; ++r) rows[r] = x + (j + r < nx ? j + r : nx - 1) * ldx;
    float tail[MQ * 4];
    block_tile<T, MQ>(q, ldq, rows, d, tail, 4);
    for (int m = 0; m < MQ; ++m) {
      for (std::size_t r = 0; j + r < nx; ++r) out[m * ldo + j + r] = tail[m * 4 + r];
    }
  }
}

template <typename T>
void dot_block_impl(const float* q, std::size_t nq, std::size_t ldq, const float* x, std::size_t nx,
                    std::size_t ldx, std::size_t d, float* out, std::size_t ldo) {
  constexpr std::size_t MQ = T::kBlockQueries;
  std::size_t i = 0;
  for (; i + MQ <= nq; i += MQ) block_row_sweep<T, MQ>(q + i * ldq, ldq, x, nx, ldx, d, out + i * ldo, ldo);
  switch (nq - i) {
    case 0: break;
#define IMGVEC_TILE_CASE(n) \
    case n: if constexpr (n < MQ) block_row_sweep<T, n>(q + i * ldq, ldq, x, nx, ldx, d, out + i * ldo, ldo); break;
    IMGVEC_TILE_CASE(1) IMGVEC_TILE_CASE(2) IMGVEC_TILE_CASE(3) IMGVEC_TILE_CASE(4)
    IMGVEC_TILE_CASE(5) IMGVEC_TILE_CASE(6) IMGVEC_TILE_CASE(7)
#undef IMGVEC_TILE_CASE
    default: break;
  }
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
  static_assert(T::kBlockQueries <= 8, "dot_block_impl handles remainders up to 7 queries");
  return {isa,
          name,
          &dot_impl<T, float, float>,
          &l2sq_impl<T, float, float>,
          &rows_impl<T, false, float>,
          &rows_impl<T, true, float>,
          &dot_block_impl<T>,
          &first_at_least_impl<T>,
          &hnsw_ip_impl<T, float, float>,
          &hnsw_l2_impl<T, float, float>,
          &dot_impl<T, float, Half>,
          &l2sq_impl<T, float, Half>,
          &rows_impl<T, false, Half>,
          &rows_impl<T, true, Half>,
          &hnsw_ip_impl<T, float, Half>,
          &hnsw_l2_impl<T, float, Half>,
          &hnsw_ip_impl<T, Half, Half>,
          &hnsw_l2_impl<T, Half, Half>,
          &T::dot_u8_i16,
          &hnsw_ip_sq8_impl<T>,
          &hnsw_l2_sq8_impl<T>,
          &hnsw_ip_query_sq8_impl<T>,
          &hnsw_l2_query_sq8_impl<T>,
          &to_half_impl<T>,
          &from_half_impl<T>};
}
