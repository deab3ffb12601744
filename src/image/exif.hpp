#pragma once
// Finding a file's EXIF data and reading its orientation. The facts people filter by (date taken,
// camera, GPS) are read from the same block by photo_facts.cpp, through libexif.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "imgvec/image/image.hpp"

namespace imgvec::detail {

/// A file's EXIF data: the TIFF-structured block ("II*\0..." or "MM\0*...") that every container
/// embeds, without any "Exif\0\0" prefix. `bytes` points into the file, or into `owned` when the
/// block had to be copied out (HEIF). Move-only, so `bytes` never dangles.
struct ExifBlock {
  std::string_view bytes;
  std::vector<std::uint8_t> owned;

  ExifBlock() = default;
  ExifBlock(ExifBlock&&) = default;
  ExifBlock& operator=(ExifBlock&&) = default;
  ExifBlock(const ExifBlock&) = delete;
  ExifBlock& operator=(const ExifBlock&) = delete;
  bool empty() const { return bytes.empty(); }
};

/// The EXIF block of an encoded file of `format`: a JPEG's APP1 segment, a PNG's eXIf chunk, a
/// WebP's EXIF chunk, a TIFF file itself, a HEIC or AVIF file's Exif item (when built with
/// libheif). Empty when there is none or the container is malformed; never throws.
ExifBlock find_exif_block(const std::uint8_t* data, std::size_t size, ImageFormat format);

/// The orientation (1-8) in an EXIF block, or 1 when it has none or the block is malformed.
int exif_orientation(std::string_view tiff_block);

/// The EXIF orientation (1-8) of a JPEG, or 1 when it has none or the data is malformed.
int jpeg_exif_orientation(const std::uint8_t* data, std::size_t size);

/// Turns pixels stored with EXIF `orientation` upright, swapping width and height for 5-8.
void apply_orientation(int orientation, std::uint32_t& width, std::uint32_t& height,
                       std::vector<std::uint8_t>& rgb);

}  // namespace imgvec::detail
