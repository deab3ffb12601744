// HEIC (HEVC) and AVIF (AV1) through libheif, with whichever decoders Debian's libheif carries
// (libde265, dav1d or libaom). The primary image is decoded with its transformations (rotation,
// mirroring, cropping) applied, which is how HEIF stores orientation; an image sequence or a
// burst gives its primary image.
#include <libheif/heif.h>

#include <cstring>

#include "image/decoders.hpp"

namespace imgvec::detail {

bool heif_decodes(ImageFormat format) {
  return heif_have_decoder_for_format(format == ImageFormat::avif ? heif_compression_AV1
                                                                  : heif_compression_HEVC) != 0;
}

RawImage decode_heif(const std::uint8_t* data, std::size_t size, ImageFormat format,
                     const std::string& name, const DecodeOptions& options) {
  const char* kind = format == ImageFormat::avif ? "avif" : "heic";
  if (!heif_decodes(format)) {
    decode_fail(ErrorCode::unsupported, name,
                std::string(format == ImageFormat::avif ? "AVIF" : "HEIC") +
                    " images need a decoder this build's libheif lacks (libde265 for HEIC; dav1d "
                    "or libaom for AVIF)");
  }
  struct Resources {
    heif_context* ctx = heif_context_alloc();
    heif_image_handle* handle = nullptr;
    heif_image* image = nullptr;
    ~Resources() {
      if (image) heif_image_release(image);
      if (handle) heif_image_handle_release(handle);
      if (ctx) heif_context_free(ctx);
    }
  } r;
  if (!r.ctx) decode_fail(ErrorCode::io, name, "cannot start the HEIF decoder");
  auto check = [&](heif_error e, const char* what) {
    if (e.code != heif_error_Ok) {
      decode_fail(
          e.code == heif_error_Unsupported_feature || e.code == heif_error_Unsupported_filetype
              ? ErrorCode::unsupported
              : ErrorCode::corrupt_file,
          name, std::string("damaged ") + kind + " data (" + what + ": " + e.message + ")");
    }
  };
  // libheif refuses images larger than this on either side before it decodes them.
  heif_context_set_maximum_image_size_limit(r.ctx, 1 << 16);
  check(heif_context_read_from_memory_without_copy(r.ctx, data, size, nullptr), "reading");
  check(heif_context_get_primary_image_handle(r.ctx, &r.handle), "no primary image");
  check_dimensions(name, static_cast<std::uint64_t>(heif_image_handle_get_width(r.handle)),
                   static_cast<std::uint64_t>(heif_image_handle_get_height(r.handle)), options);
  const bool alpha = heif_image_handle_has_alpha_channel(r.handle) != 0;
  check(heif_decode_image(r.handle, &r.image, heif_colorspace_RGB,
                          alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB,
                          nullptr),
        "decoding");
  const int width = heif_image_get_width(r.image, heif_channel_interleaved);
  const int height = heif_image_get_height(r.image, heif_channel_interleaved);
  check_dimensions(name, static_cast<std::uint64_t>(width < 0 ? 0 : width),
                   static_cast<std::uint64_t>(height < 0 ? 0 : height), options);
  int stride = 0;
  const std::uint8_t* plane =
      heif_image_get_plane_readonly(r.image, heif_channel_interleaved, &stride);
  if (!plane)
    decode_fail(ErrorCode::corrupt_file, name,
                std::string("damaged ") + kind + " data (no pixels)");
  RawImage out;
  out.width = static_cast<std::uint32_t>(width);
  out.height = static_cast<std::uint32_t>(height);
  out.alpha = alpha;
  const std::size_t row = std::size_t{out.width} * (alpha ? 4 : 3);
  out.pixels.resize(row * out.height);
  for (std::uint32_t y = 0; y < out.height; ++y) {
    std::memcpy(&out.pixels[y * row],
                plane + static_cast<std::size_t>(y) * static_cast<std::size_t>(stride), row);
  }
  return out;
}

}  // namespace imgvec::detail

namespace imgvec::detail {

std::vector<std::uint8_t> heif_exif(const std::uint8_t* data, std::size_t size) {
  // A real photo's EXIF is tens of kilobytes; a hostile file could declare gigabytes.
  constexpr std::size_t kExifLimit = 1 << 20;
  std::vector<std::uint8_t> out;
  heif_context* ctx = heif_context_alloc();
  if (!ctx) return out;
  heif_image_handle* handle = nullptr;
  if (heif_context_read_from_memory_without_copy(ctx, data, size, nullptr).code == heif_error_Ok &&
      heif_context_get_primary_image_handle(ctx, &handle).code == heif_error_Ok) {
    heif_item_id id = 0;
    if (heif_image_handle_get_list_of_metadata_block_IDs(handle, "Exif", &id, 1) == 1) {
      const std::size_t n = heif_image_handle_get_metadata_size(handle, id);
      std::vector<std::uint8_t> item(n);
      // The item starts with a big-endian offset from its end to the TIFF header (ISO 23008-12).
      if (n >= 4 && n <= kExifLimit &&
          heif_image_handle_get_metadata(handle, id, item.data()).code == heif_error_Ok) {
        const std::size_t skip = std::size_t{item[0]} << 24 | std::size_t{item[1]} << 16 |
                                 std::size_t{item[2]} << 8 | item[3];
        if (skip <= n - 4) out.assign(item.begin() + 4 + static_cast<std::ptrdiff_t>(skip), item.end());
      }
    }
  }
  if (handle) heif_image_handle_release(handle);
  heif_context_free(ctx);
  return out;
}

}  // namespace imgvec::detail
