#pragma once
// The differences between the libtorch versions imgvec builds against, in one place:
//   Debian's libtorch 1.13.1 (CPU) and PyTorch's libtorch 2.x (CPU, CUDA).
//
// c10::Allocator: in 1.13 `DataPtr allocate(size_t) const` is the pure virtual; in 2.x
// `allocate(size_t)` is not const, and `void copy_data(void*, const void*, size_t) const` is a
// new pure virtual. IMGVEC_C10_ALLOCATOR_METHODS(take) defines all three without `override`, so
// whichever the headers declare is overridden and the others are plain overloads; `take(n)` must
// return the allocation. This needs no version number, so a 2.x release that moved the change
// (2.3 is the first known to have it) cannot pick the wrong form.

#include <cstring>
#include <type_traits>

#include <c10/core/Allocator.h>

#define IMGVEC_C10_ALLOCATOR_METHODS(take, release)                                      \
  c10::DataPtr allocate(std::size_t n) const {                                           \
    void* p = take(n);                                                                   \
    return {p, p, &release, c10::Device(c10::DeviceType::CPU)};                          \
  }                                                                                      \
  c10::DataPtr allocate(std::size_t n) {                                                 \
    return static_cast<const std::remove_pointer_t<decltype(this)>&>(*this).allocate(n); \
  }                                                                                      \
  void copy_data(void* dest, const void* src, std::size_t count) const {                 \
    if (count) std::memcpy(dest, src, count);                                            \
  }
