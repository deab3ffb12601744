#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "imgvec/error.hpp"
#include "imgvec/metadata/metadata_store.hpp"
#include "io/checked_file.hpp"

using namespace imgvec;
namespace fs = std::filesystem;

namespace {

ImageRecord record(Id id, const std::string& source, std::uint64_t hash) {
  ImageRecord r;
  r.id = id;
  r.source = source;
  r.content_hash = hash;
  r.file_size = 1000 + id;
  r.mtime_ns = 1700000000123456789LL + static_cast<std::int64_t>(id);
  r.width = 640;
  r.height = 480;
  r.format = ImageFormat::jpeg;
  r.added_ms = 1763800000000LL;
  r.metadata = {{"camera", std::string("X100")},
                {"iso", std::int64_t{400}},
                {"exposure", 0.125},
                {"favourite", id % 2 == 0},
                {"people", std::vector<std::string>{"ana", "bo"}}};
  r.tags = {"holiday", "2024"};
  return r;
}

ErrorCode load_error(const std::string& path, std::string* message) {
  try {
    MetadataStore::load(path);
  } catch (const Error& e) {
    *message = e.what();
    return e.code();
  }
  FAIL("loaded " << path);
  return ErrorCode::invalid_argument;
}

}  // namespace

TEST_CASE("records are stored, replaced, found by source and hash, removed", "[metadata]") {
  MetadataStore s;
  s.put(record(1, "/photos/a.jpg", 11));
  s.put(record(2, "/photos/b.jpg", 22));
  s.put(record(3, "", 22));  // added from memory, same bytes as 2
  CHECK(s.size() == 3);
  CHECK(s.ids() == std::vector<Id>{1, 2, 3});
  REQUIRE(s.get(1));
  CHECK(std::get<std::int64_t>(s.get(1)->metadata.at("iso")) == 400);
  CHECK(s.find_source("/photos/b.jpg") == Id{2});
  CHECK_FALSE(s.find_source("/photos/c.jpg"));
  CHECK(s.find_hash(22) == std::vector<Id>{2, 3});
  // Replacing moves the lookups with the record.
  s.put(record(2, "/photos/renamed.jpg", 33));
  CHECK_FALSE(s.find_source("/photos/b.jpg"));
  CHECK(s.find_source("/photos/renamed.jpg") == Id{2});
  CHECK(s.find_hash(22) == std::vector<Id>{3});
  CHECK(s.remove(3));
  CHECK_FALSE(s.remove(3));
  CHECK(s.find_hash(22).empty());
  CHECK(s.get(3) == nullptr);
}

TEST_CASE("a saved store loads back identical", "[metadata]") {
  const fs::path dir = fs::temp_directory_path() / "imgvec-metadata-test";
  fs::create_directories(dir);
  const std::string path = (dir / "meta.imgvmeta").string();
  MetadataStore s;
  for (Id id = 1; id <= 500; ++id) s.put(record(id * 7, "/p/" + std::to_string(id) + ".jpg", id % 50));
  ImageRecord odd = record(99999, "/ünïcode path/ø.png", 5);
  odd.metadata["empty"] = std::string();
  odd.metadata["list"] = std::vector<std::string>{};
  odd.metadata["negative"] = std::int64_t{-5};
  s.put(odd);
  s.save(path);
  const MetadataStore loaded = MetadataStore::load(path);
  REQUIRE(loaded.size() == s.size());
  for (Id id : s.ids()) {
    REQUIRE(loaded.get(id));
    CHECK(*loaded.get(id) == *s.get(id));
  }
  CHECK(loaded.find_hash(5).size() == s.find_hash(5).size());
  CHECK(loaded.find_source("/ünïcode path/ø.png") == Id{99999});
  // Saving again replaces the file atomically: no temporary files stay behind.
  s.remove(99999);
  s.save(path);
  CHECK(MetadataStore::load(path).size() == 500);
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) files += entry.is_regular_file();
  CHECK(files == 1);
  fs::remove_all(dir);
}

TEST_CASE("damaged, truncated, foreign and newer metadata files are refused", "[metadata][errors]") {
  const fs::path dir = fs::temp_directory_path() / "imgvec-metadata-bad";
  fs::create_directories(dir);
  const std::string good = (dir / "good").string();
  MetadataStore s;
  for (Id id = 1; id <= 20; ++id) s.put(record(id, "/p/" + std::to_string(id), id));
  s.save(good);
  std::ifstream in(good, std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  auto write = [&](const std::string& name, const std::string& content) {
    const std::string path = (dir / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  };
  std::string message;
  CHECK(load_error((dir / "missing").string(), &message) == ErrorCode::not_found);
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x20;
  CHECK(load_error(write("flipped", flipped), &message) == ErrorCode::corrupt_file);
  CHECK_THAT(message, Catch::Matchers::Contains("checksum"));
  CHECK(load_error(write("truncated", bytes.substr(0, bytes.size() - 10)), &message) == ErrorCode::corrupt_file);
  CHECK_THAT(message, Catch::Matchers::Contains("truncated"));
  CHECK(load_error(write("short", bytes.substr(0, 20)), &message) == ErrorCode::corrupt_file);
  CHECK(load_error(write("foreign", "IMGVIDX" + bytes.substr(7)), &message) == ErrorCode::corrupt_file);
  CHECK_THAT(message, Catch::Matchers::Contains("wrong magic"));
  const std::string newer = (dir / "newer").string();
  detail::write_checked_file(newer, "IMGVMETA", 2, 0, "from the future");
  CHECK(load_error(newer, &message) == ErrorCode::unsupported);
  CHECK_THAT(message, Catch::Matchers::Contains("format version 2 is newer"));
  fs::remove_all(dir);
}
