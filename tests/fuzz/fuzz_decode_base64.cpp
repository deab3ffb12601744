// Base64 and data: URIs, as web clients send images.
#include <cstdint>
#include <string_view>

#include "imgvec/error.hpp"
#include "imgvec/image/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  imgvec::DecodeOptions options;
  options.max_pixels = 1 << 18;
  try {
    imgvec::decode_image_base64(std::string_view(reinterpret_cast<const char*>(data), size),
                                options);
  } catch (const imgvec::Error&) {
  }
  return 0;
}
