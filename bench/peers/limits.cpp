// Built with -O3 -march=native in the bench-only peer library: a limit is measured with
// everything the machine has.
#include "peers/limits.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include <immintrin.h>

extern "C" void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
                       const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
                       const float* beta, float* c, const int* ldc);

namespace imgvec::bench {
namespace {

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

template <typename Fn>
void on_threads(std::size_t threads, Fn&& fn) {
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(fn, t);
  for (auto& th : pool) th.join();
}

}  // namespace

static double sum_floats(const float* data, std::size_t lo, std::size_t hi) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  std::size_t i = lo;
  for (; i + 32 <= hi; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(data + i));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(data + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_loadu_ps(data + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_loadu_ps(data + i + 24));
  }
  float tmp[8];
  _mm256_storeu_ps(tmp, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  double s = 0;
  for (float v : tmp) s += v;
  for (; i < hi; ++i) s += data[i];
  return s;
}

double read_bandwidth_gbs(std::size_t bytes, std::size_t threads) {
  const std::size_t n = bytes / sizeof(float);
  std::vector<float> data(n, 1.0f);
  std::vector<double> sums(threads);
  double best = 0;
  for (int pass = 0; pass < 5; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    on_threads(threads, [&](std::size_t t) {
      sums[t] = sum_floats(data.data(), n * t / threads, n * (t + 1) / threads);
    });
    best = std::max(best, static_cast<double>(bytes) / seconds(t0) / 1e9);
  }
  volatile double sink = sums[0];
  (void)sink;
  return best;
}

double stream_read_seconds(const float* data, std::size_t n) {
  const auto t0 = std::chrono::steady_clock::now();
  volatile double sink = sum_floats(data, 0, n);
  (void)sink;
  return seconds(t0);
}

namespace {

// Lanes of one vector width, for the FMA chains below.
struct Fma256 {
  using V = __m256;
  static constexpr int kLanes = 8;
  static V set(float x) { return _mm256_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static float first(V v) { return _mm256_cvtss_f32(v); }
};
#if defined(__AVX512F__)
struct Fma512 {
  using V = __m512;
  static constexpr int kLanes = 16;
  static V set(float x) { return _mm512_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static float first(V v) { return _mm512_cvtss_f32(v); }
};
using FmaWidest = Fma512;
#else
using FmaWidest = Fma256;
#endif

// 12 independent accumulators hide the FMA latency on both FMA ports.
template <typename T>
float fma_chains(long iters) {
  typename T::V acc[12];
  for (auto& a : acc) a = T::set(0.0f);
  const typename T::V x = T::set(0.999999f), y = T::set(1e-7f);
  for (long i = 0; i < iters; ++i) {
    for (auto& a : acc) a = T::fma(a, x, y);
  }
  float s = 0;
  for (auto& a : acc) s += T::first(a);
  return s;
}

template <typename T>
double fma_pass_gflops(std::size_t threads) {
  constexpr long kIters = 20'000'000;
  std::vector<float> out(threads);
  const auto t0 = std::chrono::steady_clock::now();
  on_threads(threads, [&](std::size_t t) { out[t] = fma_chains<T>(kIters); });
  const double flops = 2.0 * 12 * kIters * static_cast<double>(threads) * T::kLanes;
  volatile float sink = out[0];
  (void)sink;
  return flops / seconds(t0) / 1e9;
}

}  // namespace

// A peak is what the machine can do: the best of several passes, so that a moment of contention on
// this shared VM does not lower the bar (a single 35 ms pass measured 184 instead of 223 GFLOP/s).
double fma_peak_gflops(std::size_t threads, bool avx2) {
  double best = 0;
  for (int pass = 0; pass < 5; ++pass) {
    best = std::max(best, avx2 ? fma_pass_gflops<Fma256>(threads) : fma_pass_gflops<FmaWidest>(threads));
  }
  return best;
}

double sgemm_gflops(std::size_t n, std::size_t threads) {
  omp_set_num_threads(static_cast<int>(threads));
  std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n, 0.0f);
  const int m = static_cast<int>(n);
  const float one = 1.0f, zero = 0.0f;
  sgemm_("N", "N", &m, &m, &m, &one, a.data(), &m, b.data(), &m, &zero, c.data(), &m);  // warm up
  double best = 0;
  for (int pass = 0; pass < 3; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    sgemm_("N", "N", &m, &m, &m, &one, a.data(), &m, b.data(), &m, &zero, c.data(), &m);
    best = std::max(best, 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) / seconds(t0) / 1e9);
  }
  return best;
}

}  // namespace imgvec::bench
