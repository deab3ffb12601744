// PNG through libspng: fuzzed upstream (OSS-Fuzz), checks CRCs and zlib checksums, and inflates
// row by row into the output, so the memory a file can make imgvec use is bounded by its declared
// size, not by how far its compressed data would inflate (stb_image inflated the whole stream
// first: a 1 MB file declaring 1x1 pixels took 1.2 GB).
#include <spng.h>

#include "image/decoders.hpp"

namespace imgvec::detail {
namespace {

struct Context {
  spng_ctx* ctx = spng_ctx_new(0);
  ~Context() {
    if (ctx) spng_ctx_free(ctx);
  }
};

// Ancillary chunks (text, ICC profiles, EXIF) are kept in memory by libspng until the image is
// done; a hostile file could declare many large ones. 1 MB each and 8 MB in all are far more than
// a real photo's metadata.
constexpr std::size_t kChunkLimit = 1 << 20, kChunkCache = 8 << 20;

}  // namespace

RawImage decode_png(const std::uint8_t* data, std::size_t size, const std::string& name,
                    const DecodeOptions& options) {
  Context c;
  if (!c.ctx) decode_fail(ErrorCode::io, name, "cannot start the PNG decoder");
  auto check = [&](int rc) {
    if (rc != 0)
      decode_fail(ErrorCode::corrupt_file, name,
                  std::string("damaged png data (") + spng_strerror(rc) + ")");
  };
  check(spng_set_chunk_limits(c.ctx, kChunkLimit, kChunkCache));
  check(spng_set_png_buffer(c.ctx, data, size));
  spng_ihdr ihdr{};
  check(spng_get_ihdr(c.ctx, &ihdr));
  check_dimensions(name, ihdr.width, ihdr.height, options);
  spng_trns trns{};
  const bool alpha = ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA ||
                     ihdr.color_type == SPNG_COLOR_TYPE_TRUECOLOR_ALPHA ||
                     spng_get_trns(c.ctx, &trns) == 0;
  const int format = alpha ? SPNG_FMT_RGBA8 : SPNG_FMT_RGB8;
  std::size_t bytes = 0;
  check(spng_decoded_image_size(c.ctx, format, &bytes));
  RawImage out;
  out.width = ihdr.width;
  out.height = ihdr.height;
  out.alpha = alpha;
  out.pixels.resize(bytes);
  check(spng_decode_image(c.ctx, out.pixels.data(), bytes, format, alpha ? SPNG_DECODE_TRNS : 0));
  return out;
}

}  // namespace imgvec::detail
