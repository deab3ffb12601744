#pragma once
// A std::vector whose storage starts on a cache line. glibc's malloc returns 16-byte aligned blocks
// (large ones at a page plus 16 bytes), so every 64-byte AVX-512 load of such a buffer spans two
// lines. Measured for the batched exact search's query panel (Intel Xeon, Sapphire Rapids class,
// AVX-512, one core): the panel kernel at 132 GFLOP/s from a malloc'ed panel, 150 from one on a line.

#include <cstddef>
#include <new>
#include <vector>

namespace imgvec::detail::simd {

inline constexpr std::size_t kCacheLine = 64;

template <typename T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) noexcept {}  // NOLINT: rebinding is implicit
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{kCacheLine}));
  }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t{kCacheLine}); }
  template <typename U>
  bool operator==(const CacheLineAllocator<U>&) const noexcept {
    return true;
  }
};

template <typename T>
using AlignedVector = std::vector<T, CacheLineAllocator<T>>;

}  // namespace imgvec::detail::simd
