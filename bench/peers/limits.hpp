#pragma once
// This machine's limits, measured in the same run as the benchmarks they bound.

#include <cstddef>

namespace imgvec::bench {

/// GB/s reading `bytes` of memory sequentially on `threads` threads (a sum the compiler cannot
/// drop), best of a few passes.
double read_bandwidth_gbs(std::size_t bytes, std::size_t threads);
/// Seconds to read n floats sequentially on the calling thread (a sum the compiler cannot drop).
double stream_read_seconds(const float* data, std::size_t n);
/// GFLOP/s of independent fused multiply-adds on registers, per `threads` threads: the FMA peak
/// of the widest vectors the machine has, or with `avx2` of 256-bit vectors (the bound for the
/// AVX2 kernels, on a machine that also has AVX-512).
double fma_peak_gflops(std::size_t threads, bool avx2 = false);
/// GFLOP/s of the system BLAS's sgemm (OpenBLAS on Debian with libopenblas0) at n x n x n.
double sgemm_gflops(std::size_t n, std::size_t threads);

}  // namespace imgvec::bench
