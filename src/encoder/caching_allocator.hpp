#pragma once

#include <cstddef>

namespace imgvec::detail {

/// Makes libtorch's CPU tensors come from a cache of freed blocks, keyed by exact size, instead
/// of straight from malloc. A model call allocates the same activation sizes every time; glibc
/// serves blocks over its mmap threshold with fresh pages from the kernel and gives them back on
/// free, so every call page-faults through hundreds of megabytes: ViT-B/32 at batch 8 measured
/// 103 ms/image that way and 49 ms/image with the pages kept. Process-wide and idempotent;
/// blocks from the default allocator keep their own deleter. At most `max_cached_bytes` of
/// free blocks are kept.
void install_caching_cpu_allocator(std::size_t max_cached_bytes);

/// Bytes held in free blocks now (for tests and statistics).
std::size_t cached_cpu_bytes();

}  // namespace imgvec::detail
