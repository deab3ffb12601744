// stb_image's implementation, compiled once, with every function static so that a program that
// also links Debian's libstb (or its own copy) sees no duplicate symbols. Only the formats no
// maintained, fuzzed library covers here go through it (BMP, TGA, PSD); JPEG, PNG, PNM, GIF and
// HDR are compiled out, so a file can never reach stb's decoders for those by a crafted
// signature. The header is Debian's, patched at configure time (cmake/PatchStb.cmake, see
// third_party/README.md).
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_NO_STDIO  // imgvec reads files itself and hands stb bytes
#define STBI_FAILURE_USERMSG
#define STBI_NO_PIC  // Softimage PIC: no signature, rarely seen; keeps the supported list exact
#define STBI_NO_JPEG
#define STBI_NO_PNG
#define STBI_NO_PNM
#define STBI_NO_GIF  // giflib (gif_decoder.cpp)
#define STBI_NO_HDR  // hdr_decoder.cpp
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#endif
#include <imgvec_stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include <climits>
#include <cstring>
#include <memory>

#include "image/decoders.hpp"

namespace imgvec::detail {

RawImage decode_with_stb(const std::uint8_t* data, std::size_t size, ImageFormat& format, const std::string& name,
                         const DecodeOptions& options) {
  if (size > static_cast<std::size_t>(INT_MAX)) decode_fail(ErrorCode::invalid_argument, name, "larger than 2 GiB");
  const int n = static_cast<int>(size);
  int width = 0, height = 0, channels = 0;
  if (!stbi_info_from_memory(data, n, &width, &height, &channels)) {
    if (format == ImageFormat::unknown) {
      decode_fail(ErrorCode::unsupported, name,
                  std::string("not a recognised image format (imgvec decodes ") + supported_formats_text() + ")");
    }
    decode_fail(ErrorCode::corrupt_file, name, std::string("damaged ") + to_string(format) + " data");
  }
  if (format == ImageFormat::unknown) format = ImageFormat::tga;
  check_dimensions(name, static_cast<std::uint64_t>(std::max(width, 0)), static_cast<std::uint64_t>(std::max(height, 0)),
                   options);
  const bool alpha = channels == 2 || channels == 4;
  const int want = alpha ? 4 : 3;
  std::unique_ptr<stbi_uc, void (*)(void*)> out(stbi_load_from_memory(data, n, &width, &height, &channels, want),
                                                stbi_image_free);
  if (!out) {
    const char* why = stbi_failure_reason();
    decode_fail(ErrorCode::corrupt_file, name,
                std::string("damaged ") + to_string(format) + " data (" + (why ? why : "unknown decoder error") + ")");
  }
  // The decode must describe the image the header promised: the limit was checked on that.
  check_dimensions(name, static_cast<std::uint64_t>(std::max(width, 0)), static_cast<std::uint64_t>(std::max(height, 0)),
                   options);
  RawImage img;
  img.width = static_cast<std::uint32_t>(width);
  img.height = static_cast<std::uint32_t>(height);
  img.alpha = alpha;
  img.pixels.assign(out.get(), out.get() + static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * want);
  return img;
}

}  // namespace imgvec::detail
