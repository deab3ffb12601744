#include "simd/aligned_vector.hpp"

#include <cstdint>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace imgvec::detail::simd {

void advise_huge_pages(const void* start, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const auto begin = (reinterpret_cast<std::uintptr_t>(start) + kHugePage - 1) / kHugePage * kHugePage;
  const auto end = (reinterpret_cast<std::uintptr_t>(start) + bytes) / kHugePage * kHugePage;
  if (bytes >= kHugePageMinBytes && end > begin) {
    (void)::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
  }
#else
  (void)start;
  (void)bytes;
#endif
}

void* allocate_aligned(std::size_t bytes) {
  if (bytes < kHugePageMinBytes) return ::operator new(bytes, std::align_val_t{kCacheLine});
  // Rounded up to whole huge pages so that the advice covers the last one too.
  const std::size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* p = ::operator new(rounded, std::align_val_t{kHugePage});
  advise_huge_pages(p, rounded);
  return p;
}

void free_aligned(void* p, std::size_t bytes) noexcept {
  if (bytes < kHugePageMinBytes) {
    ::operator delete(p, std::align_val_t{kCacheLine});
  } else {
    ::operator delete(p, std::align_val_t{kHugePage});
  }
}

}  // namespace imgvec::detail::simd
