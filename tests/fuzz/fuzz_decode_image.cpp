// Image decoding from memory: every format imgvec reads, and the EXIF orientation parser.
#include <cstdint>

#include "imgvec/error.hpp"
#include "imgvec/image/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  imgvec::DecodeOptions options;
  options.max_pixels =
      1 << 18;  // bounded work per input (512x512): every code path, more inputs per second
  try {
    const imgvec::Image im = imgvec::decode_image(data, size, "fuzz", options);
    if (im.rgb.size() != std::size_t{im.width} * im.height * 3) __builtin_trap();
  } catch (const imgvec::Error&) {
  }
  return 0;
}
