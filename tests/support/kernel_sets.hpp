#pragma once
// Every kernel set this CPU and build can run, for tests that check each instruction set.

#include <vector>

#include "simd/kernels.hpp"

namespace imgvec::testing {

inline std::vector<const detail::simd::Kernels*> available_kernels() {
  using detail::simd::Isa;
  std::vector<const detail::simd::Kernels*> out;
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512}) {
    if (const auto* k = detail::simd::for_isa(isa)) out.push_back(k);
  }
  return out;
}

}  // namespace imgvec::testing
