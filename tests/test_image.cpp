#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <tuple>

#include <zlib.h>

#include "image/exif.hpp"
#include "imgvec/error.hpp"
#include "imgvec/image/image.hpp"
#include "imgvec/image/preprocess.hpp"
#include "support/error_of.hpp"

using namespace imgvec;
using imgvec::testing::error_of;
namespace fs = std::filesystem;

namespace {

const std::string kImages = std::string(IMGVEC_TEST_DATA_DIR) + "/images/";

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}


std::string base64(const std::vector<std::uint8_t>& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::uint8_t b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  while (out.size() % 4) out.push_back('=');
  return out;
}

// A JPEG with an APP1 EXIF segment carrying `orientation`, inserted right after SOI.
std::vector<std::uint8_t> with_orientation(std::vector<std::uint8_t> jpeg, std::uint16_t orientation) {
  const std::uint8_t tiff[] = {'I', 'I', 42, 0, 8, 0, 0, 0,          // little-endian, IFD at 8
                               1, 0,                                  // one entry
                               0x12, 0x01, 3, 0, 1, 0, 0, 0,          // Orientation, SHORT, 1
                               static_cast<std::uint8_t>(orientation), 0, 0, 0,
                               0, 0, 0, 0};                           // no next IFD
  std::vector<std::uint8_t> app1 = {0xFF, 0xE1, 0, 0, 'E', 'x', 'i', 'f', 0, 0};
  app1.insert(app1.end(), std::begin(tiff), std::end(tiff));
  const std::size_t length = app1.size() - 2;
  app1[2] = static_cast<std::uint8_t>(length >> 8);
  app1[3] = static_cast<std::uint8_t>(length & 0xFF);
  jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
  return jpeg;
}

// A PNG file of these chunks (type, data) with their CRCs, and an IEND.
std::vector<std::uint8_t> png_file(const std::vector<std::pair<std::string, std::vector<std::uint8_t>>>& chunks) {
  std::vector<std::uint8_t> out = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  auto chunk = [&](const std::string& type, const std::vector<std::uint8_t>& data) {
    const std::uint32_t n = static_cast<std::uint32_t>(data.size());
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(n >> s));
    const std::size_t start = out.size();
    out.insert(out.end(), type.begin(), type.end());
    out.insert(out.end(), data.begin(), data.end());
    const uLong crc = crc32(0, out.data() + start, static_cast<uInt>(out.size() - start));
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(crc >> s));
  };
  for (const auto& [type, data] : chunks) chunk(type, data);
  chunk("IEND", {});
  return out;
}

// Raw scanlines (each starting with its filter byte) compressed with zlib, for an IDAT chunk.
std::vector<std::uint8_t> zlib_compress(const std::vector<std::uint8_t>& raw) {
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<std::uint8_t> z(size);
  compress(z.data(), &size, raw.data(), static_cast<uLong>(raw.size()));
  z.resize(size);
  return z;
}

// A 1x1 PNG of the given bit depth and colour type holding `pixel` (raw bytes), written with zlib.
std::vector<std::uint8_t> png_1x1(std::vector<std::uint8_t> pixel, std::uint8_t depth, std::uint8_t colour) {
  std::vector<std::uint8_t> raw = {0};  // filter byte, then the pixel
  raw.insert(raw.end(), pixel.begin(), pixel.end());
  return png_file({{"IHDR", {0, 0, 0, 1, 0, 0, 0, 1, depth, colour, 0, 0, 0}}, {"IDAT", zlib_compress(raw)}});
}

std::vector<std::uint8_t> rgba_png(std::vector<std::uint8_t> rgba) { return png_1x1(std::move(rgba), 8, 6); }

const std::uint8_t* pixel(const Image& im, std::uint32_t x, std::uint32_t y) {
  return &im.rgb[(static_cast<std::size_t>(y) * im.width + x) * 3];
}

}  // namespace

TEST_CASE("every test image decodes or fails as its README says", "[image]") {
  struct Expect {
    const char* file;
    std::uint32_t width, height;
    ImageFormat format;
  };
  const Expect decodes[] = {
      {"ukbench01380.jpg", 640, 480, ImageFormat::jpeg},
      {"ukbench09060.jpg", 640, 480, ImageFormat::jpeg},
      {"ukbench00120_gray.jpg", 640, 480, ImageFormat::jpeg},
      {"ukbench09380.jpeg", 640, 480, ImageFormat::jpeg},
      {"alpha_channel_image.png", 640, 480, ImageFormat::png},
      {"giphy.gif", 314, 400, ImageFormat::gif},
      {"Iggy.256.ppm", 256, 256, ImageFormat::pnm},
      {"baboon.256.pgm", 256, 256, ImageFormat::pnm},
  };
  const auto formats = supported_image_formats();
  const bool webp = std::count(formats.begin(), formats.end(), "webp") == 1;
  const bool tiff = std::count(formats.begin(), formats.end(), "tiff") == 1;
  std::vector<Expect> all(std::begin(decodes), std::end(decodes));
  if (webp) all.push_back({"ukbench09380.webp", 640, 480, ImageFormat::webp});
  if (tiff) all.push_back({"copyleft.tiff", 220, 220, ImageFormat::tiff});
  for (const Expect& e : all) {
    INFO(e.file);
    const Image im = decode_image_file(kImages + e.file);
    CHECK(im.width == e.width);
    CHECK(im.height == e.height);
    CHECK(im.format == e.format);
    CHECK(im.rgb.size() == std::size_t{e.width} * e.height * 3);
  }
  struct Refuse {
    const char* file;
    ErrorCode code;
    const char* says;
  };
  std::vector<Refuse> refuses = {
      {"ukbench09268_corrupt.jpg", ErrorCode::unsupported, "not a recognised image format"},
      {"marbles.pbm", ErrorCode::unsupported, "1-bit PNM"},
  };
  // Without their libraries, WebP and TIFF are refused by name.
  if (!webp) refuses.push_back({"ukbench09380.webp", ErrorCode::unsupported, "WebP (this build has no libwebp)"});
  if (!tiff) refuses.push_back({"copyleft.tiff", ErrorCode::unsupported, "TIFF (this build has no libtiff)"});
  for (const Refuse& r : refuses) {
    INFO(r.file);
    std::string message;
    CHECK(error_of([&] { decode_image_file(kImages + r.file); }, &message) == r.code);
    CHECK_THAT(message, Catch::Matchers::StartsWith(kImages + r.file) &&
                            Catch::Matchers::Contains(r.says));
  }
}

TEST_CASE("the format comes from the bytes, not the extension", "[image]") {
  const auto jpeg = read_bytes(kImages + "ukbench09380.jpeg");
  const Image reference = decode_image(jpeg.data(), jpeg.size());
  const fs::path dir = fs::temp_directory_path() / "imgvec-image-test";
  fs::create_directories(dir);
  for (const char* name : {"ukbench09380.png", "ukbench09380.bmp", "ukbench09380.svg"}) {
    INFO(name);
    std::ofstream(dir / name, std::ios::binary).write(reinterpret_cast<const char*>(jpeg.data()),
                                                      static_cast<std::streamsize>(jpeg.size()));
    const Image im = decode_image_file((dir / name).string());
    CHECK(im.format == ImageFormat::jpeg);
    CHECK(im.rgb == reference.rgb);
  }
  fs::remove_all(dir);
}

TEST_CASE("grayscale becomes RGB and alpha is composited on white", "[image]") {
  const Image gray = decode_image_file(kImages + "ukbench00120_gray.jpg");
  bool all_gray = true;
  for (std::size_t p = 0; p < gray.rgb.size(); p += 3) {
    all_gray &= gray.rgb[p] == gray.rgb[p + 1] && gray.rgb[p + 1] == gray.rgb[p + 2];
  }
  CHECK(all_gray);
  // RGBA PNGs: red at alpha 0 must come out white (not red, not black); half alpha, pink.
  const auto clear_png = rgba_png({255, 0, 0, 0});
  const Image half = [] {
    const auto png = rgba_png({255, 0, 0, 128});
    return decode_image(png.data(), png.size(), "half.png");
  }();
  CHECK(half.rgb == std::vector<std::uint8_t>{255, 127, 127});
  const auto& png = clear_png;
  const Image clear = decode_image(png.data(), png.size(), "1x1.png");
  REQUIRE(clear.width == 1);
  CHECK(clear.rgb == std::vector<std::uint8_t>{255, 255, 255});
}

TEST_CASE("16-bit PNGs keep the high byte of each sample", "[image]") {
  struct Case {
    std::vector<std::uint8_t> raw;
    std::uint8_t colour;
    std::vector<std::uint8_t> rgb;
  };
  const Case cases[] = {
      {{0x12, 0x34, 0xAB, 0xCD, 0xFF, 0x00}, 2, {0x12, 0xAB, 0xFF}},  // RGB
      {{0x80, 0x70}, 0, {0x80, 0x80, 0x80}},                        // gray
      {{0x40, 0x00, 0x20, 0x00, 0x10, 0x00, 0xFF, 0xFF}, 6, {0x40, 0x20, 0x10}},  // RGBA, opaque
  };
  for (const Case& c : cases) {
    INFO("colour type " << int{c.colour});
    const auto png = png_1x1(c.raw, 16, c.colour);
    const Image im = decode_image(png.data(), png.size(), "16bit.png");
    CHECK(im.format == ImageFormat::png);
    CHECK(im.rgb == c.rgb);
  }
}

TEST_CASE("JPEG EXIF orientation is applied", "[image]") {
  const auto jpeg = read_bytes(kImages + "ukbench09380.jpeg");
  const Image upright = decode_image(jpeg.data(), jpeg.size());
  const std::uint32_t W = upright.width, H = upright.height;
  {
    const auto rotated = with_orientation(jpeg, 6);  // stored rotated: turn 90 degrees clockwise
    CHECK(detail::jpeg_exif_orientation(rotated.data(), rotated.size()) == 6);
    const Image im = decode_image(rotated.data(), rotated.size());
    REQUIRE(im.width == H);
    REQUIRE(im.height == W);
    for (std::uint32_t y : {0u, 17u, W - 1}) {
      for (std::uint32_t x : {0u, 5u, H - 1}) {
        CHECK(std::equal(pixel(im, x, y), pixel(im, x, y) + 3, pixel(upright, y, H - 1 - x)));
      }
    }
    DecodeOptions raw;
    raw.apply_exif_orientation = false;
    CHECK(decode_image(rotated.data(), rotated.size(), "raw", raw).rgb == upright.rgb);
  }
  {
    const auto flipped = with_orientation(jpeg, 3);
    const Image im = decode_image(flipped.data(), flipped.size());
    REQUIRE(im.width == W);
    CHECK(std::equal(pixel(im, 0, 0), pixel(im, 0, 0) + 3, pixel(upright, W - 1, H - 1)));
  }
  for (std::uint16_t o = 1; o <= 8; ++o) {
    const auto oriented = with_orientation(jpeg, o);
    const Image im = decode_image(oriented.data(), oriented.size());
    CHECK(im.width == (o >= 5 ? H : W));
  }
}

TEST_CASE("bad input is refused clearly", "[image][errors]") {
  std::string message;
  CHECK(error_of([] { decode_image_file(kImages + "missing.jpg"); }, &message) == ErrorCode::not_found);
  CHECK_THAT(message, Catch::Matchers::Contains("missing.jpg: no such file"));
  CHECK(error_of([] { decode_image(nullptr, 0, "nothing"); }) == ErrorCode::corrupt_file);
  const auto jpeg = read_bytes(kImages + "ukbench01380.jpg");
  DecodeOptions tight;
  tight.max_pixels = 640 * 480 - 1;
  CHECK(error_of([&] { decode_image(jpeg.data(), jpeg.size(), "big.jpg", tight); }, &message) ==
        ErrorCode::too_large);
  CHECK_THAT(message, Catch::Matchers::Contains("big.jpg: 640x480 = 307200 pixels is more than"));
  // A JPEG cut short of its image data.
  const std::vector<std::uint8_t> cut(jpeg.begin(), jpeg.begin() + 600);
  CHECK(error_of([&] { decode_image(cut.data(), cut.size(), "cut.jpg"); }, &message) ==
        ErrorCode::corrupt_file);
  CHECK_THAT(message, Catch::Matchers::StartsWith("cut.jpg: damaged jpeg data"));
}

TEST_CASE("base64 and data URIs decode to the same image", "[image]") {
  const auto bytes = read_bytes(kImages + "giphy.gif");
  const Image direct = decode_image(bytes.data(), bytes.size());
  const std::string b64 = base64(bytes);
  CHECK(decode_image_base64(b64).rgb == direct.rgb);
  CHECK(decode_image_base64("data:image/gif;base64," + b64).rgb == direct.rgb);
  std::string wrapped;
  for (std::size_t i = 0; i < b64.size(); i += 76) wrapped += b64.substr(i, 76) + "\n";
  CHECK(decode_image_base64(wrapped).rgb == direct.rgb);
  std::string message;
  CHECK(error_of([] { decode_image_base64("R0lGOD*"); }, &message) == ErrorCode::invalid_argument);
  CHECK_THAT(message, Catch::Matchers::Contains("invalid character at position 6"));
  // The library's encoder agrees with this test's own, and round-trips every padding case.
  CHECK(encode_base64(bytes.data(), bytes.size()) == b64);
  for (std::size_t n = 0; n < 6; ++n) {
    const std::vector<std::uint8_t> part(bytes.begin(), bytes.begin() + n);
    CHECK(decode_base64(encode_base64(part.data(), part.size())) == part);
  }
}

TEST_CASE("truncated and corrupted images never crash the decoder", "[image][errors]") {
  // Each variant must decode to a consistent image or throw imgvec::Error; run under ASan in CI.
  std::size_t decoded = 0, refused = 0;
  for (const char* file : {"ukbench01380.jpg", "alpha_channel_image.png", "giphy.gif", "Iggy.256.ppm",
                           "baboon.256.pgm", "ukbench00120_gray.jpg"}) {
    const auto bytes = read_bytes(kImages + file);
    std::vector<std::vector<std::uint8_t>> variants;
    for (std::size_t cut : {std::size_t{1}, std::size_t{8}, std::size_t{40}, std::size_t{200},
                            bytes.size() / 3, bytes.size() / 2, bytes.size() - 1}) {
      variants.emplace_back(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
    }
    for (std::size_t i = 0; i < 40; ++i) {
      auto v = bytes;
      const std::size_t at = (i * 7919 + 13) % std::min<std::size_t>(v.size(), 4096);
      v[at] ^= static_cast<std::uint8_t>(0x5A + i);
      variants.push_back(std::move(v));
    }
    for (const auto& v : variants) {
      try {
        const Image im = decode_image(v.data(), v.size(), file);
        CHECK(im.rgb.size() == std::size_t{im.width} * im.height * 3);
        ++decoded;
      } catch (const Error& e) {
        CHECK_THAT(std::string(e.what()), Catch::Matchers::StartsWith(file));
        ++refused;
      }
    }
  }
  CHECK(refused > 0);
  CHECK(decoded > 0);
}

TEST_CASE("WebP and TIFF variants decode: lossy, lossless, alpha, animated, LZW, greyscale", "[image]") {
  const auto formats = supported_image_formats();
  const bool webp = std::count(formats.begin(), formats.end(), "webp") == 1;
  const bool tiff = std::count(formats.begin(), formats.end(), "tiff") == 1;
  const std::string seeds = std::string(IMGVEC_TEST_DATA_DIR) + "/../fuzz/seeds/";
  std::vector<std::string> files;
  if (webp) files.insert(files.end(), {"small.webp", "small-lossless.webp", "small-alpha.webp", "small-animated.webp"});
  if (tiff) files.insert(files.end(), {"small.tiff", "small-lzw.tiff", "small-gray.tiff"});
  for (const auto& f : files) {
    INFO(f);
    const Image im = decode_image_file(seeds + f);
    CHECK(im.width == 24);
    CHECK(im.height == 18);
    CHECK(im.format == (f.find(".webp") != std::string::npos ? ImageFormat::webp : ImageFormat::tiff));
  }
  if (tiff) {
    // Lossless compressions give the raw file's pixels exactly; greyscale becomes equal channels.
    CHECK(decode_image_file(seeds + "small-lzw.tiff").rgb == decode_image_file(seeds + "small.tiff").rgb);
    const Image grey = decode_image_file(seeds + "small-gray.tiff");
    for (std::size_t p = 0; p < grey.rgb.size(); p += 3) {
      REQUIRE(grey.rgb[p] == grey.rgb[p + 1]);
      REQUIRE(grey.rgb[p] == grey.rgb[p + 2]);
    }
  }
  if (webp) {
    // The first frame of the animation is the unflipped image (the second is its mirror).
    const Image first = decode_image_file(seeds + "small-animated.webp");
    const Image truth = decode_image_file(seeds + "small-lossless.webp");
    Image mirror = truth;
    for (std::uint32_t y = 0; y < truth.height; ++y) {
      for (std::uint32_t x = 0; x < truth.width; ++x) {
        std::copy_n(&truth.rgb[(y * truth.width + truth.width - 1 - x) * 3], 3, &mirror.rgb[(y * truth.width + x) * 3]);
      }
    }
    auto distance = [](const Image& a, const Image& b) {
      double d = 0;
      for (std::size_t i = 0; i < a.rgb.size(); ++i) d += std::abs(int(a.rgb[i]) - int(b.rgb[i]));
      return d / a.rgb.size();
    };
    CHECK(distance(first, truth) < distance(first, mirror) / 2);
    // Alpha: this file is opaque, so compositing leaves it as the lossy decode of the same pixels.
    CHECK(distance(decode_image_file(seeds + "small-alpha.webp"), truth) < 12);
  }
}

TEST_CASE("HEIC and AVIF decode upright, with the colours of the photo they were made from", "[image]") {
  const auto formats = supported_image_formats();
  const Image jpeg = decode_image_file(kImages + "ukbench01380.jpg");
  const Image truth = resize_bicubic(jpeg, 160, 120);  // what heif-enc was given (tests/data/README.md)
  for (const auto& [file, format, name] : {std::tuple{"ukbench01380.heic", ImageFormat::heic, "heic"},
                                           std::tuple{"ukbench01380.avif", ImageFormat::avif, "avif"}}) {
    INFO(file);
    const std::string path = std::string(IMGVEC_TEST_DATA_DIR) + "/formats/" + file;
    if (std::count(formats.begin(), formats.end(), name) == 0) {
      std::string message;
      CHECK(error_of([&] { decode_image_file(path); }, &message) == ErrorCode::unsupported);
      CHECK_THAT(message, Catch::Matchers::Contains(format == ImageFormat::avif ? "AVIF" : "HEIC"));
      continue;
    }
    const Image im = decode_image_file(path);
    CHECK(im.format == format);
    REQUIRE(im.width == 160);
    REQUIRE(im.height == 120);
    double diff = 0;
    for (std::size_t i = 0; i < im.rgb.size(); ++i) diff += std::abs(int(im.rgb[i]) - int(truth.rgb[i]));
    diff /= static_cast<double>(im.rgb.size());
    INFO("mean difference from the source: " << diff << " levels");
    CHECK(diff < 6);  // lossy at quality 70; a wrong orientation or colour order is far above this
  }
}

namespace {

// The EXIF block with_orientation puts in a JPEG, without the JPEG segment around it.
std::vector<std::uint8_t> exif_with_orientation(std::uint16_t orientation) {
  const auto jpeg = with_orientation({0xFF, 0xD8}, orientation);
  return {jpeg.begin() + 2 + 10, jpeg.end()};  // after SOI, the APP1 header and "Exif\0\0"
}

// A PNG of 2x1 RGB pixels (red, blue) with an eXIf chunk holding `exif`.
std::vector<std::uint8_t> png_2x1_with_exif(const std::vector<std::uint8_t>& exif) {
  return png_file({{"IHDR", {0, 0, 0, 2, 0, 0, 0, 1, 8, 2, 0, 0, 0}},
                   {"eXIf", exif},
                   {"IDAT", zlib_compress({0, 255, 0, 0, 0, 0, 255})}});
}

// A simple-format WebP (one VP8 or VP8L chunk) rewritten as an extended one with an EXIF chunk.
std::vector<std::uint8_t> webp_with_exif(const std::vector<std::uint8_t>& simple, std::uint32_t width,
                                         std::uint32_t height, const std::vector<std::uint8_t>& exif) {
  auto le = [](std::vector<std::uint8_t>& v, std::uint32_t x, int bytes) {
    for (int i = 0; i < bytes; ++i) v.push_back(static_cast<std::uint8_t>(x >> (8 * i)));
  };
  std::vector<std::uint8_t> body = {'W', 'E', 'B', 'P', 'V', 'P', '8', 'X'};
  le(body, 10, 4);
  body.push_back(0x08);  // EXIF present
  le(body, 0, 3);
  le(body, width - 1, 3);
  le(body, height - 1, 3);
  body.insert(body.end(), simple.begin() + 12, simple.end());  // the image chunk as it was
  body.insert(body.end(), {'E', 'X', 'I', 'F'});
  le(body, static_cast<std::uint32_t>(exif.size()), 4);
  body.insert(body.end(), exif.begin(), exif.end());
  if (exif.size() % 2) body.push_back(0);
  std::vector<std::uint8_t> out = {'R', 'I', 'F', 'F'};
  le(out, static_cast<std::uint32_t>(body.size()), 4);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

}  // namespace

TEST_CASE("EXIF orientation turns PNG and WebP images upright too", "[image]") {
  SECTION("PNG eXIf chunk") {
    const auto png = png_2x1_with_exif(exif_with_orientation(6));
    const Image im = decode_image(png.data(), png.size(), "oriented.png");
    REQUIRE(im.width == 1);
    REQUIRE(im.height == 2);
    // Turned 90 degrees clockwise: the left (red) pixel ends on top.
    CHECK(std::vector<std::uint8_t>(im.rgb.begin(), im.rgb.begin() + 3) == std::vector<std::uint8_t>{255, 0, 0});
    DecodeOptions raw;
    raw.apply_exif_orientation = false;
    CHECK(decode_image(png.data(), png.size(), "raw.png", raw).width == 2);
  }
  SECTION("WebP EXIF chunk") {
    const auto formats = supported_image_formats();
    if (std::count(formats.begin(), formats.end(), "webp") == 0) return;  // no libwebp in this build
    const auto simple = read_bytes(std::string(IMGVEC_TEST_DATA_DIR) + "/../fuzz/seeds/small-lossless.webp");
    const Image upright = decode_image(simple.data(), simple.size());
    const auto webp = webp_with_exif(simple, upright.width, upright.height, exif_with_orientation(3));
    const Image im = decode_image(webp.data(), webp.size(), "oriented.webp");
    REQUIRE(im.width == upright.width);
    REQUIRE(im.height == upright.height);
    CHECK(std::equal(pixel(im, 0, 0), pixel(im, 0, 0) + 3, pixel(upright, im.width - 1, im.height - 1)));
    CHECK(detail::exif_orientation(detail::find_exif_block(webp.data(), webp.size(), ImageFormat::webp).bytes) == 3);
  }
  SECTION("a damaged EXIF block leaves the image as stored") {
    auto exif = exif_with_orientation(6);
    exif[4] = 0xF0;  // the first IFD's offset now points past the block
    const auto png = png_2x1_with_exif(exif);
    CHECK(decode_image(png.data(), png.size(), "damaged-exif.png").width == 2);
  }
}

TEST_CASE("big JPEGs decode at a reduced scale that keeps the shorter side large enough", "[image]") {
  const Image photo = decode_image_file(kImages + "ukbench01380.jpg");
  const std::string big = encode_jpeg(resize_bicubic(photo, 2000, 1500), 92);
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(big.data());
  const Image full = decode_image(bytes, big.size(), "big.jpg");
  CHECK(full.width == 2000);
  CHECK(full.file_width() == 2000);
  struct Case {
    std::uint32_t min_side, width, height;
  };
  // 1500 / 2 = 750 >= 448 > 1500 / 4; 1500 / 8 = 187.5 rounds up to 188 >= 128.
  for (const Case c : {Case{448, 1000, 750}, Case{128, 250, 188}, Case{1500, 2000, 1500}, Case{1501, 2000, 1500}}) {
    INFO("min_side " << c.min_side);
    DecodeOptions o;
    o.min_side = c.min_side;
    const Image im = decode_image(bytes, big.size(), "big.jpg", o);
    CHECK(im.width == c.width);
    CHECK(im.height == c.height);
    CHECK(im.file_width() == 2000);
    CHECK(im.file_height() == 1500);
    // The same picture: resized to a common size, the scaled decode stays close to the full one.
    const Image a = resize_bicubic(full, 200, 150), b = resize_bicubic(im, 200, 150);
    double diff = 0;
    for (std::size_t i = 0; i < a.rgb.size(); ++i) diff += std::abs(int(a.rgb[i]) - int(b.rgb[i]));
    CHECK(diff / static_cast<double>(a.rgb.size()) < 2.0);
  }
  SECTION("orientation turns the reported file size too") {
    std::vector<std::uint8_t> rotated = with_orientation({bytes, bytes + big.size()}, 6);
    DecodeOptions o;
    o.min_side = 448;
    const Image im = decode_image(rotated.data(), rotated.size(), "rotated.jpg", o);
    CHECK(im.width == 750);
    CHECK(im.height == 1000);
    CHECK(im.file_width() == 1500);
    CHECK(im.file_height() == 2000);
  }
  SECTION("other formats ignore it and decode in full") {
    DecodeOptions o;
    o.min_side = 16;
    const auto png = png_2x1_with_exif(exif_with_orientation(1));
    const Image im = decode_image(png.data(), png.size(), "small.png", o);
    CHECK(im.width == 2);
    CHECK(im.file_width() == 2);
  }
}
