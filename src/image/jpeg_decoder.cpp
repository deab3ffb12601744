// JPEG through libjpeg-turbo's TurboJPEG API: fuzzed upstream (OSS-Fuzz), SIMD-accelerated, and
// the library Pillow itself uses on Debian, so pixels match PIL's (same integer IDCT and fancy
// upsampling) instead of differing by rounding as stb_image's did.
#include <turbojpeg.h>

#include <algorithm>
#include <memory>

#include "image/decoders.hpp"

namespace imgvec::detail {
namespace {

struct Handle {
  tjhandle h = tjInitDecompress();
  ~Handle() {
    if (h) tjDestroy(h);
  }
};

// The smallest of 1/8, 1/4, 1/2 (scaled in the IDCT, so the skipped work is never done) that
// keeps the shorter side at least min_side; 1/1 when none does or min_side is 0. libjpeg-turbo
// offers other eighths too, but only these are SIMD-accelerated.
tjscalingfactor reduced_scale(int width, int height, std::uint32_t min_side) {
  const int shorter = std::min(width, height);
  for (int denom : {8, 4, 2}) {
    const tjscalingfactor f{1, denom};
    if (min_side > 0 && static_cast<std::uint32_t>(TJSCALED(shorter, f)) >= min_side) return f;
  }
  return {1, 1};
}

}  // namespace

RawImage decode_jpeg(const std::uint8_t* data, std::size_t size, const std::string& name,
                     const DecodeOptions& options) {
  Handle tj;
  if (!tj.h) decode_fail(ErrorCode::io, name, "cannot start the JPEG decoder");
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(tj.h, data, static_cast<unsigned long>(size), &width, &height,
                          &subsampling, &colorspace) != 0) {
    decode_fail(ErrorCode::corrupt_file, name,
                std::string("damaged jpeg data (") + tjGetErrorStr2(tj.h) + ")");
  }
  if (width <= 0 || height <= 0)
    decode_fail(ErrorCode::corrupt_file, name, "damaged jpeg data (no frame header)");
  check_dimensions(name, static_cast<std::uint64_t>(width), static_cast<std::uint64_t>(height),
                   options);
  const bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  RawImage out;
  const tjscalingfactor scale = reduced_scale(width, height, options.min_side);
  if (scale.num != scale.denom) {
    out.full_width = static_cast<std::uint32_t>(width);
    out.full_height = static_cast<std::uint32_t>(height);
    width = TJSCALED(width, scale);
    height = TJSCALED(height, scale);
  }
  out.width = static_cast<std::uint32_t>(width);
  out.height = static_cast<std::uint32_t>(height);
  const std::size_t pixels = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  std::vector<std::uint8_t> buffer(pixels * (cmyk ? 4 : 3));
  // LIMITSCANS refuses progressive files with an absurd number of scans, whose decoding time
  // grows without bound (libjpeg-turbo's own guard, from "Two Issues with the JPEG Standard").
  const int flags = TJFLAG_LIMITSCANS | TJFLAG_ACCURATEDCT;
  if (tjDecompress2(tj.h, data, static_cast<unsigned long>(size), buffer.data(), width, 0, height,
                    cmyk ? TJPF_CMYK : TJPF_RGB, flags) != 0) {
    // Warnings leave a whole image; most (stray bytes between markers, common in camera files)
    // are harmless and Pillow ignores them too. A file that ends early is refused, as Pillow
    // does: the missing part would be grey. libjpeg's message for it is stable (JWRN_JPEG_EOF).
    const std::string why = tjGetErrorStr2(tj.h);
    if (tjGetErrorCode(tj.h) != TJERR_WARNING || why.find("Premature end") != std::string::npos) {
      decode_fail(ErrorCode::corrupt_file, name, "damaged jpeg data (" + why + ")");
    }
  }
  if (cmyk) {
    // Adobe's CMYK JPEGs store inverted values, so a channel times K gives the RGB value (as
    // Pillow's and stb_image's conversions do).
    out.pixels.resize(pixels * 3);
    for (std::size_t p = 0; p < pixels; ++p) {
      const unsigned k = buffer[p * 4 + 3];
      for (int c = 0; c < 3; ++c) {
        out.pixels[p * 3 + c] = static_cast<std::uint8_t>((buffer[p * 4 + c] * k + 127) / 255);
      }
    }
  } else {
    out.pixels = std::move(buffer);
  }
  return out;
}

}  // namespace imgvec::detail
