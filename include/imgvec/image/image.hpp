#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

/// Image container formats, as detected from a file's first bytes (never from its name).
enum class ImageFormat : std::uint8_t { unknown = 0, jpeg, png, bmp, gif, pnm, tga, psd, hdr, webp, tiff, heic, avif };

/// The format's name ("jpeg", "png", ...).
const char* to_string(ImageFormat format);

/// A decoded image: 8-bit RGB, row-major, 3 bytes per pixel, top row first, upright (EXIF
/// orientation applied).
struct Image {
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::vector<std::uint8_t> rgb;
  ImageFormat format = ImageFormat::unknown;
  /// The size the file declares, upright: width x height unless it was decoded at a reduced
  /// scale (DecodeOptions::min_side). 0 means "as width and height" (images built in memory).
  std::uint32_t full_width = 0;
  std::uint32_t full_height = 0;
  std::uint32_t file_width() const { return full_width ? full_width : width; }
  std::uint32_t file_height() const { return full_height ? full_height : height; }
};

struct DecodeOptions {
  /// Images with more pixels are refused before decoding (decompression bombs). The default is
  /// Pillow's MAX_IMAGE_PIXELS (89,478,485), which Python pipelines already live with.
  std::uint64_t max_pixels = 89478485;
  /// Encoded files larger than this are refused before decoding (and, by decode_image_file,
  /// before reading). Decoded memory is bounded by max_pixels; this bounds the rest.
  std::uint64_t max_file_bytes = std::uint64_t{1} << 30;
  /// Rotate or flip JPEG, PNG and WebP images as their EXIF orientation tag says, as a photo
  /// viewer would. (TIFF and HEIF files are always upright: their decoders apply their own
  /// orientation, as HEIF requires.)
  bool apply_exif_orientation = true;
  /// 0: decode every pixel. Otherwise a decoder that can decode at a reduced scale (JPEG, in the
  /// DCT domain: 1/2, 1/4 or 1/8, several times faster) uses the smallest scale that keeps the
  /// shorter side at least this long; Image::full_width and full_height keep the file's size.
  /// Encoders ask for twice their input size (VectorDatabase, Encoder::embed_image_files), so
  /// what they resize to differs little from an exact decode (docs/benchmarks.md measures it).
  std::uint32_t min_side = 0;
};

/// Decodes JPEG, PNG (8 and 16 bit), BMP, GIF (first frame), PNM (P5, P6), TGA, PSD and HDR.
/// Grayscale becomes RGB; alpha is composited onto white (transparent areas read as white, as in
/// most viewers and web pages). 16-bit and HDR images are reduced to 8 bits per channel.
/// Throws imgvec::Error naming `name` and the reason: unsupported format (WebP, TIFF, SVG, HEIC,
/// AVIF, ASCII or 1-bit PNM, ...), damaged data, too many pixels.
Image decode_image(const void* data, std::size_t size, const std::string& name = "image",
                   const DecodeOptions& options = {});
/// Pixels in memory, row by row, `channels` bytes each: 1 gray, 2 gray and alpha, 3 RGB, 4 RGBA.
/// Gray becomes RGB and alpha is composited onto white, as decode_image does for files.
/// Throws Error(invalid_argument) for another channel count or an empty image.
Image image_from_pixels(const std::uint8_t* pixels, std::uint32_t width, std::uint32_t height, int channels);
/// Reads and decodes a file; errors name the path.
Image decode_image_file(const std::string& path, const DecodeOptions& options = {});
/// Reads a file's bytes as decode_image_file does: a regular file of at most
/// options.max_file_bytes, in one read. Throws imgvec::Error naming the path.
std::vector<std::uint8_t> read_image_file(const std::string& path, const DecodeOptions& options = {});
/// Decodes base64 (standard or URL-safe alphabet, padding optional, whitespace ignored, an optional
/// "data:image/...;base64," prefix), as sent by web clients.
Image decode_image_base64(std::string_view base64, const DecodeOptions& options = {});
/// The bytes of base64 text, read as decode_image_base64 reads it. Throws Error(invalid_argument)
/// naming the position of a character outside the alphabets.
std::vector<std::uint8_t> decode_base64(std::string_view base64);
/// Standard base64 with padding, as web clients send images (the inverse of decode_base64).
std::string encode_base64(const void* data, std::size_t size);

/// Encodes an image as a baseline JPEG (4:2:0) of the given quality (1-100), for thumbnails and
/// previews. Throws Error(invalid_argument) for an empty or malformed image.
std::string encode_jpeg(const Image& image, int quality = 85);

/// The formats this build decodes, by name ("jpeg", "png", ...; "webp", "tiff", "heic" and "avif"
/// when their libraries were found when it was configured, and libheif has the decoder).
std::vector<std::string> supported_image_formats();

/// The format of an encoded image from its first bytes, or ImageFormat::unknown.
ImageFormat detect_image_format(const void* data, std::size_t size);

}  // namespace imgvec
IMGVEC_API_END
