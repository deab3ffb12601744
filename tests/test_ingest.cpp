// The ingest stage reads each new file once and decodes it once (issue 20, item 3): counted by
// the library's read counters (io/read_counters.hpp), not timed.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "imgvec/imgvec.hpp"
#include "io/read_counters.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace imgvec;

namespace {

struct Counted {
  std::uint64_t bytes, decodes;
};

Counted now() {
  const auto& c = detail::read_counters();
  return {c.file_bytes.load(), c.decodes.load()};
}

Counted since(const Counted& before) {
  const Counted after = now();
  return {after.bytes - before.bytes, after.decodes - before.decodes};
}

std::vector<std::uint8_t> file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("index_directory reads each new file once and decodes it once", "[db][ingest]") {
  testing::TempDir tmp;
  const fs::path photos = tmp.path / "photos";
  fs::copy(IMGVEC_TEST_DATA_DIR "/images", photos);
  auto db = VectorDatabase::create(tmp.file("db"), std::make_shared<DescriptorEncoder>());

  Counted before = now();
  const IndexDirectoryReport r = db->index_directory(photos.string());
  const Counted first = since(before);
  REQUIRE(r.added >= 8);
  REQUIRE(r.failed >= 1);
  std::uint64_t expected_bytes = 0;
  for (Id id : db->ids()) expected_bytes += db->get(id)->file_size;
  for (const AddResult& f : r.failures) expected_bytes += fs::file_size(f.source);
  CHECK(first.bytes == expected_bytes);            // each file's size, once
  CHECK(first.decodes == r.added + r.failed);      // one decode each, broken files included

  SECTION("unchanged files are not read again") {
    before = now();
    db->index_directory(photos.string());
    const Counted again = since(before);
    CHECK(again.bytes == 0);
    CHECK(again.decodes == 0);
  }
  SECTION("a renamed file is read once, to recognise its bytes, and not decoded") {
    fs::rename(photos / "giphy.gif", photos / "renamed.gif");
    before = now();
    const IndexDirectoryReport moved = db->index_directory(photos.string());
    const Counted rename = since(before);
    CHECK(moved.renamed == 1);
    CHECK(rename.bytes == fs::file_size(photos / "renamed.gif"));
    CHECK(rename.decodes == 0);
  }
  SECTION("a moved file copied twice: one copy takes the record, the other is a new image") {
    // Both copies hash to the image whose file is gone; the first takes its record, and the
    // second, set aside as a move too, is then embedded as an image of its own.
    const Id original = *db->find_source((photos / "giphy.gif").string());
    fs::copy_file(photos / "giphy.gif", photos / "copy-a.gif");
    fs::rename(photos / "giphy.gif", photos / "copy-b.gif");
    before = now();
    const IndexDirectoryReport moved = db->index_directory(photos.string());
    CHECK(moved.renamed == 1);
    CHECK(moved.added == 1);
    CHECK(since(before).decodes == 1);
    const auto a = db->find_source((photos / "copy-a.gif").string());
    const auto b = db->find_source((photos / "copy-b.gif").string());
    REQUIRE((a && b));
    CHECK((*a == original || *b == original));
    CHECK(*a != *b);
    CHECK(db->index_directory(photos.string()).unchanged == r.added + 1);
  }
  SECTION("bytes from memory (an upload) are decoded once and not read back from the disk") {
    std::vector<std::uint8_t> changed = file_bytes(photos / "Iggy.256.ppm");
    REQUIRE(changed.size() > 1000);
    changed[1000] ^= 1;  // other bytes (a pixel's): a new image
    before = now();
    const AddResult added = db->import_image_bytes(changed.data(), changed.size(), "upload.ppm");
    const Counted stored = since(before);
    CHECK(added.status == AddStatus::added);
    CHECK(stored.bytes == 0);
    CHECK(stored.decodes == 1);
  }
  SECTION("an upload over the caller's limits is refused by its one decode, and leaves no file") {
    const std::vector<std::uint8_t> upload = file_bytes(photos / "Iggy.256.ppm");
    DecodeOptions tight;
    tight.max_pixels = 100;
    const std::size_t count = db->size();
    before = now();
    try {
      const AddResult r = db->import_image_bytes(upload.data(), upload.size(), "big.ppm", {}, {}, tight);
      FAIL("a 256x256 upload passed a 100-pixel limit: " << to_string(r.status) << " " << r.source);
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::too_large);
      CHECK_THAT(e.what(), Catch::Matchers::StartsWith("big.ppm"));
    }
    CHECK(since(before).decodes == 1);
    CHECK(db->size() == count);
    const fs::path files = fs::path(db->directory()) / "files";
    CHECK((!fs::exists(files) || fs::is_empty(files)));
  }
}

TEST_CASE("Encoder::embed_image_files gives vectors only, and embed_made_images takes the caller's images",
          "[encoder][ingest]") {
  DescriptorEncoder encoder;
  const std::string gif = IMGVEC_TEST_DATA_DIR "/images/giphy.gif";
  const auto files = encoder.embed_image_files({gif, IMGVEC_TEST_DATA_DIR "/images/missing.jpg"});
  REQUIRE(files.size() == 2);
  CHECK(files[0].ok());
  CHECK(files[0].vector.size() == encoder.dimension());
  CHECK(files[0].format == ImageFormat::gif);
  CHECK_FALSE(files[1].ok());
  CHECK_THAT(files[1].error, Catch::Matchers::Contains("missing.jpg"));
  // The same image made by the caller gives the same vector; a make that throws fails its item.
  const Image image = decode_image_file(gif, encoder.decode_options());
  const auto made = encoder.embed_made_images({"a", "b"}, [&](std::size_t i, Image& out) {
    if (i == 1) throw Error(ErrorCode::corrupt_file, "b: not an image");
    out = image;
  });
  CHECK(made[0].vector == files[0].vector);
  CHECK(made[1].error == "b: not an image");
}
