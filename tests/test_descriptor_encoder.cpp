#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>

#include <unistd.h>

#include <stb/stb_image_write.h>

#include "imgvec/encoder/descriptor_encoder.hpp"
#include "imgvec/error.hpp"
#include "imgvec/image/preprocess.hpp"

// The built-in encoder finds near-duplicates: resized, recompressed, cropped and brightened
// copies of real photos (made here) against a gallery of the originals and their quarters.
using namespace imgvec;

namespace {

const std::string kImages = std::string(IMGVEC_TEST_DATA_DIR) + "/images/";
const char* const kFiles[] = {"ukbench01380.jpg", "ukbench09060.jpg", "ukbench00120_gray.jpg",
                              "ukbench09380.jpeg", "alpha_channel_image.png", "giphy.gif",
                              "Iggy.256.ppm", "baboon.256.pgm"};

Image crop(const Image& im, std::uint32_t x, std::uint32_t y, std::uint32_t w, std::uint32_t h) {
  return imgvec::crop_image(im, x, y, w, h);
}

Image jpeg_roundtrip(const Image& im, int quality) {
  std::vector<std::uint8_t> bytes;
  stbi_write_jpg_to_func(
      [](void* ctx, void* data, int n) {
        auto* v = static_cast<std::vector<std::uint8_t>*>(ctx);
        v->insert(v->end(), static_cast<std::uint8_t*>(data), static_cast<std::uint8_t*>(data) + n);
      },
      &bytes, static_cast<int>(im.width), static_cast<int>(im.height), 3, im.rgb.data(), quality);
  return decode_image(bytes.data(), bytes.size(), "roundtrip.jpg");
}

Image brighten(Image im, int delta) {
  for (auto& v : im.rgb) v = static_cast<std::uint8_t>(std::clamp(int{v} + delta, 0, 255));
  return im;
}

float dot(const float* a, const float* b, std::size_t n) {
  float s = 0;
  for (std::size_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

TEST_CASE("the descriptor encoder finds near-duplicates of real photos", "[descriptor]") {
  std::vector<Image> gallery;
  for (const char* f : kFiles) {
    const Image im = decode_image_file(kImages + f);
    gallery.push_back(im);
    const std::uint32_t w = im.width / 2, h = im.height / 2;
    for (std::uint32_t q = 0; q < 4; ++q) gallery.push_back(crop(im, (q % 2) * w, (q / 2) * h, w, h));
  }
  const std::vector<std::pair<const char*, std::function<Image(const Image&)>>> edits = {
      {"half size", [](const Image& im) { return resize_bicubic(im, im.width / 2, im.height / 2); }},
      {"JPEG quality 40", [](const Image& im) { return jpeg_roundtrip(im, 40); }},
      {"5% cropped off each side",
       [](const Image& im) {
         const std::uint32_t dx = im.width / 20, dy = im.height / 20;
         return crop(im, dx, dy, im.width - 2 * dx, im.height - 2 * dy);
       }},
      {"brightened by 25 levels", [](const Image& im) { return brighten(im, 25); }},
      {"all four", [](const Image& im) {
         const std::uint32_t dx = im.width / 20, dy = im.height / 20;
         const Image c = crop(brighten(im, 25), dx, dy, im.width - 2 * dx, im.height - 2 * dy);
         return jpeg_roundtrip(resize_bicubic(c, c.width * 2 / 3, c.height * 2 / 3), 40);
       }}};

  DescriptorEncoder e;
  const std::size_t d = e.dimension();
  const auto base = e.embed_images(gallery);
  std::size_t hits = 0, queries = 0;
  for (const auto& [name, edit] : edits) {
    std::size_t edit_hits = 0;
    float worst_self = 1, best_other = -1;
    for (std::size_t g = 0; g < gallery.size(); ++g) {
      const auto q = e.embed_image(edit(gallery[g]));
      std::size_t best = 0;
      for (std::size_t j = 0; j < gallery.size(); ++j) {
        if (dot(q.data(), &base[j * d], d) > dot(q.data(), &base[best * d], d)) best = j;
        if (j != g) best_other = std::max(best_other, dot(q.data(), &base[j * d], d));
      }
      worst_self = std::min(worst_self, dot(q.data(), &base[g * d], d));
      edit_hits += best == g;
    }
    WARN(name << ": recall@1 " << edit_hits << "/" << gallery.size() << ", lowest cosine to its original "
              << worst_self << ", highest to another image " << best_other);
    hits += edit_hits;
    queries += gallery.size();
  }
  const double recall = static_cast<double>(hits) / static_cast<double>(queries);
  WARN("near-duplicate recall@1 over " << queries << " edited copies: " << recall);
  CHECK(recall >= 0.95);
}

TEST_CASE("the descriptor encoder is deterministic, unit length and refuses text", "[descriptor]") {
  DescriptorEncoder e;
  CHECK(e.dimension() == 448);
  CHECK_FALSE(e.supports_text());
  CHECK(e.fingerprint().kind == "descriptor");
  const Image im = decode_image_file(kImages + "giphy.gif");
  const auto a = e.embed_image(im), b = e.embed_image(im);
  CHECK(a == b);
  CHECK(dot(a.data(), a.data(), a.size()) == Approx(1.0f).epsilon(1e-5));
  Image flat;  // a uniform image has no edges and a flat layout: still a finite unit vector
  flat.width = flat.height = 10;
  flat.rgb.assign(300, 128);
  const auto f = e.embed_image(flat);
  for (float v : f) REQUIRE(std::isfinite(v));
  CHECK_THROWS_AS(e.embed_text("a cat"), Error);
}

TEST_CASE("fast decoding of big JPEGs keeps the vector and the record's true size", "[descriptor][image]") {
  const Image photo = decode_image_file(kImages + "ukbench09060.jpg");
  const std::string big = encode_jpeg(resize_bicubic(photo, 2400, 1800), 92);
  const std::string path = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                           "/imgvec-fast-decode-" + std::to_string(::getpid()) + ".jpg";
  { std::ofstream(path, std::ios::binary) << big; }
  DescriptorEncoder encoder;
  CHECK(encoder.fast_decode());
  CHECK(encoder.decode_options().min_side == 128);
  const auto fast = encoder.embed_image_files({path});
  encoder.set_fast_decode(false);
  CHECK(encoder.decode_options().min_side == 0);
  const auto exact = encoder.embed_image_files({path});
  std::remove(path.c_str());
  REQUIRE(fast[0].ok());
  REQUIRE(exact[0].ok());
  // The file's size, not the decoded one (1/8 scale: 300x225).
  CHECK(fast[0].width == 2400);
  CHECK(fast[0].height == 1800);
  double dot = 0;
  for (std::size_t i = 0; i < fast[0].vector.size(); ++i) dot += fast[0].vector[i] * exact[0].vector[i];
  INFO("cosine between the fast and the exact path: " << dot);
  CHECK(dot > 0.995);
  CHECK(dot < 1.0 - 1e-7);  // it did decode differently
}
