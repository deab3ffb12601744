// The EXIF orientation reader on arbitrary bytes (JPEG APP1 segments, TIFF structures inside).
// decode_image reaches it only after a successful JPEG decode, so it gets its own target.
#include <cstdint>

#include "image/exif.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const int orientation = imgvec::detail::jpeg_exif_orientation(data, size);
  if (orientation < 1 || orientation > 8) __builtin_trap();
  return 0;
}
