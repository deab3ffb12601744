// stb_image's implementation, compiled once, with every function static so that a program that
// also links Debian's libstb (or its own copy) sees no duplicate symbols.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_NO_STDIO  // imgvec reads files itself and hands stb bytes
#define STBI_FAILURE_USERMSG
#define STBI_NO_PIC  // Softimage PIC: no signature, rarely seen; keeps the supported list exact
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include <climits>
#include <cstring>

#include "image/stb_decoder.hpp"

namespace imgvec::detail {

bool stb_info(const std::uint8_t* data, std::size_t size, StbInfo& info) {
  if (size > static_cast<std::size_t>(INT_MAX)) return false;
  return stbi_info_from_memory(data, static_cast<int>(size), &info.width, &info.height,
                               &info.channels) != 0;
}

bool stb_decode(const std::uint8_t* data, std::size_t size, int channels,
                std::vector<std::uint8_t>& pixels, StbInfo& info, std::string& reason) {
  if (size > static_cast<std::size_t>(INT_MAX)) {
    reason = "larger than 2 GiB";
    return false;
  }
  stbi_uc* out = stbi_load_from_memory(data, static_cast<int>(size), &info.width, &info.height,
                                       &info.channels, channels);
  if (!out) {
    const char* why = stbi_failure_reason();
    reason = why ? why : "unknown decoder error";
    return false;
  }
  const std::size_t bytes =
      static_cast<std::size_t>(info.width) * static_cast<std::size_t>(info.height) * channels;
  pixels.assign(out, out + bytes);
  stbi_image_free(out);
  return true;
}

}  // namespace imgvec::detail
