// TIFF through libtiff, read from memory. TIFFReadRGBAImageOriented turns every photometric
// interpretation libtiff knows (RGB, palette, greyscale, YCbCr, CMYK, 16-bit) into 8-bit RGBA with
// the Orientation tag applied; the first directory (page) is the image.
#include <tiffio.h>

#include <algorithm>
#include <cstring>

#include "image/decoders.hpp"

namespace imgvec::detail {
namespace {

struct Memory {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t at = 0;
};

tsize_t read_memory(thandle_t h, tdata_t buf, tsize_t n) {
  auto* m = static_cast<Memory*>(h);
  const std::size_t k =
      std::min<std::size_t>(static_cast<std::size_t>(n), m->size - std::min(m->at, m->size));
  std::memcpy(buf, m->data + m->at, k);
  m->at += k;
  return static_cast<tsize_t>(k);
}
tsize_t write_memory(thandle_t, tdata_t, tsize_t) {
  return -1;
}
toff_t seek_memory(thandle_t h, toff_t off, int whence) {
  auto* m = static_cast<Memory*>(h);
  const toff_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->at : m->size;
  m->at = static_cast<std::size_t>(base + off);
  return static_cast<toff_t>(m->at);
}
int close_memory(thandle_t) {
  return 0;
}
toff_t size_memory(thandle_t h) {
  return static_cast<Memory*>(h)->size;
}
int map_memory(thandle_t, tdata_t*, toff_t*) {
  return 0;
}
void unmap_memory(thandle_t, tdata_t, toff_t) {}

// libtiff reports through global handlers that print to stderr; imgvec reports through its
// exceptions, so they are silenced once.
void quiet(const char*, const char*, va_list) {}

}  // namespace

RawImage decode_tiff(const std::uint8_t* data, std::size_t size, const std::string& name,
                     const DecodeOptions& options) {
  static const bool silenced = [] {
    TIFFSetErrorHandler(quiet);
    TIFFSetWarningHandler(quiet);
    return true;
  }();
  (void)silenced;
  Memory memory{data, size};
  // "m": no memory mapping (the bytes are ours already).
  TIFF* tif = TIFFClientOpen(name.c_str(), "rm", &memory, read_memory, write_memory, seek_memory,
                             close_memory, size_memory, map_memory, unmap_memory);
  if (!tif) decode_fail(ErrorCode::corrupt_file, name, "damaged tiff data (no valid header)");
  struct Close {
    TIFF* t;
    ~Close() { TIFFClose(t); }
  } close{tif};
  std::uint32_t width = 0, height = 0;
  TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &width);
  TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &height);
  check_dimensions(name, width, height, options);
  char why[1024] = "";
  if (!TIFFRGBAImageOK(tif, why)) {
    decode_fail(ErrorCode::unsupported, name,
                std::string("a tiff that libtiff cannot turn into RGB (") + why + ")");
  }
  std::vector<std::uint32_t> rgba(std::size_t{width} * height);
  if (!TIFFReadRGBAImageOriented(tif, width, height, rgba.data(), ORIENTATION_TOPLEFT, 0)) {
    decode_fail(ErrorCode::corrupt_file, name, "damaged tiff data");
  }
  // libtiff's RGBA is premultiplied (associated alpha), so compositing onto white, as every
  // other format is, is c + (255 - a).
  RawImage out;
  out.width = width;
  out.height = height;
  out.pixels.resize(rgba.size() * 3);
  for (std::size_t p = 0; p < rgba.size(); ++p) {
    const std::uint32_t v = rgba[p];
    const unsigned white = 255u - TIFFGetA(v);
    out.pixels[p * 3 + 0] = static_cast<std::uint8_t>(std::min(255u, TIFFGetR(v) + white));
    out.pixels[p * 3 + 1] = static_cast<std::uint8_t>(std::min(255u, TIFFGetG(v) + white));
    out.pixels[p * 3 + 2] = static_cast<std::uint8_t>(std::min(255u, TIFFGetB(v) + white));
  }
  return out;
}

}  // namespace imgvec::detail
