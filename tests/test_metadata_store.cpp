#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <fstream>
#include <cstring>
#include <iterator>
#include <sstream>

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

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

// The records of a saved file as format 2 held them: format 3's trailer (the counts and the id
// table, found through the payload's last 8 bytes) cut off.
std::string records_payload(const std::string& path) {
  std::string payload = detail::read_checked_file(path, "IMGVMETA", 3).bytes;
  std::uint64_t trailer;
  std::memcpy(&trailer, payload.data() + payload.size() - 8, 8);
  payload.resize(trailer);
  return payload;
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
  detail::write_checked_file(newer, "IMGVMETA", 4, 1, "from the future");
  CHECK(load_error(newer, &message) == ErrorCode::unsupported);
  CHECK_THAT(message, Catch::Matchers::Contains("written by a newer imgvec (META format 4.1)"));
  fs::remove_all(dir);
}

// ---- Format evolution: files written by an older and a newer imgvec. ----

namespace legacy {
// Format 1.0 exactly as imgvec 0.1 wrote it: cereal's portable binary archive over the records.
template <class Archive>
void serialize(Archive& ar, ImageRecord& r, const std::uint32_t) {
  auto format = static_cast<std::uint8_t>(r.format);
  ar(r.id, r.source, r.content_hash, r.file_size, r.mtime_ns, r.width, r.height, format, r.added_ms, r.metadata,
     r.tags);
}
struct Record {
  ImageRecord r;
  template <class Archive>
  void serialize(Archive& ar, const std::uint32_t version) {
    legacy::serialize(ar, r, version);
  }
};
std::string payload(const std::vector<ImageRecord>& records) {
  std::ostringstream buffer;
  {
    cereal::PortableBinaryOutputArchive ar(buffer);
    const std::uint64_t count = records.size();
    ar(count);
    for (const auto& r : records) {
      Record wrapped{r};
      ar(wrapped);
    }
  }
  return buffer.str();
}
}  // namespace legacy
CEREAL_CLASS_VERSION(legacy::Record, 1)

TEST_CASE("metadata files of format 1.0 (imgvec 0.1) still load", "[metadata][versions]") {
  const fs::path dir = fs::temp_directory_path() / "imgvec-metadata-v1";
  fs::create_directories(dir);
  std::vector<ImageRecord> records;
  for (Id id = 1; id <= 5; ++id) records.push_back(record(id, "/p/" + std::to_string(id), id * 7));
  const std::string path = (dir / "v1").string();
  detail::write_checked_file(path, "IMGVMETA", 1, 0, legacy::payload(records));
  const MetadataStore s = MetadataStore::load(path);
  REQUIRE(s.size() == 5);
  for (const auto& r : records) CHECK(*s.get(r.id) == r);
  detail::write_checked_file(path, "IMGVMETA", 1, 0, legacy::payload({}));
  CHECK(MetadataStore::load(path).size() == 0);
  fs::remove_all(dir);
}

TEST_CASE("a newer minor version's appended record fields are skipped", "[metadata][versions]") {
  const fs::path dir = fs::temp_directory_path() / "imgvec-metadata-newer";
  fs::create_directories(dir);
  const std::string path = (dir / "m").string();
  MetadataStore s;
  s.put(record(1, "/a", 1));
  s.put(record(2, "/b", 2));
  s.save(path);
  // Rewrite as a 2.7 writer would: each record framed with 5 more bytes of a future field.
  std::string payload = records_payload(path);
  std::string newer = payload.substr(0, 8);
  std::size_t at = 8;
  while (at < payload.size()) {
    std::uint64_t length;
    std::memcpy(&length, payload.data() + at, 8);
    const std::uint64_t longer = length + 5;
    newer.append(reinterpret_cast<const char*>(&longer), 8);
    newer += payload.substr(at + 8, length) + "FUTUR";
    at += 8 + length;
  }
  detail::write_checked_file(path, "IMGVMETA", 2, 7, newer);
  const MetadataStore loaded = MetadataStore::load(path);
  CHECK(*loaded.get(1) == record(1, "/a", 1));
  CHECK(*loaded.get(2) == record(2, "/b", 2));
  // A newer major version says so even when its header is checksummed some other way.
  std::string bytes = "IMGVMETA";
  bytes += std::string("\x04\x00\x02\x00", 4) + std::string(36, '\x55');
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  std::string message;
  CHECK(load_error(path, &message) == ErrorCode::unsupported);
  CHECK_THAT(message, Catch::Matchers::Contains("newer imgvec (META format 4.2)"));
  fs::remove_all(dir);
}

// Regression: a crafted file with valid checksums loaded a bool of value 246 (undefined behaviour).
TEST_CASE("a crafted record with an impossible bool or sizes is refused", "[metadata][errors]") {
  const fs::path dir = fs::temp_directory_path() / "imgvec-metadata-crafted";
  fs::create_directories(dir);
  const std::string path = (dir / "m").string();
  ImageRecord r;
  r.id = 1;
  r.metadata = {{"flag", true}};
  MetadataStore s;
  s.put(r);
  s.save(path);
  std::string payload = records_payload(path);
  // The tags count (8 zero bytes), the empty photo facts (53 bytes, format 2.1), the empty
  // analysis (18 bytes, 2.2), no labels (4 bytes, 2.3) and an empty precision (8 bytes, 2.5) end
  // the record.
  const std::size_t bool_at = payload.size() - 8 - 4 - 18 - 53 - 9;
  REQUIRE(payload[bool_at] == 1);
  payload[bool_at] = static_cast<char>(246);
  detail::write_checked_file(path, "IMGVMETA", 2, 0, payload);
  std::string message;
  CHECK(load_error(path, &message) == ErrorCode::corrupt_file);
  CHECK_THAT(message, Catch::Matchers::Contains("bool of value 246"));
  // A string claiming 2^60 bytes: refused before any allocation.
  payload[bool_at] = 1;
  const std::uint64_t huge = 1ull << 60;
  std::memcpy(&payload[8 + 8 + 8], &huge, 8);  // the source string's length
  detail::write_checked_file(path, "IMGVMETA", 2, 0, payload);
  CHECK(load_error(path, &message) == ErrorCode::corrupt_file);
  CHECK_THAT(message, Catch::Matchers::Contains("truncated record"));
  fs::remove_all(dir);
}

TEST_CASE("photo facts survive a save, and records of format 2.0 read without them", "[metadata][versions]") {
  const fs::path dir = fs::temp_directory_path() / "imgvec-metadata-facts";
  fs::create_directories(dir);
  const std::string path = (dir / "m").string();
  MetadataStore s;
  ImageRecord full = record(1, "/a", 1);
  full.photo.taken_ms = 1685628202120;
  full.photo.taken_offset_min = -330;
  full.photo.taken_source = TakenSource::exif;
  full.photo.camera_make = "Apple";
  full.photo.camera_model = "iPhone 13";
  full.photo.lens = "back camera";
  full.photo.latitude = -33.8568;
  full.photo.longitude = 151.2153;
  full.analysis.colours = {{{42, 111, 219}, 0.625f, ColourName::blue}, {{250, 250, 250}, 0.25f, ColourName::white}};
  full.analysis.brightness = 0.5f;
  full.analysis.saturation = 0.75f;
  full.analysis.colourfulness = 0.4f;
  full.analysis.warmth = -21.5f;
  full.analysis.tone = Tone::cool;
  full.labels = {{"beach", 0.625f}, {"sunset", 0.25f}};
  full.precision = "bf16";
  s.put(full);
  ImageRecord named = record(2, "/b", 2);
  named.photo.taken_ms = 1685628202120;
  named.photo.taken_source = TakenSource::file_name;
  s.put(named);
  // Databases before 0.2 dated photos without EXIF by the file's time: the date goes as it is read.
  ImageRecord filed = record(4, "/d", 4);
  filed.photo.taken_ms = 1;
  filed.photo.taken_offset_min = 60;
  filed.photo.taken_source = TakenSource::file_time;
  filed.photo.camera_make = "NIKON";
  s.put(filed);
  s.save(path);
  const MetadataStore loaded = MetadataStore::load(path);
  CHECK(*loaded.get(1) == full);
  CHECK(*loaded.get(2) == named);
  ImageRecord undated = filed;
  undated.photo.taken_ms.reset();
  undated.photo.taken_offset_min.reset();
  undated.photo.taken_source = TakenSource::none;
  CHECK(*loaded.get(4) == undated);

  // As imgvec 2.0 wrote them: each record without the facts (53 bytes when its strings are empty),
  // the analysis (18 bytes when it has no colours), the labels (4 bytes when there are none) and
  // the precision (8 bytes when float32's, empty).
  constexpr std::uint64_t kFacts = 53, kAnalysis = 18, kLabels = 4, kPrecision = 8;
  s = MetadataStore();
  s.put(record(3, "/c", 3));
  s.save(path);
  std::string payload = records_payload(path);
  std::uint64_t length;
  std::memcpy(&length, payload.data() + 8, 8);
  const std::uint64_t older = length - kFacts - kAnalysis - kLabels - kPrecision;
  std::string old = payload.substr(0, 8);
  old.append(reinterpret_cast<const char*>(&older), 8);
  old += payload.substr(16, older);
  detail::write_checked_file(path, "IMGVMETA", 2, 0, old);
  const MetadataStore v20 = MetadataStore::load(path);
  CHECK(*v20.get(3) == record(3, "/c", 3));
  CHECK(v20.get(3)->photo == PhotoFacts{});

  // Impossible facts are refused, naming the file.
  for (const int at : {0, 9, 36, 44}) {  // the date source, the offset flag, the GPS flag, the latitude
    std::string bad = payload;
    bad[16 + older + static_cast<std::size_t>(at)] = '\x7F';
    detail::write_checked_file(path, "IMGVMETA", 2, 1, bad);
    INFO("byte " << at << " of the facts");
    std::string message;
    CHECK(load_error(path, &message) == ErrorCode::corrupt_file);
    CHECK_THAT(message, Catch::Matchers::Contains(path));
  }
  // So is an impossible analysis: 9 colours, or a share of 2.
  s = MetadataStore();
  s.put(full);
  s.save(path);
  payload = records_payload(path);
  const std::size_t label_bytes = 4 + (8 + 5 + 4) + (8 + 6 + 4), precision_bytes = 8 + 4;  // "bf16"
  const std::size_t analysis_at =
      payload.size() - precision_bytes - label_bytes - (1 + 2 * 8 + 16 + 1);  // two colours
  REQUIRE(payload[analysis_at] == 2);
  for (const auto& [at, value] : {std::pair<std::size_t, char>{0, 9}, {1 + 3 + 3, 0x40}}) {
    std::string bad = payload;
    bad[analysis_at + at] = value;  // the count; the top byte of the first share (2.0f is 0x40000000)
    if (at) bad[analysis_at + at - 1] = 0;
    detail::write_checked_file(path, "IMGVMETA", 2, 2, bad);
    std::string message;
    CHECK(load_error(path, &message) == ErrorCode::corrupt_file);
  }
  fs::remove_all(dir);
}

namespace {

// Records of several shapes: keys, tags and labels held by some, sources under a prefix.
MetadataStore varied_store(std::size_t n) {
  MetadataStore s;
  for (Id id = 1; id <= n; ++id) {
    ImageRecord r = record(id * 3, (id % 4 ? "/home/me/db/files/" : "/p/") + std::to_string(id), id % 50);
    if (id % 5 == 0) r.tags.push_back("best");
    if (id % 7 == 0) r.metadata.emplace("album", std::string("lisbon"));
    if (id % 9 == 0) r.labels = {{"cat", 0.9f}};
    if (id % 6 == 0) r.format = ImageFormat::png;
    s.put(std::move(r));
  }
  return s;
}

// Everything a reader asks of a store gives the same answers from both.
void expect_same_store(const MetadataStore& a, const MetadataStore& b) {
  REQUIRE(a.size() == b.size());
  REQUIRE(a.ids() == b.ids());
  for (Id id : a.ids()) {
    REQUIRE(b.get(id));
    CHECK(*a.get(id) == *b.get(id));
    CHECK(a.find_source(a.get(id)->source) == b.find_source(a.get(id)->source));
  }
  CHECK(a.metadata_keys() == b.metadata_keys());
  CHECK(a.tags() == b.tags());
  CHECK(a.labelled_count() == b.labelled_count());
  CHECK(a.format_counts() == b.format_counts());
  for (std::uint64_t hash : {0ull, 7ull, 49ull, 50ull}) CHECK(a.find_hash(hash) == b.find_hash(hash));
  CHECK_FALSE(b.get(2));
  CHECK_FALSE(b.find_source("/nowhere"));
}

}  // namespace

TEST_CASE("a store opened mapped reads records as they are asked for and answers as a loaded one",
          "[metadata][mapped]") {
  const fs::path dir = fs::temp_directory_path() / "imgvec-metadata-mapped";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "m").string();
  const SourcePrefix prefix{"/home/me/db/files/", "$DB/files/"};
  varied_store(400).save(path, &prefix);
  const MetadataStore loaded = MetadataStore::load(path, &prefix);
  MetadataStore mapped = MetadataStore::open_mapped(path, &prefix);
  expect_same_store(loaded, mapped);

  // Changes: replace a record of the file, add one, remove one of the file and the new one.
  MetadataStore changed = MetadataStore::load(path, &prefix);
  for (MetadataStore* s : {&mapped, &changed}) {
    ImageRecord r = *s->get(30);
    r.tags = {"moved"};
    r.source = "/q/30";
    s->put(r);
    s->put(record(100000, "/new", 7));
    CHECK(s->remove(33));
    CHECK_FALSE(s->remove(33));
    s->put(record(100001, "/newer", 8));
    CHECK(s->remove(100001));
  }
  CHECK(mapped.find_source("/p/12") == std::optional<Id>(36));
  expect_same_store(changed, mapped);
  mapped.save(path, &prefix);  // over its own file: the mapping keeps the old bytes
  expect_same_store(changed, MetadataStore::load(path, &prefix));
  expect_same_store(changed, MetadataStore::open_mapped(path, &prefix));

  // A format-2 file (no table) is read whole.
  const std::string records = records_payload(path);
  detail::write_checked_file(path, "IMGVMETA", 2, 5, records);
  expect_same_store(changed, MetadataStore::open_mapped(path, &prefix));
  fs::remove_all(dir);
}

TEST_CASE("a mapped store finds damage where it reads it, and saves none of it", "[metadata][mapped][errors]") {
  const fs::path dir = fs::temp_directory_path() / "imgvec-metadata-mapped-bad";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "m").string(), bad = (dir / "bad").string();
  varied_store(50).save(path);
  const std::string payload = detail::read_checked_file(path, "IMGVMETA", 3).bytes;
  const std::size_t table = payload.size() - 8 - 50 * 16;
  std::string message;
  auto error_of = [&](const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      message = e.what();
      return e.code();
    }
    FAIL("no error");
    return ErrorCode::invalid_argument;
  };

  // The 10th entry's offset outside the records, then pointing at another record.
  for (const std::uint64_t offset : {std::uint64_t{1} << 40, std::uint64_t{8}}) {
    std::string broken = payload;
    INFO("offset " << offset);
    std::memcpy(&broken[table + 9 * 16 + 8], &offset, 8);
    detail::write_checked_file(bad, "IMGVMETA", 3, 0, broken);
    CHECK(error_of([&] { MetadataStore::load(bad); }) == ErrorCode::corrupt_file);
    CHECK_THAT(message, Catch::Matchers::Contains("record table"));
    MetadataStore mapped = MetadataStore::open_mapped(bad);
    CHECK(mapped.get(3) != nullptr);  // the others read
    CHECK(error_of([&] { mapped.get(30); }) == ErrorCode::corrupt_file);
    CHECK_THAT(message, Catch::Matchers::Contains(bad) && Catch::Matchers::Contains("id 30"));
  }
  // The trailer's position out of range: refused by both.
  std::string broken = payload;
  const std::uint64_t far = ~std::uint64_t{0} / 2;
  std::memcpy(&broken[payload.size() - 8], &far, 8);
  detail::write_checked_file(bad, "IMGVMETA", 3, 0, broken);
  CHECK(error_of([&] { MetadataStore::open_mapped(bad); }) == ErrorCode::corrupt_file);
  CHECK(error_of([&] { MetadataStore::load(bad); }) == ErrorCode::corrupt_file);
  // A count of labelled records that the records do not bear out: a load refuses it; a mapped
  // open cannot know without reading every record, and its save writes the records' own counts.
  broken = payload;
  std::memcpy(&broken[table - 8], &far, 8);
  detail::write_checked_file(bad, "IMGVMETA", 3, 0, broken);
  CHECK(error_of([&] { MetadataStore::load(bad); }) == ErrorCode::corrupt_file);
  CHECK_THAT(message, Catch::Matchers::Contains("counts"));
  MetadataStore miscounted = MetadataStore::open_mapped(bad);
  miscounted.save(bad);
  CHECK(MetadataStore::load(bad).labelled_count() == 5);
  // A changed byte in a record, the checksum not updated: found by the save.
  {
    std::ifstream in(path, std::ios::binary);
    std::string file{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    file[48 + 200] ^= 0x01;
    std::ofstream(bad, std::ios::binary | std::ios::trunc) << file;
  }
  MetadataStore damaged = MetadataStore::open_mapped(bad);
  CHECK(error_of([&] { damaged.save((dir / "copy").string()); }) == ErrorCode::corrupt_file);
  CHECK_THAT(message, Catch::Matchers::Contains("checksum"));
  CHECK_FALSE(fs::exists(dir / "copy"));
  fs::remove_all(dir);
}
