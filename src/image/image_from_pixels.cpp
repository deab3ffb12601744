// Pixels in memory (gray, gray + alpha, RGB, RGBA) as an Image: the one place where alpha is
// composited onto white, for decoded files and for pixels a program hands over (a Python array,
// a PIL image), so both give the same vector.
#include "imgvec/error.hpp"
#include "imgvec/image/image.hpp"

namespace imgvec {

Image image_from_pixels(const std::uint8_t* pixels, std::uint32_t width, std::uint32_t height, int channels) {
  if (channels < 1 || channels > 4) {
    throw Error(ErrorCode::invalid_argument,
                "pixels: " + std::to_string(channels) + " channels; expected 1 (gray), 2 (gray, alpha), 3 (RGB) or 4 (RGBA)");
  }
  if (width == 0 || height == 0) throw Error(ErrorCode::invalid_argument, "pixels: an image must not be empty");
  Image image;
  image.width = width;
  image.height = height;
  const std::uint64_t n = std::uint64_t{width} * height;
  image.rgb.resize(n * 3);
  const bool alpha = channels == 2 || channels == 4;
  const int colours = alpha ? channels - 1 : channels;
  for (std::uint64_t p = 0; p < n; ++p) {
    const std::uint8_t* s = pixels + p * static_cast<std::uint64_t>(channels);
    const unsigned a = alpha ? s[channels - 1] : 255u;
    for (int c = 0; c < 3; ++c) {
      const unsigned v = s[colours == 1 ? 0 : c];
      // Transparent areas read as white, as in viewers and web pages; rounded to nearest.
      image.rgb[p * 3 + c] = alpha ? static_cast<std::uint8_t>((v * a + 255u * (255u - a) + 127u) / 255u)
                                   : static_cast<std::uint8_t>(v);
    }
  }
  return image;
}

}  // namespace imgvec
