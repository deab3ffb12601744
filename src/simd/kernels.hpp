#pragma once

#include <cstddef>

namespace imgvec::detail::simd {

/// Instruction sets with their own kernels. Values appear in IMGVEC_SIMD and benchmark output.
enum class Isa { scalar = 0, avx2 = 1, avx512 = 2 };

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

  /// Batched inner products, the GEMM-like path. `pack_panel` copies up to panel_width rows of x
  /// (row i at x + i * d) into `panel` transposed, d groups of panel_width floats, padding missing
  /// rows with zeros. `dot_panel` then computes out[i * ldo + j] = <q_i, x_j> for nq queries (query
  /// i at q + i * ldq) and all panel_width rows of the panel.
  std::size_t panel_width;
  void (*pack_panel)(const float* x, std::size_t rows, std::size_t d, float* panel);
  void (*dot_panel)(const float* q, std::size_t nq, std::size_t ldq, const float* panel,
                    std::size_t d, float* out, std::size_t ldo);

  /// hnswlib's distance signature; the parameter points at the dimension as a size_t.
  /// hnsw_ip returns 1 - <a, b>, hnsw_l2 returns |a - b|^2.
  float (*hnsw_ip)(const void* a, const void* b, const void* dim);
  float (*hnsw_l2)(const void* a, const void* b, const void* dim);
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
