// The database's text cache (database/text_cache.hpp): a repeated text query skips the text
// model, within a process and, through the folder's text-cache.imgvtext, in the next one; what a
// damaged, foreign or hostile cache file does (nothing: it is ignored and replaced); read-only
// opens; the bounds (long texts, the file's entry count, a capacity of 0).
#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "database/text_cache.hpp"
#include "imgvec/database.hpp"
#include "imgvec/error.hpp"
#include "io/checked_file.hpp"
#include "support/index_bytes.hpp"
#include "support/temp_dir.hpp"

using namespace imgvec;
using imgvec::testing::read_bytes;
using imgvec::testing::TempDir;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

constexpr std::size_t kDim = 4;

// A text "model" that counts its calls: each text's vector is made from its bytes, so a cached
// vector can be compared with a fresh one.
class CountingTextEncoder final : public Encoder {
 public:
  CountingTextEncoder() : Encoder(EncoderFingerprint{"test-text", "counting", "", kDim, "none"}, 1) {}
  bool supports_text() const noexcept override { return true; }
  std::atomic<int> text_calls{0};

 protected:
  void prepare_image(const Image&, float* input) const override { input[0] = 1; }
  void run_images(const float*, std::size_t count, float* out) override {
    for (std::size_t i = 0; i < count * kDim; ++i) out[i] = 1;
  }
  void run_texts(const std::vector<std::string>& texts, float* out) override {
    ++text_calls;
    for (std::size_t t = 0; t < texts.size(); ++t) {
      std::uint32_t h = 2166136261u;
      for (unsigned char c : texts[t]) h = (h ^ c) * 16777619u;
      for (std::size_t j = 0; j < kDim; ++j) out[t * kDim + j] = 1.0f + static_cast<float>((h >> (8 * j)) & 0xff);
    }
  }
};

std::string cache_file(const TempDir& t) { return (t.path / "db" / "text-cache.imgvtext").string(); }

struct Opened {
  std::shared_ptr<CountingTextEncoder> encoder = std::make_shared<CountingTextEncoder>();
  std::unique_ptr<VectorDatabase> db;
};

Opened create(const TempDir& t) {
  Opened o;
  o.db = VectorDatabase::create((t.path / "db").string(), o.encoder);
  return o;
}

Opened open(const TempDir& t, bool read_only = false) {
  Opened o;
  OpenOptions options;
  options.read_only = read_only;
  o.db = VectorDatabase::open((t.path / "db").string(), o.encoder, options);
  return o;
}

}  // namespace

TEST_CASE("text cache: a repeated text is embedded once, and the next open finds it without the model",
          "[database][text_cache]") {
  TempDir t;
  std::vector<float> cat;
  {
    Opened o = create(t);
    cat = o.db->embed_text("a cat");
    CHECK(o.db->embed_text("a cat") == cat);
    CHECK(o.db->search_by_text("a cat").empty());  // no images; still goes through the cache
    CHECK(o.encoder->text_calls == 1);
    const auto counts = o.db->text_cache_counts();
    CHECK(counts.hits == 2);
    CHECK(counts.misses == 1);
    CHECK(counts.entries == 1);
    CHECK(counts.capacity == detail::TextCache::kDefaultEntries);
    CHECK_FALSE(fs::exists(cache_file(t)));  // written at save() or close, not per query
  }
  REQUIRE(fs::exists(cache_file(t)));
  Opened again = open(t);
  CHECK(again.db->embed_text("a cat") == cat);
  CHECK(again.encoder->text_calls == 0);
  CHECK(again.db->embed_text("a dog").size() == kDim);
  CHECK(again.encoder->text_calls == 1);
}

TEST_CASE("text cache: save() writes it too", "[database][text_cache]") {
  TempDir t;
  Opened o = create(t);
  o.db->embed_text("sunset over the sea");
  o.db->save();
  REQUIRE(fs::exists(cache_file(t)));
  const auto entries = detail::parse_text_cache(
      detail::read_checked_file(cache_file(t), "IMGVTEXT", 1).bytes, o.encoder->fingerprint().to_string(), kDim,
      cache_file(t));
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].first == "sunset over the sea");
}

TEST_CASE("text cache: a damaged or foreign cache file is ignored, then replaced", "[database][text_cache]") {
  TempDir t;
  { create(t).db->embed_text("a cat"); }
  SECTION("damaged") {
    std::string bytes = read_bytes(cache_file(t));
    bytes[bytes.size() - 3] ^= 0x40;
    std::ofstream(cache_file(t), std::ios::binary | std::ios::trunc) << bytes;
  }
  SECTION("cut short") { fs::resize_file(cache_file(t), 20); }
  SECTION("another encoder's") {
    detail::write_checked_file(cache_file(t), "IMGVTEXT", 1, 0,
                               detail::encode_text_cache({{"a cat", {9, 9, 9, 9}}}, "another model", kDim));
  }
  SECTION("not a cache at all") { std::ofstream(cache_file(t), std::ios::trunc) << "hello"; }
  {
    Opened o = open(t);
    const auto v = o.db->embed_text("a cat");
    CHECK(v != std::vector<float>{9, 9, 9, 9});
    CHECK(o.encoder->text_calls == 1);  // not served from the bad file
  }
  Opened o = open(t);
  o.db->embed_text("a cat");
  CHECK(o.encoder->text_calls == 0);  // the close wrote a good one
}

TEST_CASE("text cache: a read-only open uses the file and never writes it", "[database][text_cache]") {
  TempDir t;
  { create(t).db->embed_text("a cat"); }
  const std::string before = read_bytes(cache_file(t));
  const auto time_before = fs::last_write_time(cache_file(t));
  {
    Opened o = open(t, true);
    o.db->embed_text("a cat");
    o.db->embed_text("a dog");
    CHECK(o.encoder->text_calls == 1);  // only the dog
  }
  CHECK(read_bytes(cache_file(t)) == before);
  CHECK(fs::last_write_time(cache_file(t)) == time_before);
}

TEST_CASE("text cache: bounds on texts, entries and the file", "[database][text_cache]") {
  TempDir t;
  Opened o = create(t);
  SECTION("a text over 4096 bytes is embedded every time, never kept") {
    const std::string long_text(detail::TextCache::kMaxTextBytes + 1, 'a');
    o.db->embed_text(long_text);
    o.db->embed_text(long_text);
    CHECK(o.encoder->text_calls == 2);
    CHECK(o.db->text_cache_counts().entries == 0);
  }
  SECTION("capacity 0 keeps nothing") {
    o.db->set_text_cache_entries(0);
    o.db->embed_text("a");
    o.db->embed_text("a");
    CHECK(o.encoder->text_calls == 2);
  }
  SECTION("the file keeps the most recent 256; memory keeps its capacity") {
    o.db->set_text_cache_entries(300);
    for (int i = 0; i < 300; ++i) o.db->embed_text("text " + std::to_string(i));
    CHECK(o.db->text_cache_counts().entries == 300);
    o.db.reset();
    Opened again = open(t);
    again.db->embed_text("text 299");
    CHECK(again.encoder->text_calls == 0);
    CHECK(again.db->text_cache_counts().entries == detail::TextCache::kPersistedEntries);
    again.db->embed_text("text 44");  // the 256 most recent are 44..299
    CHECK(again.encoder->text_calls == 0);
    again.db->embed_text("text 43");
    CHECK(again.encoder->text_calls == 1);
  }
}

TEST_CASE("text cache: destroy() removes the cache file with the rest", "[database][text_cache]") {
  TempDir t;
  { create(t).db->embed_text("a cat"); }
  REQUIRE(fs::exists(cache_file(t)));
  VectorDatabase::destroy((t.path / "db").string());
  CHECK_FALSE(fs::exists(t.path / "db"));
}

TEST_CASE("text cache file: every malformed payload is refused with the file's name", "[database][text_cache]") {
  const std::string fp = "enc";
  const std::string good = detail::encode_text_cache({{"a", {1, 2, 3, 4}}, {"bb", {5, 6, 7, 8}}}, fp, kDim);
  auto parse = [&](const std::string& bytes) { return detail::parse_text_cache(bytes, fp, kDim, "/x/text-cache"); };
  const auto entries = parse(good);
  REQUIRE(entries.size() == 2);
  CHECK(entries[1].first == "bb");
  CHECK(entries[1].second == std::vector<float>{5, 6, 7, 8});
  for (std::size_t cut = 0; cut < good.size(); ++cut) {
    INFO("cut at " << cut);
    CHECK_THROWS_WITH(parse(good.substr(0, cut)), Contains("/x/text-cache") && (Contains("truncated") || Contains("claims")));
  }
  CHECK_THROWS_WITH(parse(good + "x"), Contains("bytes follow the last entry"));
  std::string nan = good;
  const float bad = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(&nan[nan.size() - sizeof(float)], &bad, sizeof bad);
  CHECK_THROWS_WITH(parse(nan), Contains("not a finite number"));
  const std::string huge =
      detail::encode_text_cache({{std::string(detail::TextCache::kMaxTextBytes + 1, 'x'), {1, 2, 3, 4}}}, fp, kDim);
  CHECK_THROWS_WITH(parse(huge), Contains("over 4096"));
  // A count far beyond the bytes present is refused before anything is allocated for it.
  std::string many = detail::encode_text_cache({}, fp, kDim);
  const std::uint64_t count = ~std::uint64_t{0};
  std::memcpy(&many[many.size() - 8], &count, 8);
  CHECK_THROWS_WITH(parse(many), Contains("claims 18446744073709551615 entries"));
  CHECK(detail::parse_text_cache(good, "other", kDim, "p").empty());
  CHECK(detail::parse_text_cache(good, fp, kDim + 1, "p").empty());
}
