#pragma once

#include <cstdint>

#include "imgvec/image/image.hpp"

namespace imgvec::detail {

/// A window of an RGB resize: columns [x, x + width) and rows [y, y + height) of the image that
/// resizing to full_width x full_height would give.
struct ResizeWindow {
  std::uint32_t full_width, full_height;
  std::uint32_t x, y, width, height;
};

/// Writes the window's pixels (RGB, row-major, width * height * 3 bytes) to `out`, computed as
/// Pillow's antialiased bicubic resampler computes them. The window must lie inside the full size.
void resample_bicubic(const Image& in, const ResizeWindow& window, std::uint8_t* out);

}  // namespace imgvec::detail
