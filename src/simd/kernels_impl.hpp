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

template <typename T>
IMGVEC_KERNEL_INLINE float dot_impl(const float* a, const float* b, std::size_t d) {
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

template <typename T>
IMGVEC_KERNEL_INLINE float l2sq_impl(const float* a, const float* b, std::size_t d) {
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
template <typename T, bool kL2>
void rows_impl(const float* q, const float* x, std::size_t n, std::size_t d, float* out) {
  using V = typename T::V;
  constexpr std::size_t W = T::W;
  std::size_t r = 0;
  for (; r + 4 <= n; r += 4) {
    const float* x0 = x + r * d;
    const float* x1 = x0 + d;
    const float* x2 = x1 + d;
    const float* x3 = x2 + d;
    V s0 = T::zero(), s1 = T::zero(), s2 = T::zero(), s3 = T::zero();
    std::size_t i = 0;
    for (; i + W <= d; i += W) {
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
    out[r] = kL2 ? l2sq_impl<T>(q, x + r * d, d) : dot_impl<T>(q, x + r * d, d);
  }
}

template <typename T>
void pack_panel_impl(const float* x, std::size_t rows, std::size_t d, float* panel) {
  constexpr std::size_t P = 2 * T::W;
  for (std::size_t j = 0; j < P; ++j) {
    if (j < rows) {
      const float* row = x + j * d;
      for (std::size_t k = 0; k < d; ++k) panel[k * P + j] = row[k];
    } else {
      for (std::size_t k = 0; k < d; ++k) panel[k * P + j] = 0.0f;
    }
  }
}

// The register-blocked micro-kernel: MQ queries x 2 vectors of rows. Lanes run over rows, so the
// results need no horizontal sums; each step costs 2 loads and MQ broadcasts for 2 * MQ FMAs.
template <typename T, int MQ>
void panel_tile(const float* q, std::size_t ldq, const float* panel, std::size_t d, float* out,
                std::size_t ldo) {
  using V = typename T::V;
  constexpr std::size_t W = T::W;
  V acc[MQ][2];
  for (int i = 0; i < MQ; ++i) acc[i][0] = acc[i][1] = T::zero();
  for (std::size_t k = 0; k < d; ++k) {
    const V p0 = T::load(panel + k * 2 * W);
    const V p1 = T::load(panel + k * 2 * W + W);
    for (int i = 0; i < MQ; ++i) {
      const V b = T::bcast(q + i * ldq + k);
      acc[i][0] = T::fma(b, p0, acc[i][0]);
      acc[i][1] = T::fma(b, p1, acc[i][1]);
    }
  }
  for (int i = 0; i < MQ; ++i) {
    T::store(out + i * ldo, acc[i][0]);
    T::store(out + i * ldo + W, acc[i][1]);
  }
}

template <typename T>
void dot_panel_impl(const float* q, std::size_t nq, std::size_t ldq, const float* panel,
                    std::size_t d, float* out, std::size_t ldo) {
  constexpr std::size_t MQ = T::kTileQueries;
  std::size_t i = 0;
  for (; i + MQ <= nq; i += MQ) panel_tile<T, MQ>(q + i * ldq, ldq, panel, d, out + i * ldo, ldo);
  switch (nq - i) {
    case 0: break;
#define IMGVEC_TILE_CASE(n) \
    case n: if constexpr (n < MQ) panel_tile<T, n>(q + i * ldq, ldq, panel, d, out + i * ldo, ldo); break;
    IMGVEC_TILE_CASE(1) IMGVEC_TILE_CASE(2) IMGVEC_TILE_CASE(3) IMGVEC_TILE_CASE(4)
    IMGVEC_TILE_CASE(5) IMGVEC_TILE_CASE(6) IMGVEC_TILE_CASE(7)
#undef IMGVEC_TILE_CASE
    default: break;
  }
}

template <typename T>
float hnsw_ip_impl(const void* a, const void* b, const void* dim) {
  return 1.0f - dot_impl<T>(static_cast<const float*>(a), static_cast<const float*>(b),
                            *static_cast<const std::size_t*>(dim));
}

template <typename T>
float hnsw_l2_impl(const void* a, const void* b, const void* dim) {
  return l2sq_impl<T>(static_cast<const float*>(a), static_cast<const float*>(b),
                      *static_cast<const std::size_t*>(dim));
}

template <typename T>
constexpr imgvec::detail::simd::Kernels make_kernels(imgvec::detail::simd::Isa isa,
                                                     const char* name) {
  static_assert(T::kTileQueries <= 8, "dot_panel_impl handles remainders up to 7 queries");
  return {isa,
          name,
          &dot_impl<T>,
          &l2sq_impl<T>,
          &rows_impl<T, false>,
          &rows_impl<T, true>,
          2 * T::W,
          &pack_panel_impl<T>,
          &dot_panel_impl<T>,
          &hnsw_ip_impl<T>,
          &hnsw_l2_impl<T>};
}
