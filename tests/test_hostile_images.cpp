#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <zlib.h>

#include "imgvec/error.hpp"
#include "imgvec/image/image.hpp"

// Regression tests for the hostile files that fuzzing found in stb_image 2.27 (issue 10), each
// generated here, plus the decompression bomb. Under ASan (CI) an over-read fails the run.
using namespace imgvec;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes bytes_of(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

// The error code and message decoding `b` gives; fails the test if it decodes.
ErrorCode refusal(const Bytes& b, const std::string& name, std::string& message) {
  try {
    decode_image(b.data(), b.size(), name);
  } catch (const Error& e) {
    message = e.what();
    return e.code();
  }
  FAIL(name << " decoded");
  return ErrorCode::invalid_argument;
}

void put_be32(Bytes& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
}

void png_chunk(Bytes& png, const char* type, const Bytes& data) {
  put_be32(png, static_cast<std::uint32_t>(data.size()));
  const std::size_t start = png.size();
  png.insert(png.end(), type, type + 4);
  png.insert(png.end(), data.begin(), data.end());
  put_be32(png, static_cast<std::uint32_t>(
                    crc32(0, png.data() + start, static_cast<uInt>(png.size() - start))));
}

// A PNG of width x height 8-bit RGB whose IDAT inflates to `raw_bytes` zero bytes.
Bytes png_inflating_to(std::uint32_t width, std::uint32_t height, std::size_t raw_bytes) {
  Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  Bytes ihdr;
  put_be32(ihdr, width);
  put_be32(ihdr, height);
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});
  png_chunk(png, "IHDR", ihdr);
  z_stream z{};
  REQUIRE(deflateInit(&z, 9) == Z_OK);
  const Bytes zeros(1 << 20, 0);
  Bytes idat(1 << 20);
  z.next_out = idat.data();
  z.avail_out = static_cast<uInt>(idat.size());
  std::size_t fed = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (z.avail_in == 0 && fed < raw_bytes) {
      const std::size_t n = std::min(zeros.size(), raw_bytes - fed);
      z.next_in = const_cast<Bytef*>(zeros.data());
      z.avail_in = static_cast<uInt>(n);
      fed += n;
    }
    if (z.avail_out == 0) {
      const std::size_t used = idat.size();
      idat.resize(used * 2);
      z.next_out = idat.data() + used;
      z.avail_out = static_cast<uInt>(used);
    }
    rc = deflate(&z, fed == raw_bytes ? Z_FINISH : Z_NO_FLUSH);
    REQUIRE((rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR));
  }
  idat.resize(z.total_out);
  deflateEnd(&z);
  png_chunk(png, "IDAT", idat);
  png_chunk(png, "IEND", {});
  return png;
}

// Runs `f` in a child process whose heap may grow by at most `limit_mb` over the parent's, and
// returns whether it finished normally. A decoder that allocated beyond the bound dies instead.
bool within_memory(std::size_t limit_mb, const std::function<void()>& f) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::ifstream status("/proc/self/status");
    std::string line;
    std::size_t data_kb = 0;
    while (std::getline(status, line)) {
      if (line.rfind("VmData:", 0) == 0) data_kb = std::stoull(line.substr(7));
    }
    const rlim_t limit = (data_kb + limit_mb * 1024) * 1024;
    const rlimit rl{limit, limit};
    ::setrlimit(RLIMIT_DATA, &rl);
    try {
      f();
    } catch (...) {
      ::_exit(2);
    }
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

TEST_CASE("hostile PNM headers and rasters are refused", "[image][hostile]") {
  std::string message;
  // A 24-byte 16-bit PGM: stb_image 2.27 read past its buffer and returned heap bytes as pixels.
  const Bytes short16 = bytes_of("P5 4 4 65535\n" + std::string(11, '\x7f'));
  REQUIRE(short16.size() == 24);
  CHECK(refusal(short16, "short16.pgm", message) == ErrorCode::corrupt_file);
  CHECK_THAT(message, Catch::Matchers::Contains("short16.pgm: damaged pnm data (truncated"));
  // Header numbers that overflow a signed int (stb_image 2.27: undefined behaviour).
  CHECK(refusal(bytes_of("P6 99999999999 1 255\n..."), "wide.ppm", message) ==
        ErrorCode::corrupt_file);
  CHECK_THAT(message, Catch::Matchers::Contains("width larger than"));
  CHECK(refusal(bytes_of("P6 1 1 70000\nabcdef"), "deep.ppm", message) == ErrorCode::corrupt_file);
  CHECK(refusal(bytes_of("P5 1 1 0\na"), "zero.pgm", message) == ErrorCode::corrupt_file);
  CHECK(refusal(bytes_of("P5 1 1 255"), "unterminated.pgm", message) == ErrorCode::corrupt_file);
  CHECK(refusal(bytes_of("P5 #"), "comment.pgm", message) == ErrorCode::corrupt_file);
  // A complete 16-bit PGM decodes, scaled to 8 bits (65535 -> 255, 0x8000 -> 128).
  const Bytes ok16 =
      bytes_of(std::string("P5\n# a comment\n2 1\n65535\n") + std::string("\xff\xff\x80\x00", 4));
  const Image im = decode_image(ok16.data(), ok16.size(), "ok16.pgm");
  CHECK(im.width == 2);
  CHECK(im.rgb == std::vector<std::uint8_t>{255, 255, 255, 128, 128, 128});
}

TEST_CASE("a crafted JPEG Huffman table is refused", "[image][hostile]") {
  // SOI, then a DHT whose code counts sum to 255 + 16 symbols in a 40-byte segment: stb_image
  // 2.27 indexed past its tables while building codes from it.
  Bytes jpeg = {0xFF, 0xD8, 0xFF, 0xC4, 0x00, 0x28, 0x00};
  for (int i = 0; i < 16; ++i) jpeg.push_back(i == 15 ? 0xFF : 0x10);
  for (int i = 0; i < 21; ++i) jpeg.push_back(static_cast<std::uint8_t>(i));
  jpeg.insert(jpeg.end(),
              {0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00});
  jpeg.insert(jpeg.end(),
              {0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x12, 0x34, 0xFF, 0xD9});
  std::string message;
  CHECK(refusal(jpeg, "dht.jpg", message) == ErrorCode::corrupt_file);
  CHECK_THAT(message, Catch::Matchers::StartsWith("dht.jpg: damaged jpeg data"));
}

TEST_CASE("an HDR file with a zero-length RLE run is refused, not looped on", "[image][hostile]") {
  // stb_image 2.27 never advanced past a dump of length 0 and spun forever (holding the
  // database lock). If this regresses, the test hangs and CTest's timeout fails it.
  std::string hdr = "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X 16\n";
  hdr += std::string("\x02\x02\x00\x10", 4);  // new-style RLE scanline of width 16
  hdr += std::string(160, '\0');              // every count 0
  std::string message;
  CHECK(refusal(bytes_of(hdr), "loop.hdr", message) == ErrorCode::corrupt_file);
  CHECK_THAT(message, Catch::Matchers::StartsWith("loop.hdr: damaged hdr data"));
}

TEST_CASE("a PNG whose data inflates far beyond its declared size is decoded in bounded memory",
          "[image][hostile]") {
  // 1x1 pixels declared, 512 MiB of zeros compressed into ~0.5 MB. stb_image inflated it all
  // (1.2 GB for the 1 GiB variant); libspng stops at the image's own size.
  const Bytes bomb = png_inflating_to(1, 1, std::size_t{512} << 20);
  CHECK(bomb.size() < (2u << 20));
  CHECK(within_memory(64, [&] {
    try {
      const Image im = decode_image(bomb.data(), bomb.size(), "bomb.png");
      if (im.width != 1 || im.height != 1) ::_exit(3);
    } catch (const Error& e) {
      // Refusing it is fine too, as long as it is refused as damaged, not for lack of memory.
      if (e.code() != ErrorCode::corrupt_file) ::_exit(4);
    }
  }));
  // The same check detects a decoder that does allocate: 256 MB of pixels in a 64 MB bound.
  const Bytes honest = png_inflating_to(8192, 8192, std::size_t{8192} * (8192 * 3 + 1));
  CHECK_FALSE(within_memory(64, [&] { decode_image(honest.data(), honest.size(), "big.png"); }));
}

TEST_CASE("encoded files beyond the byte limit are refused before decoding", "[image][hostile]") {
  const Bytes png = png_inflating_to(4, 4, 4 * 13);
  DecodeOptions tight;
  tight.max_file_bytes = png.size() - 1;
  std::string message;
  try {
    decode_image(png.data(), png.size(), "x.png", tight);
    FAIL("decoded");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::too_large);
    CHECK_THAT(std::string(e.what()), Catch::Matchers::Contains("max_file_bytes"));
  }
  CHECK(decode_image(png.data(), png.size(), "x.png").width == 4);
}

namespace {

// A PNG with the given header fields, extra chunks before IDAT, and these filtered rows.
Bytes png_of(std::uint32_t width, std::uint32_t height, std::uint8_t depth, std::uint8_t color,
             const Bytes& raw, const std::vector<std::pair<const char*, Bytes>>& chunks = {}) {
  Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  Bytes ihdr;
  put_be32(ihdr, width);
  put_be32(ihdr, height);
  ihdr.insert(ihdr.end(), {depth, color, 0, 0, 0});
  png_chunk(png, "IHDR", ihdr);
  for (const auto& [type, data] : chunks) png_chunk(png, type, data);
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  Bytes idat(size);
  REQUIRE(compress(idat.data(), &size, raw.data(), static_cast<uLong>(raw.size())) == Z_OK);
  idat.resize(size);
  png_chunk(png, "IDAT", idat);
  png_chunk(png, "IEND", {});
  return png;
}

}  // namespace

TEST_CASE("16-bit, grey+alpha and palette PNGs decode to the expected pixels", "[image]") {
  // 16-bit RGB: the high byte of each sample, as Pillow and stb_image reduce it.
  const Bytes rgb16 = png_of(2, 1, 16, 2, {0, 0xFF, 0xFF, 0x80, 0x00, 0x00, 0x10, 0x12, 0x34, 0xAB, 0xCD, 0x7F, 0xFF});
  const Image a = decode_image(rgb16.data(), rgb16.size(), "rgb16.png");
  CHECK(a.rgb == std::vector<std::uint8_t>{0xFF, 0x80, 0x00, 0x12, 0xAB, 0x7F});
  // Grey + alpha: composited onto white (alpha 0 -> white, 255 -> the grey).
  const Bytes ga = png_of(2, 1, 8, 4, {0, 0x40, 0x00, 0x40, 0xFF});
  const Image b = decode_image(ga.data(), ga.size(), "ga.png");
  CHECK(b.rgb == std::vector<std::uint8_t>{255, 255, 255, 0x40, 0x40, 0x40});
  // A palette with a transparent entry (tRNS).
  const Bytes pal = png_of(2, 1, 8, 3, {0, 0, 1}, {{"PLTE", {10, 20, 30, 200, 100, 50}}, {"tRNS", {0}}});
  const Image c = decode_image(pal.data(), pal.size(), "pal.png");
  CHECK(c.rgb == std::vector<std::uint8_t>{255, 255, 255, 200, 100, 50});
  // A damaged CRC in a critical chunk is refused, naming the file.
  Bytes bad = rgb16;
  bad[29] ^= 1;  // inside IHDR's CRC
  std::string message;
  CHECK(refusal(bad, "crc.png", message) == ErrorCode::corrupt_file);
  CHECK_THAT(message, Catch::Matchers::StartsWith("crc.png: damaged png data"));
}

namespace {

// A GIF of `w` x `h` whose pixel i has colour index pixel(i), written with literal LZW codes only
// (a clear code every 250 keeps them 9 bits wide): enough to build any test picture.
Bytes gif_of(std::uint16_t w, std::uint16_t h, const std::function<std::uint8_t(std::size_t)>& pixel,
             int transparent = -1, bool interlaced = false) {
  Bytes g = {'G', 'I', 'F', '8', '9', 'a', static_cast<std::uint8_t>(w), static_cast<std::uint8_t>(w >> 8),
             static_cast<std::uint8_t>(h), static_cast<std::uint8_t>(h >> 8), 0xF7, 0, 0};
  for (int i = 0; i < 256; ++i) g.insert(g.end(), {static_cast<std::uint8_t>(i), static_cast<std::uint8_t>(255 - i), 7});
  if (transparent >= 0) g.insert(g.end(), {0x21, 0xF9, 4, 1, 0, 0, static_cast<std::uint8_t>(transparent), 0});
  g.insert(g.end(), {0x2C, 0, 0, 0, 0, static_cast<std::uint8_t>(w), static_cast<std::uint8_t>(w >> 8),
                     static_cast<std::uint8_t>(h), static_cast<std::uint8_t>(h >> 8),
                     static_cast<std::uint8_t>(interlaced ? 0x40 : 0), 8});
  Bytes codes;
  std::uint32_t acc = 0;
  int bits = 0;
  auto put = [&](std::uint32_t code) {
    acc |= code << bits;
    for (bits += 9; bits >= 8; bits -= 8, acc >>= 8) codes.push_back(static_cast<std::uint8_t>(acc));
  };
  const std::size_t n = std::size_t{w} * h;
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 250 == 0) put(256);
    put(pixel(i));
  }
  put(257);
  if (bits) codes.push_back(static_cast<std::uint8_t>(acc));
  for (std::size_t at = 0; at < codes.size(); at += 255) {
    const std::size_t len = std::min<std::size_t>(255, codes.size() - at);
    g.push_back(static_cast<std::uint8_t>(len));
    g.insert(g.end(), codes.begin() + static_cast<std::ptrdiff_t>(at), codes.begin() + static_cast<std::ptrdiff_t>(at + len));
  }
  g.insert(g.end(), {0, 0x3B});
  return g;
}

// An RGBE HDR of `w` x `h`, every pixel `rgbe`, run-length coded when the width allows.
Bytes hdr_of(std::uint16_t w, std::uint16_t h, const std::uint8_t rgbe[4]) {
  const std::string head = "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y " + std::to_string(h) + " +X " + std::to_string(w) + "\n";
  Bytes b(head.begin(), head.end());
  for (std::uint16_t y = 0; y < h; ++y) {
    if (w < 8) {
      for (std::uint16_t x = 0; x < w; ++x) b.insert(b.end(), rgbe, rgbe + 4);
      continue;
    }
    b.insert(b.end(), {2, 2, static_cast<std::uint8_t>(w >> 8), static_cast<std::uint8_t>(w)});
    for (int c = 0; c < 4; ++c) {
      for (std::size_t left = w; left > 0;) {
        const std::size_t run = std::min<std::size_t>(127, left);
        b.insert(b.end(), {static_cast<std::uint8_t>(128 + run), rgbe[c]});
        left -= run;
      }
    }
  }
  return b;
}

}  // namespace

TEST_CASE("GIF and HDR decode line by line: the right pixels, a few bytes per pixel", "[image][hostile]") {
  // Colour index i is (i, 255 - i, 7); index 9 is transparent and shows white.
  const Bytes small = gif_of(5, 3, [](std::size_t i) { return static_cast<std::uint8_t>(i == 4 ? 9 : i * 10); }, 9);
  const Image g = decode_image(small.data(), small.size(), "small.gif");
  REQUIRE((g.width == 5 && g.height == 3));
  CHECK((g.rgb[3 * 3] == 30 && g.rgb[3 * 3 + 1] == 225 && g.rgb[3 * 3 + 2] == 7));
  CHECK((g.rgb[4 * 3] == 255 && g.rgb[4 * 3 + 1] == 255 && g.rgb[4 * 3 + 2] == 255));
  // Interlaced: rows arrive 0, 8, 4, 2, 6, 1, 3, 5, 7 and land where they belong.
  const std::size_t order[] = {0, 8, 4, 2, 6, 1, 3, 5, 7};
  const Bytes laced = gif_of(1, 9, [&](std::size_t i) { return static_cast<std::uint8_t>(order[i] * 20); }, -1, true);
  const Image l = decode_image(laced.data(), laced.size(), "laced.gif");
  for (std::size_t y = 0; y < 9; ++y) CHECK(l.rgb[y * 3] == y * 20);
  // HDR: mantissa * 2^(exponent - 136), then 255 * v^(1/2.2).
  const std::uint8_t px[4] = {128, 64, 0, 129};  // 1.0, 0.5, 0
  for (const std::uint16_t w : {std::uint16_t{4}, std::uint16_t{300}}) {
    const Bytes h = hdr_of(w, 2, px);
    const Image im = decode_image(h.data(), h.size(), "x.hdr");
    REQUIRE(im.width == w);
    CHECK((im.rgb[0] == 255 && im.rgb[1] == 186 && im.rgb[2] == 0));
    CHECK(im.rgb[im.rgb.size() - 2] == 186);
  }
  // 16 MP each: stb_image took about 15 (GIF) and 18 (HDR) bytes per pixel, 240-290 MB; these
  // take the 48 MB of RGB output and a line.
  const Bytes big_gif = gif_of(4000, 4000, [](std::size_t i) { return static_cast<std::uint8_t>(i % 251); });
  const Bytes big_hdr = hdr_of(4000, 4000, px);
  CHECK(big_gif.size() < 20u << 20);
  for (const auto* file : {&big_gif, &big_hdr}) {
    CHECK(within_memory(64, [&] {
      const Image im = decode_image(file->data(), file->size(), "big");
      if (im.width != 4000 || im.height != 4000) ::_exit(3);
    }));
  }
}
