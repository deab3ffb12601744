// Radiance HDR (RGBE), decoded a scanline at a time straight to 8-bit RGB. stb_image decoded the
// whole image to 32-bit floats (12 bytes per pixel) and then converted and copied it, so a 3 MB
// HDR cost 762 MB per request (issue 19). No maintained library in Debian reads RGBE to 8 bits
// (OpenEXR and OpenImageIO are far larger and read to floats as well), and the format is small:
// a text header, then per scanline either flat RGBE pixels or four run-length coded channels.
// The tone map is stb_image's (so embeddings stay as they were, to rounding): each channel
// mantissa * 2^(exponent - 136), then 255 * value^(1/2.2), clamped.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "image/decoders.hpp"

namespace imgvec::detail {
namespace {

class HdrReader {
 public:
  HdrReader(const std::uint8_t* data, std::size_t size, const std::string& name) : p_(data), end_(data + size), name_(name) {}

  // One header line without its newline; at most 1024 bytes, as stb_image allowed.
  std::string line() {
    std::string out;
    while (p_ < end_ && *p_ != '\n') {
      if (out.size() == 1024) damaged("a header line longer than 1024 bytes");
      out += static_cast<char>(*p_++);
    }
    if (p_ == end_) damaged("the header ends early");
    ++p_;
    return out;
  }
  std::uint8_t byte() {
    if (p_ == end_) damaged("the pixels end early");
    return *p_++;
  }
  [[noreturn]] void damaged(const std::string& what) const {
    decode_fail(ErrorCode::corrupt_file, name_, "damaged hdr data (" + what + ")");
  }

 private:
  const std::uint8_t* p_;
  const std::uint8_t* end_;
  const std::string& name_;
};

// 255 * (m * 2^(e - 136))^(1/2.2), rounded as stb_image rounded, for every mantissa m and
// exponent e: 64 KB computed once, so a pixel costs three lookups instead of three pow calls
// (49 MP took 1.7 s with pow).
const std::uint8_t* tone_table() {
  static const std::vector<std::uint8_t> table = [] {
    std::vector<std::uint8_t> t(256 * 256, 0);
    for (int e = 1; e < 256; ++e) {
      const float scale = std::ldexp(1.0f, e - (128 + 8));
      for (int m = 0; m < 256; ++m) {
        float z = static_cast<float>(std::pow(m * scale, 1.0f / 2.2f)) * 255 + 0.5f;
        z = std::min(255.0f, std::max(0.0f, z));
        t[static_cast<std::size_t>(e) * 256 + static_cast<std::size_t>(m)] = static_cast<std::uint8_t>(static_cast<int>(z));
      }
    }
    return t;
  }();
  return table.data();
}

void rgbe_to_rgb(const std::uint8_t* rgbe, std::uint8_t* rgb) {
  const std::uint8_t* row = tone_table() + static_cast<std::size_t>(rgbe[3]) * 256;  // exponent 0: black
  rgb[0] = row[rgbe[0]];
  rgb[1] = row[rgbe[1]];
  rgb[2] = row[rgbe[2]];
}

}  // namespace

RawImage decode_hdr(const std::uint8_t* data, std::size_t size, const std::string& name, const DecodeOptions& options) {
  HdrReader in(data, size, name);
  const std::string magic = in.line();
  if (magic != "#?RADIANCE" && magic != "#?RGBE") in.damaged("no #?RADIANCE signature");
  bool rgbe = false;
  for (std::string l = in.line(); !l.empty(); l = in.line()) {
    if (l == "FORMAT=32-bit_rle_rgbe") rgbe = true;
    else if (l.rfind("FORMAT=", 0) == 0) decode_fail(ErrorCode::unsupported, name, "an hdr image in " + l.substr(7) + ", not RGBE");
  }
  if (!rgbe) decode_fail(ErrorCode::unsupported, name, "an hdr image with no FORMAT=32-bit_rle_rgbe line");
  const std::string resolution = in.line();
  long height = 0, width = 0;
  char tail = 0;
  if (std::sscanf(resolution.c_str(), "-Y %ld +X %ld%c", &height, &width, &tail) != 2)
    decode_fail(ErrorCode::unsupported, name, "an hdr image stored in another orientation than -Y H +X W");
  check_dimensions(name, static_cast<std::uint64_t>(std::max(width, 0L)), static_cast<std::uint64_t>(std::max(height, 0L)),
                   options);
  RawImage img;
  img.width = static_cast<std::uint32_t>(width);
  img.height = static_cast<std::uint32_t>(height);
  img.pixels.resize(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 3);
  std::vector<std::uint8_t> scanline(static_cast<std::size_t>(width) * 4);
  const auto w = static_cast<std::size_t>(width);
  bool flat = width < 8 || width >= 32768;  // run-length coding covers 8 to 32767 pixels a line
  for (std::size_t y = 0; y < static_cast<std::size_t>(height); ++y) {
    std::uint8_t* out = &img.pixels[y * w * 3];
    if (!flat) {
      std::uint8_t head[4];
      for (auto& b : head) b = in.byte();
      if (head[0] != 2 || head[1] != 2 || (head[2] & 0x80) != 0) {
        // Not run-length coded: these four bytes are the first flat pixel, and so is the rest.
        flat = true;
        rgbe_to_rgb(head, out);
        for (std::size_t x = 1; x < w; ++x) {
          std::uint8_t px[4] = {in.byte(), in.byte(), in.byte(), in.byte()};
          rgbe_to_rgb(px, out + x * 3);
        }
        continue;
      }
      if ((static_cast<std::size_t>(head[2]) << 8 | head[3]) != w) in.damaged("a scanline of the wrong width");
      for (std::size_t c = 0; c < 4; ++c) {
        for (std::size_t x = 0; x < w;) {
          std::size_t count = in.byte();
          if (count > 128) {
            count -= 128;
            if (count > w - x) in.damaged("a run past the end of its scanline");
            const std::uint8_t value = in.byte();
            for (; count > 0; --count) scanline[(x++) * 4 + c] = value;
          } else {
            if (count == 0 || count > w - x) in.damaged("a literal run past the end of its scanline");
            for (; count > 0; --count) scanline[(x++) * 4 + c] = in.byte();
          }
        }
      }
      for (std::size_t x = 0; x < w; ++x) rgbe_to_rgb(&scanline[x * 4], out + x * 3);
    } else {
      for (std::size_t x = 0; x < w; ++x) {
        std::uint8_t px[4] = {in.byte(), in.byte(), in.byte(), in.byte()};
        rgbe_to_rgb(px, out + x * 3);
      }
    }
  }
  return img;
}

}  // namespace imgvec::detail
