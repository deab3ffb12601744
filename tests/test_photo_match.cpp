#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "imgvec/database.hpp"
#include "imgvec/encoder/descriptor_encoder.hpp"
#include "imgvec/error.hpp"
#include "imgvec/image/image.hpp"
#include "imgvec/image/photo_match.hpp"
#include "imgvec/image/preprocess.hpp"

// Verifying duplicates on their pixels: copies of one photo match; other shots of a scene, other
// photos and photos that only share a caption bar do not.
using namespace imgvec;
namespace fs = std::filesystem;

namespace {

const fs::path kImages = fs::path(IMGVEC_TEST_DATA_DIR) / "images";

Image photo(const char* name) { return decode_image_file((kImages / name).string()); }

Image keep_centre(const Image& im, double keep) {
  const auto w = static_cast<std::uint32_t>(im.width * keep), h = static_cast<std::uint32_t>(im.height * keep);
  return crop_image(im, (im.width - w) / 2, (im.height - h) / 2, w, h);
}

Image keep_corner(const Image& im, double keep) {
  return crop_image(im, 0, 0, static_cast<std::uint32_t>(im.width * keep), static_cast<std::uint32_t>(im.height * keep));
}

// Word-like dark strokes over the lower fifth, optionally on a white bar, as a caption is.
Image written_on(Image im, bool bar) {
  const std::uint32_t top = im.height * 4 / 5, glyph = std::max<std::uint32_t>(3, im.height / 40);
  auto paint = [&](std::uint32_t x0, std::uint32_t y0, std::uint32_t w, std::uint32_t h, std::uint8_t v) {
    for (std::uint32_t y = y0; y < std::min(im.height, y0 + h); ++y) {
      for (std::uint32_t x = x0; x < std::min(im.width, x0 + w); ++x) {
        std::fill_n(&im.rgb[(y * std::size_t{im.width} + x) * 3], 3, v);
      }
    }
  };
  if (bar) paint(0, top, im.width, im.height - top, 250);
  std::uint32_t word = 0;
  for (std::uint32_t line = top + glyph; line + 2 * glyph < im.height; line += 2 * glyph) {
    for (std::uint32_t x = im.width / 20; x + glyph < im.width * 19 / 20; x += glyph * 3 / 2) {
      if (++word % 5 == 0) continue;  // a space
      paint(x, line, glyph, glyph, bar ? 20 : 245);
    }
  }
  return im;
}

Image reencoded(const Image& im, int quality) {
  const std::string bytes = encode_jpeg(im, quality);
  return decode_image(bytes.data(), bytes.size());
}

bool same(const Image& a, const Image& b) { return match_photos(photo_features(a), photo_features(b)).same_photo; }

}  // namespace

TEST_CASE("photo matching: copies of a photo match", "[photo_match]") {
  if (!photo_matching_available()) {
    CHECK_THROWS_MATCHES(photo_features(photo("ukbench01380.jpg")), Error,
                         Catch::Predicate<Error>([](const Error& e) { return e.code() == ErrorCode::unsupported; }));
    return;
  }
  for (const char* name : {"ukbench01380.jpg", "ukbench09060.jpg", "baboon.256.pgm"}) {
    INFO(name);
    const Image original = photo(name);
    const PhotoFeatures f = photo_features(original);
    CHECK(f.keypoints() > 100);
    CHECK(f.memory_bytes() > 0);
    CHECK(match_photos(f, f).same_photo);
    CHECK(same(original, resize_bicubic(original, original.width / 3, original.height / 3)));
    CHECK(same(original, reencoded(original, 30)));
    CHECK(same(original, keep_centre(original, 0.9)));
    CHECK(same(keep_corner(original, 0.9), original));
    CHECK(same(original, keep_centre(original, 0.8)));
    CHECK(same(original, written_on(original, false)));
    CHECK(same(original, written_on(original, true)));
    CHECK(same(rotate_image(original, 1), original));
    const PhotoMatch m = match_photos(f, photo_features(keep_centre(original, 0.9)));
    CHECK(m.inliers >= 15);
    CHECK(m.overlap == Approx(0.81).margin(0.03));  // the crop keeps 0.9 x 0.9 of the original
    CHECK(m.agreement > 0.9);
  }
}

TEST_CASE("photo matching: other shots of a scene, other photos and a shared caption bar do not match",
          "[photo_match]") {
  if (!photo_matching_available()) return;
  const Image a = photo("ukbench01380.jpg"), b = photo("ukbench09060.jpg");
  CHECK_FALSE(same(a, b));
  // Two overlapping views: the left and the right 60% share a third of each.
  const auto w = static_cast<std::uint32_t>(a.width * 0.6);
  const Image left = crop_image(a, 0, 0, w, a.height), right = crop_image(a, a.width - w, 0, w, a.height);
  const PhotoMatch views = match_photos(photo_features(left), photo_features(right));
  CHECK_FALSE(views.same_photo);
  CHECK(views.overlap < 0.5);
  // Half the frame is not a copy either.
  CHECK_FALSE(same(a, keep_centre(a, 0.5)));
  // Different photos under the very same caption bar match in the bar and nowhere else.
  const Image b_sized = resize_bicubic(b, a.width, a.height);
  CHECK_FALSE(same(written_on(a, true), written_on(b_sized, true)));
  // An image without texture has nothing to match, not even itself.
  Image flat;
  flat.width = flat.height = 200;
  flat.rgb.assign(200 * 200 * 3, 128);
  const PhotoFeatures ff = photo_features(flat);
  CHECK(ff.keypoints() == 0);
  CHECK_FALSE(match_photos(ff, ff).same_photo);
  CHECK_FALSE(match_photos(ff, photo_features(a)).same_photo);
  CHECK_FALSE(match_photos(PhotoFeatures(), photo_features(a)).same_photo);  // empty features
  CHECK_THROWS_AS(photo_features(Image()), Error);
  Image tiny;
  tiny.width = tiny.height = 1;
  tiny.rgb = {1, 2, 3};
  CHECK_FALSE(match_photos(photo_features(tiny), photo_features(tiny)).same_photo);
  // A sliver: the working copy is 480 x 1, and nothing breaks.
  Image sliver;
  sliver.width = 3000;
  sliver.height = 2;
  sliver.rgb.resize(3000 * 2 * 3);
  for (std::size_t i = 0; i < sliver.rgb.size(); ++i) sliver.rgb[i] = static_cast<std::uint8_t>(i * 7919 % 251);
  CHECK_FALSE(match_photos(photo_features(sliver), photo_features(a)).same_photo);
  CHECK_FALSE(match_photos(photo_features(a), photo_features(sliver)).same_photo);
}

TEST_CASE("find_duplicates verifies near pairs on their files", "[photo_match][dups][db]") {
  const fs::path root = fs::temp_directory_path() / "imgvec-photo-match";
  fs::remove_all(root);
  fs::create_directories(root / "photos");
  struct Cleanup {
    fs::path p;
    ~Cleanup() { fs::remove_all(p); }
  } cleanup{root};
  const Image a = photo("ukbench01380.jpg");
  auto write = [&](const Image& im, const char* name) {
    std::ofstream((root / "photos" / name).string(), std::ios::binary) << encode_jpeg(im, 90);
    return (root / "photos" / name).string();
  };
  fs::copy_file(kImages / "ukbench01380.jpg", root / "photos" / "original.jpg");
  const std::string crop_path = write(keep_corner(a, 0.9), "cropped.jpg");
  const std::string caption_path = write(written_on(a, true), "captioned.jpg");
  const auto w = static_cast<std::uint32_t>(a.width * 0.6);
  write(crop_image(a, 0, 0, w, a.height), "left view.jpg");
  write(crop_image(a, a.width - w, 0, w, a.height), "right view.jpg");
  fs::copy_file(kImages / "ukbench09060.jpg", root / "photos" / "other.jpg");
  auto db = VectorDatabase::create((root / "db").string(), std::make_shared<DescriptorEncoder>());
  db->index_directory((root / "photos").string());
  REQUIRE(db->size() == 6);
  auto name = [&](Id id) { return fs::path(db->get(id)->source).filename().string(); };
  auto members = [&](const DuplicateGroup& g) {
    std::vector<std::string> out;
    for (Id id : g.ids) out.push_back(name(id));
    std::sort(out.begin(), out.end());
    return out;
  };

  DuplicateOptions vectors_only;
  vectors_only.verify = false;
  const auto by_vectors = db->find_duplicates(vectors_only);
  for (const auto& g : by_vectors) {
    for (Id id : g.ids) CHECK(name(id) != "cropped.jpg");  // vectors alone miss the crop
  }
  if (!photo_matching_available()) {
    CHECK(db->find_duplicates().size() == by_vectors.size());
    return;
  }
  std::size_t calls = 0, last_done = 0, last_total = 0;
  DuplicateOptions o;
  o.progress = [&](std::size_t done, std::size_t total) {
    ++calls;
    CHECK(done > last_done);
    CHECK(done <= total);
    last_done = done;
    last_total = total;
  };
  const auto groups = db->find_duplicates(o);
  REQUIRE(groups.size() == 1);
  CHECK(members(groups[0]) == std::vector<std::string>{"captioned.jpg", "cropped.jpg", "original.jpg"});
  CHECK(name(groups[0].keeper) == "original.jpg");
  CHECK(calls >= 1);
  CHECK(last_done == last_total);
  for (std::size_t i = 0; i < groups[0].ids.size(); ++i) {
    if (name(groups[0].ids[i]) == "cropped.jpg") CHECK(groups[0].matched_by[i] == DuplicateMatch::verified);
  }

  // A file changed since it was indexed is not verified: its bytes are not what was indexed.
  fs::copy_file(kImages / "ukbench09060.jpg", crop_path, fs::copy_options::overwrite_existing);
  const auto after_change = db->find_duplicates();
  REQUIRE(after_change.size() == 1);
  CHECK(members(after_change[0]) == std::vector<std::string>{"captioned.jpg", "original.jpg"});
  // Nor is one that is gone; and the rest still is.
  fs::remove(caption_path);
  for (const auto& g : db->find_duplicates()) {
    for (Id id : g.ids) CHECK(name(id) != "captioned.jpg");
  }
  // Candidates at or above the threshold leave nothing to verify.
  o.candidate_threshold = o.threshold;
  calls = 0;
  db->find_duplicates(o);
  CHECK(calls == 0);
}
