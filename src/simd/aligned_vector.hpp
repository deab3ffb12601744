#pragma once
// A std::vector whose storage starts on a cache line. glibc's malloc returns 16-byte aligned blocks
// (large ones at a page plus 16 bytes), so every 64-byte AVX-512 load of such a buffer spans two
// lines. Measured for the batched exact search's query panel (Intel Xeon, Sapphire Rapids class,
// AVX-512, one core): the panel kernel at 132 GFLOP/s from a malloc'ed panel, 150 from one on a line.
//
// Blocks of kHugePageMinBytes or more (an index's vectors) start on a 2 MiB boundary and ask for
// transparent huge pages (advise_huge_pages): a scan of 100k x 512 floats touches 50k 4 KiB pages,
// one TLB miss per two rows. Measured with the batched exact search at 100k x 512, 64 queries, one
// thread (Intel Xeon, Sapphire Rapids class): the panel kernel streaming 100k rows 158 -> 164
// GFLOP/s (best of 3), 163 -> 175 with the rows in L2 (the rest of the gap is the memory).

#include <cstddef>
#include <new>
#include <vector>

namespace imgvec::detail::simd {

inline constexpr std::size_t kCacheLine = 64;
inline constexpr std::size_t kHugePage = std::size_t{2} << 20;
inline constexpr std::size_t kHugePageMinBytes = std::size_t{4} << 20;

/// Asks the kernel for 2 MiB pages under the whole huge pages of [start, start + bytes) (Linux's
/// transparent huge pages in "madvise" mode, Debian's default, give them only to regions that
/// ask); regions under kHugePageMinBytes are left alone. Advice only: failure changes nothing.
void advise_huge_pages(const void* start, std::size_t bytes);

/// Aligned storage of `bytes` bytes: on a cache line, or on a huge page boundary with huge pages
/// advised when bytes >= kHugePageMinBytes. Free with free_aligned and the same byte count.
void* allocate_aligned(std::size_t bytes);
void free_aligned(void* p, std::size_t bytes) noexcept;

template <typename T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) noexcept {}  // NOLINT: rebinding is implicit
  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(allocate_aligned(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept { free_aligned(p, n * sizeof(T)); }
  template <typename U>
  bool operator==(const CacheLineAllocator<U>&) const noexcept {
    return true;
  }
};

template <typename T>
using AlignedVector = std::vector<T, CacheLineAllocator<T>>;

}  // namespace imgvec::detail::simd
