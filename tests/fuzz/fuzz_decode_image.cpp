// Image decoding from memory: every format imgvec reads, and the EXIF orientation parser.
#include <cstdint>

#include "imgvec/error.hpp"
#include "imgvec/image/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  imgvec::DecodeOptions options;
  options.max_pixels =
      1 << 18;  // bounded work per input (512x512): every code path, more inputs per second
  // Reduced-scale decoding too, on a size picked from the input's length (the JPEG scales and
  // the full size are all reached).
  for (const std::uint32_t min_side : {0u, static_cast<std::uint32_t>(size % 97)}) {
    options.min_side = min_side;
    try {
      const imgvec::Image im = imgvec::decode_image(data, size, "fuzz", options);
      if (im.rgb.size() != std::size_t{im.width} * im.height * 3) __builtin_trap();
      if (im.file_width() < im.width || im.file_height() < im.height) __builtin_trap();
    } catch (const imgvec::Error&) {
    }
    if (min_side == 0 && size % 97 == 0) break;
  }
  return 0;
}
