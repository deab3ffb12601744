#include "image/exif.hpp"

#include <cstring>
#include <utility>

#include "image/decoders.hpp"

namespace imgvec::detail {
namespace {

// Reads an unsigned integer of `n` bytes at `p` in the TIFF block's byte order.
std::uint32_t read_uint(const std::uint8_t* p, int n, bool little) {
  std::uint32_t v = 0;
  for (int i = 0; i < n; ++i) {
    const int k = little ? n - 1 - i : i;
    v = (v << 8) | p[k];
  }
  return v;
}

std::uint32_t big_endian32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

std::uint32_t little_endian32(const std::uint8_t* p) {
  return std::uint32_t{p[3]} << 24 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[1]} << 8 | p[0];
}

std::string_view view(const std::uint8_t* p, std::size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

// Some writers put the JPEG segment's "Exif\0\0" before the TIFF header in other containers too.
std::string_view without_exif_prefix(std::string_view block) {
  if (block.size() >= 6 && block.compare(0, 6, std::string_view("Exif\0\0", 6)) == 0) block.remove_prefix(6);
  return block;
}

// APP1 "Exif\0\0" before the first scan.
std::string_view jpeg_block(const std::uint8_t* d, std::size_t size) {
  if (size < 4 || d[0] != 0xFF || d[1] != 0xD8) return {};
  std::size_t i = 2;
  while (i + 4 <= size) {
    if (d[i] != 0xFF) return {};
    const std::uint8_t marker = d[i + 1];
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01 || marker == 0xFF) {
      i += marker == 0xFF ? 1 : 2;  // fill bytes and stand-alone markers carry no length
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) return {};  // image data starts: no EXIF before it
    const std::size_t length = (static_cast<std::size_t>(d[i + 2]) << 8) | d[i + 3];
    if (length < 2 || i + 2 + length > size) return {};
    const std::uint8_t* body = d + i + 4;
    const std::size_t body_size = length - 2;
    if (marker == 0xE1 && body_size >= 6 && std::memcmp(body, "Exif\0\0", 6) == 0) {
      return view(body + 6, body_size - 6);
    }
    i += 2 + length;
  }
  return {};
}

// PNG chunks: length (big-endian), type, data, CRC. eXIf may sit anywhere between IHDR and IEND.
std::string_view png_block(const std::uint8_t* d, std::size_t size) {
  std::size_t i = 8;
  while (i + 12 <= size) {
    const std::size_t length = big_endian32(d + i);
    if (length > size - i - 12) return {};
    if (std::memcmp(d + i + 4, "eXIf", 4) == 0) return without_exif_prefix(view(d + i + 8, length));
    if (std::memcmp(d + i + 4, "IEND", 4) == 0) return {};
    i += 12 + length;
  }
  return {};
}

// RIFF chunks after "RIFF" size "WEBP": fourcc, size (little-endian), data padded to even.
std::string_view webp_block(const std::uint8_t* d, std::size_t size) {
  std::size_t i = 12;
  while (i + 8 <= size) {
    const std::size_t length = little_endian32(d + i + 4);
    if (length > size - i - 8) return {};
    if (std::memcmp(d + i, "EXIF", 4) == 0) return without_exif_prefix(view(d + i + 8, length));
    i += 8 + length + (length & 1);
  }
  return {};
}

}  // namespace

int exif_orientation(std::string_view block) {
  const auto* t = reinterpret_cast<const std::uint8_t*>(block.data());
  const std::size_t size = block.size();
  if (size < 8) return 1;
  bool little;
  if (t[0] == 'I' && t[1] == 'I') little = true;
  else if (t[0] == 'M' && t[1] == 'M') little = false;
  else return 1;
  if (read_uint(t + 2, 2, little) != 42) return 1;
  const std::uint32_t ifd = read_uint(t + 4, 4, little);
  if (ifd > size - 2 || ifd < 8) return 1;
  const std::uint32_t entries = read_uint(t + ifd, 2, little);
  for (std::uint32_t e = 0; e < entries; ++e) {
    const std::size_t at = ifd + 2 + static_cast<std::size_t>(e) * 12;
    if (at + 12 > size) return 1;
    if (read_uint(t + at, 2, little) != 0x0112) continue;  // Orientation
    if (read_uint(t + at + 2, 2, little) != 3) return 1;   // must be SHORT
    const std::uint32_t value = read_uint(t + at + 8, 2, little);
    return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
  }
  return 1;
}

ExifBlock find_exif_block(const std::uint8_t* d, std::size_t size, ImageFormat format) {
  ExifBlock block;
  if (d == nullptr) return block;
  switch (format) {
    case ImageFormat::jpeg: block.bytes = jpeg_block(d, size); break;
    case ImageFormat::png: block.bytes = png_block(d, size); break;
    case ImageFormat::webp: block.bytes = webp_block(d, size); break;
    case ImageFormat::tiff: block.bytes = view(d, size); break;  // a TIFF file is the structure
#ifdef IMGVEC_HAS_HEIF
    case ImageFormat::heic:
    case ImageFormat::avif:
      block.owned = heif_exif(d, size);
      block.bytes = without_exif_prefix(view(block.owned.data(), block.owned.size()));
      break;
#endif
    default: break;
  }
  return block;
}

int jpeg_exif_orientation(const std::uint8_t* d, std::size_t size) {
  return exif_orientation(jpeg_block(d, size));
}

void apply_orientation(int orientation, std::uint32_t& width, std::uint32_t& height,
                       std::vector<std::uint8_t>& rgb) {
  if (orientation <= 1 || orientation > 8) return;
  const std::size_t w = width, h = height;
  const bool swap = orientation >= 5;
  const std::size_t ow = swap ? h : w, oh = swap ? w : h;
  std::vector<std::uint8_t> out(rgb.size());
  for (std::size_t y = 0; y < oh; ++y) {
    for (std::size_t x = 0; x < ow; ++x) {
      // (sx, sy): the stored pixel that shows at (x, y) once upright; EXIF 2.3, tag 0x0112.
      std::size_t sx = x, sy = y;
      switch (orientation) {
        case 2: sx = w - 1 - x; break;                     // mirrored
        case 3: sx = w - 1 - x; sy = h - 1 - y; break;     // rotated 180
        case 4: sy = h - 1 - y; break;                     // flipped
        case 5: sx = y; sy = x; break;                     // transposed
        case 6: sx = y; sy = h - 1 - x; break;             // needs 90 clockwise
        case 7: sx = w - 1 - y; sy = h - 1 - x; break;     // transversed
        case 8: sx = w - 1 - y; sy = x; break;             // needs 90 counter-clockwise
      }
      const std::uint8_t* s = &rgb[(sy * w + sx) * 3];
      std::uint8_t* o = &out[(y * ow + x) * 3];
      o[0] = s[0];
      o[1] = s[1];
      o[2] = s[2];
    }
  }
  rgb.swap(out);
  width = static_cast<std::uint32_t>(ow);
  height = static_cast<std::uint32_t>(oh);
}

}  // namespace imgvec::detail
