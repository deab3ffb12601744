// Binary PGM (P5) and PPM (P6), written here rather than taken from a library: stb_image 2.27's
// loader over-reads the heap on 16-bit files and overflows signed ints in the header, and
// netpbm's libnetpbm reports errors by exiting the process. The format is a short text header
// and a raster, so every read below is checked against the bytes present.
#include <limits>

#include "image/decoders.hpp"

namespace imgvec::detail {
namespace {

class Header {
 public:
  Header(const std::uint8_t* d, std::size_t n, const std::string& name)
      : d_(d), n_(n), name_(name) {}

  // A decimal field after whitespace and comments; refuses values above `max` as they are read.
  std::uint32_t number(const char* what, std::uint32_t max) {
    skip_space();
    if (at_ >= n_ || d_[at_] < '0' || d_[at_] > '9') {
      decode_fail(ErrorCode::corrupt_file, name_,
                  std::string("damaged pnm data (no ") + what + " in the header)");
    }
    std::uint64_t v = 0;
    while (at_ < n_ && d_[at_] >= '0' && d_[at_] <= '9') {
      v = v * 10 + (d_[at_++] - '0');
      if (v > max) {
        decode_fail(
            ErrorCode::corrupt_file, name_,
            std::string("damaged pnm data (") + what + " larger than " + std::to_string(max) + ")");
      }
    }
    return static_cast<std::uint32_t>(v);
  }
  // Exactly one whitespace byte separates the header from the raster.
  std::size_t raster_start() {
    if (at_ >= n_ || !space(d_[at_]))
      decode_fail(ErrorCode::corrupt_file, name_, "damaged pnm data (header not terminated)");
    return at_ + 1;
  }

 private:
  static bool space(std::uint8_t c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  }
  void skip_space() {
    while (at_ < n_) {
      if (space(d_[at_])) {
        ++at_;
      } else if (d_[at_] == '#') {
        while (at_ < n_ && d_[at_] != '\n' && d_[at_] != '\r') ++at_;
      } else {
        break;
      }
    }
  }
  const std::uint8_t* d_;
  std::size_t n_;
  std::size_t at_ = 2;  // after "P5" / "P6"
  const std::string& name_;
};

}  // namespace

RawImage decode_pnm(const std::uint8_t* data, std::size_t size, const std::string& name,
                    const DecodeOptions& options) {
  const int channels = data[1] == '6' ? 3 : 1;
  Header h(data, size, name);
  const std::uint32_t limit = std::numeric_limits<std::int32_t>::max();
  const std::uint32_t width = h.number("width", limit);
  const std::uint32_t height = h.number("height", limit);
  const std::uint32_t maxval = h.number("maximum value", 65535);
  if (maxval == 0) decode_fail(ErrorCode::corrupt_file, name, "damaged pnm data (maximum value 0)");
  const std::size_t start = h.raster_start();
  check_dimensions(name, width, height, options);
  const std::size_t bytes_per_sample = maxval > 255 ? 2 : 1;
  const std::size_t samples = static_cast<std::size_t>(width) * height * channels;
  if ((size - start) / bytes_per_sample < samples) {
    decode_fail(ErrorCode::corrupt_file, name,
                "damaged pnm data (truncated: " + std::to_string(samples * bytes_per_sample) +
                    " raster bytes declared, " + std::to_string(size - start) + " present)");
  }
  RawImage out;
  out.width = width;
  out.height = height;
  out.pixels.resize(static_cast<std::size_t>(width) * height * 3);
  const std::uint8_t* raster = data + start;
  // Samples above maxval are clamped; values scale to 0..255 with rounding (exact for 255).
  auto sample = [&](std::size_t i) -> std::uint8_t {
    std::uint32_t v = bytes_per_sample == 2 ? (raster[2 * i] << 8) | raster[2 * i + 1] : raster[i];
    if (v > maxval) v = maxval;
    return static_cast<std::uint8_t>((v * 255u + maxval / 2) / maxval);
  };
  const std::size_t pixels = static_cast<std::size_t>(width) * height;
  for (std::size_t p = 0; p < pixels; ++p) {
    for (int c = 0; c < 3; ++c)
      out.pixels[p * 3 + c] = sample(p * channels + (channels == 3 ? c : 0));
  }
  return out;
}

}  // namespace imgvec::detail
