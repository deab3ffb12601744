#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace imgvec::detail {

/// The EXIF orientation (1-8) of a JPEG, or 1 when it has none or the data is malformed.
int jpeg_exif_orientation(const std::uint8_t* data, std::size_t size);

/// Turns pixels stored with EXIF `orientation` upright, swapping width and height for 5-8.
void apply_orientation(int orientation, std::uint32_t& width, std::uint32_t& height,
                       std::vector<std::uint8_t>& rgb);

}  // namespace imgvec::detail
