#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

#include "imgvec/error.hpp"
#include "imgvec/image/image.hpp"
#include "imgvec/image/preprocess.hpp"
#include "preprocess_reference.hpp"

// Parity with PIL + torchvision, from reference files that tests/reference/pil_preprocess.py
// writes into the build tree (see its docstring for the layout and the sizes).
using namespace imgvec;
using namespace imgvec::testing;

namespace {

struct Diff {
  double mean = 0, max = 0;
};

template <class A, class B>
Diff diff(const A& a, const B& b) {
  REQUIRE(a.size() == b.size());
  Diff d;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double e = std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
    d.mean += e;
    d.max = std::max(d.max, e);
  }
  d.mean /= static_cast<double>(a.size());
  return d;
}

}  // namespace

TEST_CASE("bicubic resizing gives Pillow's bytes exactly", "[preprocess]") {
  for (const TestImage& t : kTestImages) {
    INFO(t.file);
    const Reference ref = load_reference(t.file);
    for (const Image& expected : ref.resized) {
      INFO(expected.width << "x" << expected.height);
      const Image ours = resize_bicubic(ref.decoded, expected.width, expected.height);
      CHECK(ours.rgb == expected.rgb);
    }
  }
}

TEST_CASE("CLIP preprocessing matches torchvision on the same pixels", "[preprocess]") {
  for (const TestImage& t : kTestImages) {
    INFO(t.file);
    const Reference ref = load_reference(t.file);
    for (std::size_t i = 0; i < std::size(kPreprocessSizes); ++i) {
      PreprocessConfig config;
      config.image_size = kPreprocessSizes[i];
      const Diff d = diff(preprocess_clip(ref.decoded, config), ref.tensors[i]);
      INFO("size " << config.image_size << ": mean " << d.mean << ", max " << d.max);
      // The pixels are identical; the float arithmetic may differ in the last bit.
      CHECK(d.max <= 1e-6);
    }
  }
}

TEST_CASE("decode plus preprocessing matches the Python pipeline within tolerance", "[preprocess]") {
  double worst_mean = 0, worst_max = 0;
  for (const TestImage& t : kTestImages) {
    INFO(t.file);
    const Reference ref = load_reference(t.file);
    const auto formats = supported_image_formats();
    const std::string ext = std::string(t.file).substr(std::string(t.file).rfind('.') + 1);
    if ((ext == "webp" || ext == "tiff") && std::count(formats.begin(), formats.end(), ext) == 0) {
      continue;  // a build without libwebp or libtiff refuses these (test_image.cpp checks how)
    }
    const Image ours = decode_image_file(kImages + t.file);
    REQUIRE(ours.width == ref.decoded.width);
    REQUIRE(ours.height == ref.decoded.height);
    const Diff pixels = diff(ours.rgb, ref.decoded.rgb);
    INFO("decoded pixels: mean " << pixels.mean << ", max " << pixels.max << " levels");
    // JPEGs too: both sides decode with libjpeg-turbo's accurate IDCT and fancy upsampling.
    CHECK(pixels.max == 0);
    for (std::size_t i = 0; i < std::size(kPreprocessSizes); ++i) {
      PreprocessConfig config;
      config.image_size = kPreprocessSizes[i];
      const Diff d = diff(preprocess_clip(ours, config), ref.tensors[i]);
      INFO("size " << config.image_size << ": mean " << d.mean << ", max " << d.max);
      CHECK(d.mean <= 0.01);
      CHECK(d.max <= 0.1);
      worst_mean = std::max(worst_mean, d.mean);
      worst_max = std::max(worst_max, d.max);
    }
  }
  WARN("end-to-end vs PIL + torchvision, worst image: mean |diff| " << worst_mean << ", max "
                                                                     << worst_max);
}

TEST_CASE("preprocessing geometry follows torchvision", "[preprocess]") {
  CHECK(clip_resize_size(640, 480, 224) == std::array<std::uint32_t, 2>{298, 224});
  CHECK(clip_resize_size(314, 400, 224) == std::array<std::uint32_t, 2>{224, 285});
  CHECK(clip_resize_size(100, 100, 224) == std::array<std::uint32_t, 2>{224, 224});
  CHECK(clip_resize_size(1, 10000, 224) == std::array<std::uint32_t, 2>{224, 2240000});
  // A one-pixel image becomes a flat tensor of its colour.
  Image dot;
  dot.width = dot.height = 1;
  dot.rgb = {255, 0, 128};
  PreprocessConfig config;
  config.image_size = 8;
  const auto t = preprocess_clip(dot, config);
  REQUIRE(t.size() == 3 * 64);
  CHECK(t[0] == Approx((1.0f - config.mean[0]) / config.std[0]));
  CHECK(t[64 + 63] == Approx((0.0f - config.mean[1]) / config.std[1]));
  CHECK(t[128 + 7] == Approx((128.0f / 255.0f - config.mean[2]) / config.std[2]));
}

TEST_CASE("preprocessing refuses empty input", "[preprocess][errors]") {
  Image empty;
  CHECK_THROWS_AS(preprocess_clip(empty, PreprocessConfig{}), Error);
  Image bad;
  bad.width = 4;
  bad.height = 4;
  bad.rgb.resize(5);
  CHECK_THROWS_AS(resize_bicubic(bad, 2, 2), Error);
  Image ok;
  ok.width = ok.height = 2;
  ok.rgb.assign(12, 7);
  CHECK_THROWS_AS(resize_bicubic(ok, 0, 2), Error);
  PreprocessConfig zero;
  zero.image_size = 0;
  CHECK_THROWS_AS(preprocess_clip(ok, zero), Error);
}

TEST_CASE("rotate_image turns clockwise by quarter turns", "[preprocess]") {
  Image im;  // 2x1: a red pixel left of a blue one
  im.width = 2;
  im.height = 1;
  im.rgb = {255, 0, 0, 0, 0, 255};
  const Image quarter = rotate_image(im, 1);
  REQUIRE(quarter.width == 1);
  REQUIRE(quarter.height == 2);
  CHECK(quarter.rgb == std::vector<std::uint8_t>{255, 0, 0, 0, 0, 255});  // red on top
  const Image half = rotate_image(im, 2);
  CHECK(half.width == 2);
  CHECK(half.rgb == std::vector<std::uint8_t>{0, 0, 255, 255, 0, 0});
  CHECK(rotate_image(im, 3).rgb == std::vector<std::uint8_t>{0, 0, 255, 255, 0, 0});  // blue on top
  CHECK(rotate_image(im, -1).rgb == rotate_image(im, 3).rgb);
  CHECK(rotate_image(im, 4).rgb == im.rgb);
  CHECK(rotate_image(rotate_image(im, 1), -1).width == 2);
  CHECK_THROWS_AS(rotate_image(Image(), 1), Error);
}
