// Finding the EXIF block in each container and reading its orientation, on arbitrary bytes: the
// first byte picks the container. decode_image reaches this only after a successful decode, so it
// gets its own target.
#include <cstdint>

#include "image/exif.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using imgvec::ImageFormat;
  if (size == 0) return 0;
  const ImageFormat formats[] = {ImageFormat::jpeg, ImageFormat::png, ImageFormat::webp, ImageFormat::tiff,
                                 ImageFormat::heic};
  const ImageFormat format = formats[data[0] % 5];
  const imgvec::detail::ExifBlock block = imgvec::detail::find_exif_block(data + 1, size - 1, format);
  if (!block.empty() && (block.bytes.data() < reinterpret_cast<const char*>(data) ||
                         block.bytes.data() + block.bytes.size() > reinterpret_cast<const char*>(data + size)) &&
      block.owned.empty()) {
    __builtin_trap();  // a block outside the input
  }
  const int orientation = imgvec::detail::exif_orientation(block.bytes);
  if (orientation < 1 || orientation > 8) __builtin_trap();
  if (imgvec::detail::jpeg_exif_orientation(data, size) < 1) __builtin_trap();
  return 0;
}
