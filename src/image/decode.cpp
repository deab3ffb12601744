#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "image/exif.hpp"
#include "image/decoders.hpp"
#include "imgvec/error.hpp"
#include "imgvec/image/image.hpp"
#include "io/read_counters.hpp"

namespace imgvec {
namespace {

constexpr const char* kSupported = "JPEG, PNG, BMP, GIF, PNM (P5/P6), TGA, PSD, HDR"
#ifdef IMGVEC_HAS_WEBP
                                   ", WebP"
#endif
#ifdef IMGVEC_HAS_TIFF
                                   ", TIFF"
#endif
#ifdef IMGVEC_HAS_HEIF
                                   ", HEIC, AVIF"
#endif
    ;

// The literal's own length, not strlen: several signatures contain zero bytes.
template <std::size_t N>
bool starts_with(const std::uint8_t* d, std::size_t n, const char (&magic)[N], std::size_t at = 0) {
  constexpr std::size_t m = N - 1;
  return n >= at + m && std::memcmp(d + at, magic, m) == 0;
}

// An ISO media file's brands (the ftyp box: size, "ftyp", major brand, version, compatible
// brands): AVIF when one is avif or avis, HEIC when one is an HEVC or generic image brand.
ImageFormat heif_brand(const std::uint8_t* d, std::size_t n) {
  const std::size_t box =
      n >= 4 ? (std::size_t{d[0]} << 24 | std::size_t{d[1]} << 16 | std::size_t{d[2]} << 8 | d[3]) : 0;
  const std::size_t end = std::min(n, box);
  bool heic = false;
  for (std::size_t at = 8; at + 4 <= end; at += at == 8 ? 8 : 4) {  // skip the minor version
    const std::string brand(reinterpret_cast<const char*>(d + at), 4);
    if (brand == "avif" || brand == "avis") return ImageFormat::avif;
    heic = heic || brand == "heic" || brand == "heix" || brand == "hevc" || brand == "hevx" || brand == "heim" ||
           brand == "heis" || brand == "mif1" || brand == "msf1";
  }
  return heic ? ImageFormat::heic : ImageFormat::unknown;
}

// Formats people send that imgvec does not decode, recognised so the error can say which.
const char* unsupported_format(const std::uint8_t* d, std::size_t n) {
#ifndef IMGVEC_HAS_WEBP
  if (starts_with(d, n, "RIFF") && starts_with(d, n, "WEBP", 8)) return "WebP (this build has no libwebp)";
#endif
#ifndef IMGVEC_HAS_TIFF
  if (starts_with(d, n, "II*") || starts_with(d, n, "MM\0*")) return "TIFF (this build has no libtiff)";
#endif
#ifndef IMGVEC_HAS_HEIF
  if (starts_with(d, n, "ftyp", 4)) {
    if (starts_with(d, n, "avif", 8) || starts_with(d, n, "avis", 8)) return "AVIF (this build has no libheif)";
    return "HEIC/HEIF (this build has no libheif), or another ISO media file";
  }
#endif
  if (n >= 2 && d[0] == 0xFF && d[1] == 0x0A) return "JPEG XL";
  if (starts_with(d, n, "\0\0\0\x0CJXL ")) return "JPEG XL";
  if (starts_with(d, n, "\0\0\0\x0CjP  ") || (n >= 4 && d[0] == 0xFF && d[1] == 0x4F && d[2] == 0xFF)) {
    return "JPEG 2000";
  }
  if (starts_with(d, n, "%PDF")) return "PDF";
  if (n >= 2 && d[0] == 'P' && d[1] >= '1' && d[1] <= '4') return "ASCII or 1-bit PNM (P1-P4)";
  std::size_t i = 0;  // SVG and other XML, after any byte-order mark and whitespace
  if (starts_with(d, n, "\xEF\xBB\xBF")) i = 3;
  while (i < n && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n')) ++i;
  if (starts_with(d, n, "<svg", i) || starts_with(d, n, "<?xml", i)) return "SVG/XML";
  return nullptr;
}

[[noreturn]] void fail(ErrorCode code, const std::string& name, const std::string& what) {
  throw Error(code, name + ": " + what);
}

}  // namespace

namespace detail {

const char* supported_formats_text() { return kSupported; }

void check_dimensions(const std::string& name, std::uint64_t width, std::uint64_t height, const DecodeOptions& options) {
  if (width == 0 || height == 0) fail(ErrorCode::corrupt_file, name, "has no pixels");
  const std::uint64_t pixels = width * height;  // each below 2^32: no overflow
  if (pixels > options.max_pixels) {
    fail(ErrorCode::too_large, name,
         std::to_string(width) + "x" + std::to_string(height) + " = " + std::to_string(pixels) +
             " pixels is more than the limit of " + std::to_string(options.max_pixels) +
             " (DecodeOptions::max_pixels)");
  }
}

}  // namespace detail

const char* to_string(ImageFormat format) {
  switch (format) {
    case ImageFormat::jpeg: return "jpeg";
    case ImageFormat::png: return "png";
    case ImageFormat::bmp: return "bmp";
    case ImageFormat::gif: return "gif";
    case ImageFormat::pnm: return "pnm";
    case ImageFormat::tga: return "tga";
    case ImageFormat::psd: return "psd";
    case ImageFormat::hdr: return "hdr";
    case ImageFormat::webp: return "webp";
    case ImageFormat::tiff: return "tiff";
    case ImageFormat::heic: return "heic";
    case ImageFormat::avif: return "avif";
    case ImageFormat::unknown: break;
  }
  return "unknown";
}

std::vector<std::string> supported_image_formats() {
  std::vector<std::string> out = {"jpeg", "png", "bmp", "gif", "pnm", "tga", "psd", "hdr"};
#ifdef IMGVEC_HAS_WEBP
  out.push_back("webp");
#endif
#ifdef IMGVEC_HAS_TIFF
  out.push_back("tiff");
#endif
#ifdef IMGVEC_HAS_HEIF
  if (detail::heif_decodes(ImageFormat::heic)) out.push_back("heic");
  if (detail::heif_decodes(ImageFormat::avif)) out.push_back("avif");
#endif
  return out;
}

ImageFormat detect_image_format(const void* data, std::size_t n) {
  const auto* d = static_cast<const std::uint8_t*>(data);
  if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return ImageFormat::jpeg;
  if (starts_with(d, n, "\x89PNG\r\n\x1A\n")) return ImageFormat::png;
  if (starts_with(d, n, "GIF87a") || starts_with(d, n, "GIF89a")) return ImageFormat::gif;
  if (starts_with(d, n, "BM")) return ImageFormat::bmp;
  if (n >= 3 && d[0] == 'P' && (d[1] == '5' || d[1] == '6') &&
      (d[2] == ' ' || d[2] == '\n' || d[2] == '\r' || d[2] == '\t')) {
    return ImageFormat::pnm;
  }
  if (starts_with(d, n, "8BPS")) return ImageFormat::psd;
  if (starts_with(d, n, "#?RADIANCE\n") || starts_with(d, n, "#?RGBE\n")) return ImageFormat::hdr;
  if (starts_with(d, n, "RIFF") && starts_with(d, n, "WEBP", 8)) return ImageFormat::webp;
  if (starts_with(d, n, "II*\0") || starts_with(d, n, "MM\0*")) return ImageFormat::tiff;
  if (starts_with(d, n, "ftyp", 4)) return heif_brand(d, n);
  return ImageFormat::unknown;  // TGA has no signature; the decoder decides
}

Image decode_image(const void* data, std::size_t size, const std::string& name,
                   const DecodeOptions& options) {
  const auto* d = static_cast<const std::uint8_t*>(data);
  detail::read_counters().decodes.fetch_add(1, std::memory_order_relaxed);
  if (size == 0 || d == nullptr) fail(ErrorCode::corrupt_file, name, "empty, not an image");
  if (size > options.max_file_bytes) {
    fail(ErrorCode::too_large, name,
         std::to_string(size) + " bytes is more than the limit of " + std::to_string(options.max_file_bytes) +
             " (DecodeOptions::max_file_bytes)");
  }
  if (const char* other = unsupported_format(d, size)) {
    fail(ErrorCode::unsupported, name,
         std::string(other) + " images are not supported (imgvec decodes " + kSupported + ")");
  }
  Image image;
  image.format = detect_image_format(d, size);
  detail::RawImage raw;
  switch (image.format) {
    case ImageFormat::jpeg: raw = detail::decode_jpeg(d, size, name, options); break;
    case ImageFormat::png: raw = detail::decode_png(d, size, name, options); break;
    case ImageFormat::pnm: raw = detail::decode_pnm(d, size, name, options); break;
    case ImageFormat::gif: raw = detail::decode_gif(d, size, name, options); break;
    case ImageFormat::hdr: raw = detail::decode_hdr(d, size, name, options); break;
#ifdef IMGVEC_HAS_WEBP
    case ImageFormat::webp: raw = detail::decode_webp(d, size, name, options); break;
#endif
#ifdef IMGVEC_HAS_TIFF
    case ImageFormat::tiff: raw = detail::decode_tiff(d, size, name, options); break;
#endif
#ifdef IMGVEC_HAS_HEIF
    case ImageFormat::heic:
    case ImageFormat::avif: raw = detail::decode_heif(d, size, image.format, name, options); break;
#endif
    default: raw = detail::decode_with_stb(d, size, image.format, name, options); break;
  }
  image.width = raw.width;
  image.height = raw.height;
  if (raw.full_width) {
    image.full_width = raw.full_width;
    image.full_height = raw.full_height;
  }
  if (raw.alpha) {
    image.rgb = image_from_pixels(raw.pixels.data(), raw.width, raw.height, 4).rgb;  // onto white
  } else {
    image.rgb = std::move(raw.pixels);
  }
  // TIFF's decoder applies its Orientation tag itself, and HEIF stores orientation as
  // transformations that libheif applies (its EXIF orientation must be ignored: ISO 23008-12).
  const bool oriented_by_exif = image.format == ImageFormat::jpeg || image.format == ImageFormat::png ||
                                image.format == ImageFormat::webp;
  if (options.apply_exif_orientation && oriented_by_exif) {
    const detail::ExifBlock exif = detail::find_exif_block(d, size, image.format);
    const int orientation = detail::exif_orientation(exif.bytes);
    detail::apply_orientation(orientation, image.width, image.height, image.rgb);
    if (orientation >= 5) std::swap(image.full_width, image.full_height);
  }
  return image;
}

std::vector<std::uint8_t> read_image_file(const std::string& path, const DecodeOptions& options) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) fail(ErrorCode::not_found, path, "no such file");
    fail(ErrorCode::io, path, std::string("cannot read: ") + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) fail(ErrorCode::invalid_argument, path, "not a regular file");
  if (static_cast<std::uint64_t>(st.st_size) > options.max_file_bytes) {
    fail(ErrorCode::too_large, path,
         std::to_string(st.st_size) + " bytes is more than the limit of " + std::to_string(options.max_file_bytes) +
             " (DecodeOptions::max_file_bytes)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::io, path, std::string("cannot open: ") + std::strerror(errno));
  // One read of the size stat reported, not a character-by-character stream copy.
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(st.st_size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (static_cast<std::size_t>(in.gcount()) != bytes.size()) {
    fail(ErrorCode::io, path, "read error (the file changed size while being read?)");
  }
  detail::read_counters().file_bytes.fetch_add(bytes.size(), std::memory_order_relaxed);
  return bytes;
}

Image decode_image_file(const std::string& path, const DecodeOptions& options) {
  const std::vector<std::uint8_t> bytes = read_image_file(path, options);
  return decode_image(bytes.data(), bytes.size(), path, options);
}

std::vector<std::uint8_t> decode_base64(std::string_view text) {
  if (text.rfind("data:", 0) == 0) {
    const std::size_t comma = text.find(',');
    if (comma == std::string_view::npos || text.substr(0, comma).find(";base64") == std::string_view::npos) {
      fail(ErrorCode::invalid_argument, "base64 image", "a data: URI must be ';base64,' encoded");
    }
    text.remove_prefix(comma + 1);
  }
  std::vector<std::uint8_t> bytes;
  bytes.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+' || c == '-') v = 62;
    else if (c == '/' || c == '_') v = 63;
    else if (c == '=') {
      // Padding ends the data: only more padding (two at most) and spaces may follow.
      const std::size_t rest = text.find_first_not_of("= \n\r\t", i);
      if (rest != std::string_view::npos)
        fail(ErrorCode::invalid_argument, "base64 image",
             "\"=\" padding at position " + std::to_string(i) + " is followed by more data");
      break;
    } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    else {
      fail(ErrorCode::invalid_argument, "base64 image",
           "invalid character at position " + std::to_string(i));
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<std::uint8_t>(acc >> bits));
    }
  }
  if (bytes.empty() && text.find_first_not_of(" \n\r\t") != std::string_view::npos)
    fail(ErrorCode::invalid_argument, "base64 image", "holds no data, only padding (\"=\"); send the image's bytes in base64");
  return bytes;
}

std::string encode_base64(const void* data, std::size_t size) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < size; ++i) {
    acc = (acc << 8) | p[i];
    bits += 8;
    while (bits >= 6) out += kAlphabet[(acc >> (bits -= 6)) & 63];
  }
  if (bits) out += kAlphabet[(acc << (6 - bits)) & 63];
  while (out.size() % 4) out += '=';
  return out;
}

Image decode_image_base64(std::string_view text, const DecodeOptions& options) {
  const std::vector<std::uint8_t> bytes = decode_base64(text);
  return decode_image(bytes.data(), bytes.size(), "base64 image", options);
}

}  // namespace imgvec
