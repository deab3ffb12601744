// VectorDatabase::open(directory): the library chooses the encoder from the database's own
// fingerprint, and loads a CLIP model only for a call that embeds (issue 20, item 4).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "imgvec/imgvec.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace imgvec;

namespace {

const std::string kImages = IMGVEC_TEST_DATA_DIR "/images";

}  // namespace

TEST_CASE("open(directory) gives a built-in-encoder database its encoder", "[db][model]") {
  testing::TempDir tmp;
  const std::string dir = tmp.file("db");
  VectorDatabase::create(dir, std::make_shared<DescriptorEncoder>())->index_directory(kImages);
  auto db = VectorDatabase::open(dir);
  CHECK(db->encoder_loaded());  // nothing to defer: the built-in encoder loads in microseconds
  CHECK(db->encoder_fingerprint().kind == "descriptor");
  CHECK(db->size() > 5);
  CHECK(db->search_by_image(kImages + "/Iggy.256.ppm", 1).at(0).score == Approx(1.0f));
  db.reset();
  // A model bundle given for it is refused by name, before anything is read.
  ModelChoice with_model;
  with_model.bundle = "/nowhere/model.pt";
  CHECK_THROWS_WITH(VectorDatabase::open(dir, {}, with_model),
                    Catch::Matchers::Contains("built-in encoder") && Catch::Matchers::Contains("/nowhere/model.pt"));
}

#ifdef IMGVEC_TINY_BUNDLE
namespace {

// Search by a stored image: its vector, no model.
std::vector<SearchResult> like(const VectorDatabase& db, Id id, std::size_t k) {
  Query q;
  q.positive = {QueryExample::of_id(id)};
  return db.search(q, SearchOptions(k));
}

std::string read_model_file(const std::string& db) {
  std::ifstream in(db + "/MODEL");
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

TEST_CASE("open(directory) loads a CLIP model only when something is embedded", "[db][model][clip]") {
  testing::TempDir tmp;
  const std::string dir = tmp.file("db");
  const std::string bundle = tmp.file("model.pt");
  fs::copy_file(IMGVEC_TINY_BUNDLE, bundle);
  std::vector<SearchResult> want;
  {
    auto db = VectorDatabase::create(dir, open_clip_encoder(bundle, "cpu"));
    db->set_text_cache_entries(0);  // so that the lazy open below has to load the model for it
    db->index_directory(kImages);
    db->remember_model_bundle(bundle);
    want = db->search_by_text("a photo of a dog", 3);
  }
  ModelChoice options;
  options.device = "cpu";
  {
    auto db = VectorDatabase::open(dir, {}, options);
    CHECK_FALSE(db->encoder_loaded());
    // What embeds nothing: stats, records, metadata, search by a stored image, duplicates, exports.
    CHECK(db->get_stats().encoder.kind == "clip");
    const Id first = db->ids().at(0);
    CHECK(like(*db, first, 3).size() == 3);
    db->update_metadata(first, {{"album", std::string("summer")}});
    DuplicateOptions dups;
    dups.verify = false;
    db->find_duplicates(dups);
    std::ostringstream exported;
    db->export_metadata(exported, ExportFormat::jsonl);
    CHECK(exported.str().find("summer") != std::string::npos);
    CHECK_FALSE(db->encoder_loaded());
    // A text search loads it (through the CLIP module), and finds what the eager encoder found.
    const auto got = db->search_by_text("a photo of a dog", 3);
    CHECK(db->encoder_loaded());
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].id == want[i].id);
      CHECK(got[i].score == Approx(want[i].score).margin(1e-6));
    }
  }

  {
    // The text cache (text-cache.imgvtext, written when that open closed) answers the same text
    // in a later open without the model.
    auto db = VectorDatabase::open(dir, {}, options);
    const auto again = db->search_by_text("a photo of a dog", 3);
    CHECK_FALSE(db->encoder_loaded());
    REQUIRE(again.size() == want.size());
    for (std::size_t i = 0; i < again.size(); ++i) CHECK(again[i].id == want[i].id);
  }

  SECTION("a moved bundle: the database opens and says so when it must embed; --model repairs it") {
    fs::remove(dir + "/text-cache.imgvtext");  // the searches below must load the model
    const std::string moved = tmp.file("moved.pt");
    fs::rename(bundle, moved);
    {
      auto db = VectorDatabase::open(dir, {}, options);
      CHECK(db->get_stats().count == want.size() + db->get_stats().count - want.size());
      CHECK_NOTHROW(like(*db, db->ids().at(0), 1));
      CHECK_THROWS_WITH(db->search_by_text("a dog", 1),
                        Catch::Matchers::Contains(bundle) && Catch::Matchers::Contains("is not there"));
    }
    ModelChoice given = options;
    given.bundle = moved;
    {
      auto db = VectorDatabase::open(dir, {}, given);
      CHECK(db->search_by_text("a photo of a dog", 3).at(0).id == want.at(0).id);
    }
    CHECK(read_model_file(dir) == moved);  // remembered, as the old one was gone
    auto db = VectorDatabase::open(dir, {}, options);
    CHECK_NOTHROW(db->embed_text("a text no open has cached"));
    CHECK(db->encoder_loaded());
  }

  SECTION("a bundle of another model is refused when it loads, naming both") {
    ModelChoice other = options;
    other.bundle = tmp.file("other.pt");
    {
      std::ofstream(other.bundle) << "not a bundle";
    }
    auto db = VectorDatabase::open(dir, {}, other);
    CHECK_NOTHROW(db->get_stats());
    CHECK_THROWS(db->search_by_text("a dog", 1));
    CHECK_FALSE(db->encoder_loaded());
    CHECK(read_model_file(dir) == bundle);  // a bundle that failed is never remembered
  }

  SECTION("a relative MODEL written by imgvec 0.1 is resolved and stored absolute") {
    const std::string relative = fs::relative(bundle, fs::current_path()).string();
    REQUIRE(fs::path(relative).is_relative());
    {
      std::ofstream(dir + "/MODEL") << relative << "\n";
    }
    auto db = VectorDatabase::open(dir, {}, options);
    CHECK(read_model_file(dir) == fs::absolute(bundle).lexically_normal().string());
    CHECK(db->search_by_text("a photo of a dog", 1).at(0).id == want.at(0).id);
  }

  SECTION("a CLIP database that remembers no bundle opens; embedding asks for one") {
    fs::remove(dir + "/MODEL");
    auto db = VectorDatabase::open(dir, {}, options);
    CHECK(db->size() == db->ids().size());
    CHECK_THROWS_WITH(db->search_by_text("a dog", 1), Catch::Matchers::Contains("does not remember"));
  }
}
#endif
