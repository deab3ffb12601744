#pragma once
// The boundary between imgvec::core and its duplicate-verification module, imgvec_photo_match.so
// (photo_match_opencv.cpp). OpenCV, and the TBB, OpenBLAS and OpenMP it brings, are loaded only
// when duplicates are verified: linked into core, they grew `imgvec --help` from 4.7 to 26 MB and
// would load libgomp before the CLI can set OMP_WAIT_POLICY (docs/design.md, "OpenMP").
// Plain C types only, so the module and core need not agree on anything but this struct.

#include <cstddef>
#include <cstdint>

namespace imgvec::detail {

constexpr int kPhotoMatchAbi = 1;

struct PhotoMatchResult {
  int same_photo;
  std::size_t matches, inliers;
  double spread, overlap, agreement;
};

struct PhotoMatchApi {
  int abi;
  const char* library;  // "OpenCV 4.6.0"
  /// Features of an 8-bit RGB image; null with a message in `error` on failure.
  void* (*features)(const std::uint8_t* rgb, std::uint32_t width, std::uint32_t height, char* error,
                    std::size_t error_size);
  void (*release)(void* features);
  std::size_t (*keypoints)(const void* features);
  std::size_t (*memory_bytes)(const void* features);
  void (*match)(const void* a, const void* b, PhotoMatchResult* out);
};

}  // namespace imgvec::detail

extern "C" {
/// The module's one exported symbol.
const imgvec::detail::PhotoMatchApi* imgvec_photo_match_api();
}
