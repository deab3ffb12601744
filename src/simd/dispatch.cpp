#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include "simd/kernels.hpp"

namespace imgvec::detail::simd {
namespace {

#if defined(__x86_64__)
// F16C from CPUID leaf 1 (ECX bit 29): clang 14's __builtin_cpu_supports does not know "f16c".
bool cpu_has_f16c() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C) != 0;
}
#endif

bool cpu_has(Isa isa) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  switch (isa) {
    case Isa::scalar: return true;
    case Isa::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
    case Isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
  }
  return false;
#else
  return isa == Isa::scalar;
#endif
}

const Kernels* select() {
  // IMGVEC_SIMD lets tests and benchmarks compare instruction sets on one machine. An unsupported
  // request falls back to the best available rather than crashing on an illegal instruction.
  if (const char* want = std::getenv("IMGVEC_SIMD")) {
    for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512}) {
      const Kernels* k = for_isa(isa);
      if (k && std::strcmp(k->name, want) == 0) return k;
    }
  }
  for (Isa isa : {Isa::avx512, Isa::avx2}) {
    if (const Kernels* k = for_isa(isa)) return k;
  }
  return &kScalarKernels;
}

}  // namespace

const Kernels* for_isa(Isa isa) {
  if (!cpu_has(isa)) return nullptr;
  switch (isa) {
    case Isa::scalar: return &kScalarKernels;
#if defined(__x86_64__)
    case Isa::avx2: return &kAvx2Kernels;
    case Isa::avx512: return &kAvx512Kernels;
#else
    default: return nullptr;
#endif
  }
  return nullptr;
}

const Kernels& active() {
  static const Kernels* const kernels = select();
  return *kernels;
}

}  // namespace imgvec::detail::simd
