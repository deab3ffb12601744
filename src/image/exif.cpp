#include "image/exif.hpp"

#include <utility>

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

int orientation_from_tiff(const std::uint8_t* t, std::size_t size) {
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

}  // namespace

int jpeg_exif_orientation(const std::uint8_t* d, std::size_t size) {
  if (size < 4 || d[0] != 0xFF || d[1] != 0xD8) return 1;
  std::size_t i = 2;
  while (i + 4 <= size) {
    if (d[i] != 0xFF) return 1;
    const std::uint8_t marker = d[i + 1];
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01 || marker == 0xFF) {
      i += marker == 0xFF ? 1 : 2;  // fill bytes and stand-alone markers carry no length
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) return 1;  // image data starts: no EXIF before it
    const std::size_t length = (static_cast<std::size_t>(d[i + 2]) << 8) | d[i + 3];
    if (length < 2 || i + 2 + length > size) return 1;
    const std::uint8_t* body = d + i + 4;
    const std::size_t body_size = length - 2;
    if (marker == 0xE1 && body_size >= 6 && body[0] == 'E' && body[1] == 'x' && body[2] == 'i' &&
        body[3] == 'f' && body[4] == 0 && body[5] == 0) {
      return orientation_from_tiff(body + 6, body_size - 6);
    }
    i += 2 + length;
  }
  return 1;
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
