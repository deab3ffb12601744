#pragma once
// The per-format decoders behind decode_image() (decode.cpp), and what they share. Each decoder
// reads the dimensions first and checks them against the limits before it allocates pixels.
//
//   JPEG  libjpeg-turbo (TurboJPEG API)   jpeg_decoder.cpp
//   PNG   libspng                         png_decoder.cpp
//   PNM   imgvec's own (pnm_decoder.cpp: netpbm's library reports errors by exiting)
//   WebP  libwebp (+ libwebpdemux)        webp_decoder.cpp   when found at configure time
//   TIFF  libtiff                         tiff_decoder.cpp   when found at configure time
//   HEIC, AVIF  libheif                   heif_decoder.cpp   when found at configure time
//   GIF   giflib                          gif_decoder.cpp
//   HDR   imgvec's own (hdr_decoder.cpp: 8-bit output a scanline at a time)
//   BMP, TGA, PSD   stb_image, patched (stb_decoder.cpp, third_party/README.md)

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "imgvec/error.hpp"
#include "imgvec/image/image.hpp"

namespace imgvec::detail {

/// Decoded pixels, 8 bits per channel: RGB, or RGBA when the image has transparency.
struct RawImage {
  std::uint32_t width = 0, height = 0;
  bool alpha = false;
  std::vector<std::uint8_t> pixels;
  /// The file's size, when decoded at a reduced scale (DecodeOptions::min_side); else 0.
  std::uint32_t full_width = 0, full_height = 0;
};

[[noreturn]] inline void decode_fail(ErrorCode code, const std::string& name,
                                     const std::string& what) {
  throw Error(code, name + ": " + what);
}

/// "JPEG, PNG, ..., WebP, TIFF": what this build decodes, for error messages.
const char* supported_formats_text();

/// Throws unless 0 < width, height and width * height <= options.max_pixels.
void check_dimensions(const std::string& name, std::uint64_t width, std::uint64_t height,
                      const DecodeOptions& options);

RawImage decode_jpeg(const std::uint8_t* data, std::size_t size, const std::string& name,
                     const DecodeOptions& options);
RawImage decode_png(const std::uint8_t* data, std::size_t size, const std::string& name,
                    const DecodeOptions& options);
RawImage decode_pnm(const std::uint8_t* data, std::size_t size, const std::string& name,
                    const DecodeOptions& options);
RawImage decode_gif(const std::uint8_t* data, std::size_t size, const std::string& name,
                    const DecodeOptions& options);
RawImage decode_hdr(const std::uint8_t* data, std::size_t size, const std::string& name,
                    const DecodeOptions& options);
#ifdef IMGVEC_HAS_WEBP
RawImage decode_webp(const std::uint8_t* data, std::size_t size, const std::string& name,
                     const DecodeOptions& options);
#endif
#ifdef IMGVEC_HAS_HEIF
/// Whether libheif has a decoder for `format` (heic or avif) here.
bool heif_decodes(ImageFormat format);
RawImage decode_heif(const std::uint8_t* data, std::size_t size, ImageFormat format, const std::string& name,
                     const DecodeOptions& options);
/// The primary image's EXIF item without its offset field (the TIFF block, maybe after
/// "Exif\0\0"), or empty. Never throws.
std::vector<std::uint8_t> heif_exif(const std::uint8_t* data, std::size_t size);
#endif
#ifdef IMGVEC_HAS_TIFF
RawImage decode_tiff(const std::uint8_t* data, std::size_t size, const std::string& name,
                     const DecodeOptions& options);
#endif
/// BMP, GIF, TGA, PSD, HDR. `format` is what the signature said (unknown: maybe TGA).
RawImage decode_with_stb(const std::uint8_t* data, std::size_t size, ImageFormat& format,
                         const std::string& name, const DecodeOptions& options);

}  // namespace imgvec::detail
