#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <thread>

#include "imgvec/database.hpp"
#include "imgvec/encoder/descriptor_encoder.hpp"
#include "imgvec/error.hpp"
#include "support/test_images.hpp"

// The database end to end with the built-in encoder over the real test images (broken ones
// included), in a scratch directory per test.
using namespace imgvec;
namespace fs = std::filesystem;

namespace {

const fs::path kImages = fs::path(IMGVEC_TEST_DATA_DIR) / "images";

struct Scratch {
  fs::path root;
  explicit Scratch(const std::string& name) : root(fs::temp_directory_path() / ("imgvec-db-" + name)) {
    fs::remove_all(root);
    fs::create_directories(root / "photos");
    for (const auto& entry : fs::directory_iterator(kImages)) {
      fs::copy_file(entry.path(), root / "photos" / entry.path().filename());
    }
  }
  ~Scratch() { fs::remove_all(root); }
  std::string db() const { return (root / "db").string(); }
  std::string photo(const std::string& name) const { return (root / "photos" / name).string(); }
  std::vector<std::string> photos() const {
    std::vector<std::string> out;
    for (const auto& entry : fs::directory_iterator(root / "photos")) out.push_back(entry.path().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

std::shared_ptr<Encoder> descriptor() { return std::make_shared<DescriptorEncoder>(); }

const std::set<std::string> kBroken = imgvec::testing::undecodable_test_images();
// The test images this build decodes (12 files, of which kBroken are not).
const std::size_t kDecodable = 12 - kBroken.size();

std::string name_of(const std::string& path) { return fs::path(path).filename().string(); }

}  // namespace

TEST_CASE("a folder is indexed: broken files reported, the rest searchable", "[db]") {
  Scratch s("index");
  auto db = VectorDatabase::create(s.db(), descriptor());
  const auto paths = s.photos();
  std::size_t last_done = 0;
  const auto results = db->add_images_batch(paths, {}, [&](std::size_t done, std::size_t total) {
    CHECK(total == paths.size());
    CHECK(done >= last_done);
    last_done = done;
  });
  CHECK(last_done == paths.size());
  REQUIRE(results.size() == paths.size());
  std::size_t added = 0;
  for (const AddResult& r : results) {
    INFO(r.source << ": " << r.error);
    if (kBroken.count(name_of(r.source))) {
      CHECK(r.status == AddStatus::failed);
      CHECK_THAT(r.error, Catch::Matchers::StartsWith(r.source));
    } else {
      CHECK(r.status == AddStatus::added);
      ++added;
    }
  }
  CHECK(db->size() == added);
  const DatabaseStats stats = db->get_stats();
  CHECK(stats.count == added);
  CHECK(stats.dimension == DescriptorEncoder::kDimension);
  CHECK(stats.encoder.kind == "descriptor");
  CHECK(stats.index_kind == IndexKind::hnsw);

  // Every indexed image finds itself first.
  for (const AddResult& r : results) {
    if (r.status != AddStatus::added) continue;
    const auto hits = db->search_by_image(r.source, {3});
    REQUIRE_FALSE(hits.empty());
    CHECK(hits[0].score == Approx(1.0f).margin(1e-4));
    CHECK(hits[0].record.source == r.source);
    CHECK(hits[0].record.width > 0);
  }
  // Text needs a text model.
  CHECK_THROWS_AS(db->search_by_text("a cat"), Error);
}

TEST_CASE("a saved database reopens with identical results, and refuses another encoder", "[db]") {
  Scratch s("reopen");
  std::vector<std::vector<SearchResult>> before;
  const auto paths = s.photos();
  {
    auto db = VectorDatabase::create(s.db(), descriptor(), {IndexKind::flat, {}});
    std::vector<Metadata> meta;
    for (std::size_t i = 0; i < paths.size(); ++i) meta.push_back({{"n", std::int64_t(i)}});
    db->add_images_batch(paths, meta);
    db->save();
    for (const auto& p : paths) {
      if (!kBroken.count(name_of(p))) before.push_back(db->search_by_image(p, {5}));
    }
    // While it is open, nobody else may open it.
    CHECK_THROWS_WITH(VectorDatabase::open(s.db(), descriptor()), Catch::Matchers::Contains("open in another process"));
  }
  auto db = VectorDatabase::open(s.db(), descriptor());
  CHECK(db->get_stats().index_kind == IndexKind::flat);
  std::size_t q = 0;
  for (const auto& p : paths) {
    if (kBroken.count(name_of(p))) continue;
    const auto after = db->search_by_image(p, {5});
    REQUIRE(after.size() == before[q].size());
    for (std::size_t i = 0; i < after.size(); ++i) {
      CHECK(after[i].id == before[q][i].id);
      CHECK(after[i].score == before[q][i].score);
      CHECK(after[i].record == before[q][i].record);
    }
    ++q;
  }
  db.reset();

  class OtherEncoder final : public Encoder {
   public:
    OtherEncoder() : Encoder({"other", "other model", "", DescriptorEncoder::kDimension, "none"}, 1) {}
    bool supports_text() const noexcept override { return false; }

   protected:
    void prepare_image(const Image&, float*) const override {}
    void run_images(const float*, std::size_t, float*) override {}
  };
  try {
    VectorDatabase::open(s.db(), std::make_shared<OtherEncoder>());
    FAIL("opened with another encoder");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::incompatible);
    CHECK_THAT(e.what(), Catch::Matchers::Contains("kind=descriptor") && Catch::Matchers::Contains("kind=other"));
  }
  CHECK_THROWS_WITH(VectorDatabase::create(s.db(), descriptor()), Catch::Matchers::Contains("already holds"));
  try {
    VectorDatabase::open((s.root / "nothing").string(), descriptor());
    FAIL("opened nothing");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::not_found);
  }
}

TEST_CASE("re-adding skips unchanged files, re-embeds changed ones under their id", "[db]") {
  Scratch s("incremental");
  auto db = VectorDatabase::create(s.db(), descriptor());
  const auto paths = s.photos();
  const auto first = db->add_images_batch(paths);
  const auto again = db->add_images_batch(paths);
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (first[i].status == AddStatus::failed) continue;
    CHECK(again[i].status == AddStatus::unchanged);
    CHECK(again[i].id == first[i].id);
  }
  // Replace one photo's content with another's: same path, new bytes, same id, new vector.
  const std::string target = s.photo("Iggy.256.ppm");
  const Id id = db->add_image(target);
  const auto old_vector = db->get_vector(id);
  fs::copy_file(kImages / "baboon.256.pgm", target, fs::copy_options::overwrite_existing);
  fs::last_write_time(target, fs::last_write_time(target) + std::chrono::seconds(5));
  const auto changed = db->add_images_batch({target});
  CHECK(changed[0].status == AddStatus::updated);
  CHECK(changed[0].id == id);
  CHECK(db->get_vector(id) != old_vector);
  CHECK(db->search_by_image((kImages / "baboon.256.pgm").string(), {2})[0].score == Approx(1.0f).margin(1e-4));
  CHECK(db->size() == first.size() - kBroken.size());
}

TEST_CASE("filters, thresholds, metadata updates and removal", "[db]") {
  Scratch s("filters");
  auto db = VectorDatabase::create(s.db(), descriptor());
  std::vector<std::string> paths;
  std::vector<Metadata> meta;
  for (const auto& p : s.photos()) {
    if (kBroken.count(name_of(p))) continue;
    meta.push_back({{"group", std::int64_t(paths.size() % 2)}, {"name", name_of(p)}});
    paths.push_back(p);
  }
  const auto added = db->add_images_batch(paths, meta);
  SearchOptions odd;
  odd.k = 100;
  odd.where = Where::eq("group", std::int64_t{1});
  const auto hits = db->search_by_image(paths[0], odd);
  CHECK(hits.size() == paths.size() / 2);
  for (const auto& h : hits) CHECK(std::get<std::int64_t>(h.record.metadata.at("group")) == 1);
  SearchOptions nothing;
  nothing.where = Where::eq("group", std::int64_t{7});
  CHECK(db->search_by_image(paths[0], nothing).empty());
  SearchOptions close;
  close.k = 100;
  close.min_score = 0.999f;
  const auto near = db->search_by_image(paths[0], close);
  REQUIRE_FALSE(near.empty());
  for (const auto& h : near) CHECK(h.score >= 0.999f);

  const Id id = added[0].id;
  db->update_metadata(id, {{"group", std::int64_t{5}}}, nullptr);
  SearchOptions five;
  five.where = Where::eq("group", std::int64_t{5});
  CHECK(db->search_by_image(paths[0], five).at(0).id == id);
  CHECK_THROWS_AS(db->update_metadata(987654, {}, nullptr), Error);

  CHECK(db->remove(id));
  CHECK_FALSE(db->remove(id));
  CHECK_FALSE(db->get(id));
  for (const auto& h : db->search_by_image(paths[0], {100})) CHECK(h.id != id);
  db->save();
  db.reset();
  db = VectorDatabase::open(s.db(), descriptor());
  CHECK_FALSE(db->get(id));
  CHECK(db->size() == paths.size() - 1);
}

TEST_CASE("images from memory and base64 are added and searched", "[db]") {
  Scratch s("bytes");
  auto db = VectorDatabase::create(s.db(), descriptor());
  std::ifstream in(s.photo("giphy.gif"), std::ios::binary);
  const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const Id id = db->add_image_bytes(bytes.data(), bytes.size(), "upload.gif", {}, {"web"});
  const auto rec = db->get(id);
  REQUIRE(rec);
  CHECK(rec->source.empty());
  CHECK(std::get<std::string>(rec->metadata.at("name")) == "upload.gif");
  CHECK(rec->tags == std::vector<std::string>{"web"});
  CHECK(rec->format == ImageFormat::gif);
  CHECK(db->search_by_image_bytes(bytes.data(), bytes.size()).at(0).id == id);
  CHECK_THROWS_AS(db->add_image_bytes("nope", 4, "junk.bin"), Error);
  CHECK(db->size() == 1);
}

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>

#include "support/child_process.hpp"


TEST_CASE("killing a process while it saves leaves the previous save or the new one", "[db][crash]") {
  const fs::path dir = fs::temp_directory_path() / "imgvec-db-crash";
  fs::remove_all(dir);
  std::mt19937 rng(42);
  std::size_t last_seen = 0;
  for (int round = 0; round < 12; ++round) {
    const std::string where = dir.string();
    const auto child = imgvec::testing::spawn_with_output({IMGVEC_CRASH_SAVER, where});
    const pid_t pid = child.pid;
    // Let it complete a few saves, then kill it at a random moment of the next ones.
    FILE* lines = child.out;
    std::size_t saved = 0;
    const int saves = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < saves; ++i) REQUIRE(std::fscanf(lines, "%zu", &saved) == 1);
    ::usleep(static_cast<useconds_t>(rng() % 40000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    // Saves it reported after our last read also count: read what is left in the pipe.
    std::size_t more = 0;
    while (std::fscanf(lines, "%zu", &more) == 1) saved = more;
    std::fclose(lines);
    REQUIRE(WIFSIGNALED(status));

    auto db = VectorDatabase::open(where, std::make_shared<DescriptorEncoder>());  // checks ids agree
    INFO("round " << round << ": last reported save " << saved << ", reopened " << db->size());
    // Either the last save it reported, or one more that finished before it died unreported.
    CHECK((db->size() == saved || db->size() == saved + 40));
    CHECK(db->size() >= last_seen);
    last_seen = db->size();
    std::size_t files = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
      (void)entry;
      ++files;
    }
    CHECK(files == 5);  // MANIFEST, LOCK, and one generation's index, records and failed files
  }
  fs::remove_all(dir);
}

TEST_CASE("index_directory is incremental: unchanged skipped, renames kept, vanished removed", "[db]") {
  Scratch s("directory");
  fs::create_directories(s.root / "photos" / "sub");
  fs::copy_file(s.photo("giphy.gif"), s.root / "photos" / "sub" / "copy.gif");
  std::ofstream(s.root / "photos" / "notes.txt") << "not an image";
  auto db = VectorDatabase::create(s.db(), descriptor());
  const std::string dir = (s.root / "photos").string();

  IndexDirectoryReport r = db->index_directory(dir);
  CHECK(r.added == kDecodable + 1);  // the decodable images and the copy in sub/; notes.txt is not considered
  CHECK(r.failed == kBroken.size());
  for (const AddResult& f : r.failures) CHECK(kBroken.count(name_of(f.source)));
  CHECK(r.skipped == 1);  // counted, never dropped silently
  CHECK(r.skipped_extensions == std::map<std::string, std::size_t>{{"txt", 1}});

  r = db->index_directory(dir);
  CHECK(r.unchanged == kDecodable + 1);
  CHECK(r.added + r.updated + r.renamed == 0);

  // A move is recognised by the bytes: same id, no re-embedding.
  const Id iggy = db->search_by_image(s.photo("Iggy.256.ppm"), 1).at(0).id;
  fs::rename(s.photo("Iggy.256.ppm"), s.root / "photos" / "sub" / "iggy-moved.ppm");
  r = db->index_directory(dir);
  CHECK(r.renamed == 1);
  CHECK(r.added == 0);
  CHECK(db->get(iggy)->source == (s.root / "photos" / "sub" / "iggy-moved.ppm").string());

  // Vanished files go when asked; excluded ones are not looked at.
  fs::remove(s.root / "photos" / "sub" / "copy.gif");
  IndexDirectoryOptions o;
  o.remove_missing = true;
  o.exclude = {"*.jpg"};
  r = db->index_directory(dir, o);
  CHECK(r.removed == 1);
  CHECK(r.unchanged == kDecodable - 3);  // minus 3 excluded .jpg; the moved one is unchanged now
  CHECK(r.excluded == 4);                // and the broken .jpg
  CHECK(db->size() == kDecodable);

  // Checkpoints saved it: a fresh open sees the same.
  db.reset();
  db = VectorDatabase::open(s.db(), descriptor());
  CHECK(db->size() == kDecodable);
  CHECK(db->get(iggy));
  CHECK_THROWS_AS(db->index_directory((s.root / "nope").string()), Error);
}

#include <stb/stb_image_write.h>

#include "imgvec/image/photo_match.hpp"
#include "imgvec/image/preprocess.hpp"

TEST_CASE("duplicates: identical files and resized copies group, the largest is kept", "[db][dups]") {
  Scratch s("dups");
  fs::copy_file(s.photo("giphy.gif"), s.root / "photos" / "giphy-copy.gif");
  const Image iggy = decode_image_file(s.photo("Iggy.256.ppm"));
  const Image small = resize_bicubic(iggy, 160, 160);
  const std::string small_path = (s.root / "photos" / "iggy-small.png").string();
  REQUIRE(stbi_write_png(small_path.c_str(), 160, 160, 3, small.rgb.data(), 160 * 3));
  auto db = VectorDatabase::create(s.db(), descriptor());
  db->index_directory((s.root / "photos").string());
  DuplicateOptions vectors_only;
  vectors_only.verify = false;
  const auto groups = db->find_duplicates(vectors_only);
  // ukbench09380.webp is the same photo as ukbench09380.jpeg, recompressed: a third group when
  // this build reads WebP.
  REQUIRE(groups.size() == (kBroken.count("ukbench09380.webp") ? 2u : 3u));
  for (const auto& g : groups) {
    CHECK(g.matched_by == std::vector<DuplicateMatch>(2, g.exact ? DuplicateMatch::identical : DuplicateMatch::similar));
  }
  // Verified on their pixels, ukbench00120_gray.jpg joins alpha_channel_image.png, of which it is a
  // grayscale copy (cosine 0.91, under the threshold).
  if (photo_matching_available()) {
    const auto verified = db->find_duplicates();
    REQUIRE(verified.size() == groups.size() + 1);
    const auto gray = std::find_if(verified.begin(), verified.end(), [&](const DuplicateGroup& g) {
      return std::any_of(g.ids.begin(), g.ids.end(),
                         [&](Id id) { return name_of(db->get(id)->source) == "ukbench00120_gray.jpg"; });
    });
    REQUIRE(gray != verified.end());
    REQUIRE(gray->ids.size() == 2);
    CHECK(name_of(db->get(gray->keeper)->source) == "alpha_channel_image.png");
    CHECK(gray->matched_by == std::vector<DuplicateMatch>(2, DuplicateMatch::verified));
    for (std::size_t i = 0; i < 2; ++i) {
      if (gray->ids[i] != gray->keeper) CHECK(gray->scores[i] < DuplicateOptions().threshold);  // vectors alone miss it
    }
  }
  std::map<std::string, DuplicateGroup> by_name;
  for (const auto& g : groups) {
    REQUIRE(g.ids.size() == 2);
    for (Id id : g.ids) by_name[name_of(db->get(id)->source)] = g;
  }
  CHECK(by_name["giphy.gif"].exact);
  CHECK(by_name["giphy.gif"].ids == by_name["giphy-copy.gif"].ids);
  const DuplicateGroup* near = &by_name["Iggy.256.ppm"];
  CHECK_FALSE(near->exact);
  CHECK(near->ids == by_name["iggy-small.png"].ids);
  CHECK(name_of(db->get(near->keeper)->source) == "Iggy.256.ppm");  // 256x256 beats 160x160

  // "Is this already in the database?"
  const auto found = db->find_duplicate_of(resize_bicubic(iggy, 200, 200));
  REQUIRE(found);
  CHECK(std::count(near->ids.begin(), near->ids.end(), found->id) == 1);
  CHECK_FALSE(db->find_duplicate_of(s.photo("giphy.gif"), 1.01f));
  // Above any cosine, only the identical files remain: bytes decide those.
  DuplicateOptions strict;
  strict.threshold = 1.5f;
  strict.verify = false;
  const auto only_exact = db->find_duplicates(strict);
  REQUIRE(only_exact.size() == 1);
  CHECK(only_exact[0].exact);
}

TEST_CASE("an interrupted index_directory resumes where its last checkpoint left it", "[db]") {
  Scratch s("resume");
  const std::string dir = (s.root / "photos").string();
  {
    auto db = VectorDatabase::create(s.db(), descriptor());
    IndexDirectoryOptions o;
    o.chunk = 3;
    o.progress = [](std::size_t done, std::size_t) {
      if (done >= 6) throw std::runtime_error("interrupted");  // after two chunks
    };
    CHECK_THROWS_WITH(db->index_directory(dir, o), "interrupted");
  }  // no save() here: only the checkpoints
  auto db = VectorDatabase::open(s.db(), descriptor());
  const std::size_t kept = db->size();
  CHECK(kept >= 3);
  CHECK(kept < kDecodable);
  const IndexDirectoryReport r = db->index_directory(dir);
  CHECK(r.unchanged == kept);
  CHECK(r.added == kDecodable - kept);
}

#ifdef IMGVEC_HAS_CLIP_ENCODER
#include "imgvec/encoder/clip_encoder.hpp"

TEST_CASE("with the tiny CLIP bundle: text search, and identical results after reopening", "[db][clip]") {
  Scratch s("clip");
  ClipEncoderOptions cpu;
  cpu.device = "cpu";
  auto clip = std::make_shared<ClipEncoder>(IMGVEC_TINY_BUNDLE, cpu);
  std::vector<SearchResult> by_text, by_image;
  {
    auto db = VectorDatabase::create(s.db(), clip);
    const IndexDirectoryReport r = db->index_directory((s.root / "photos").string());
    CHECK(r.added == kDecodable);
    CHECK(r.failed == kBroken.size());
    by_text = db->search_by_text("a photo of a dog", 5);
    by_image = db->search_by_image(s.photo("Iggy.256.ppm"), 5);
    REQUIRE(by_text.size() == 5);
    CHECK(by_image.at(0).record.source == s.photo("Iggy.256.ppm"));
    CHECK(db->get_stats().encoder.kind == "clip");
  }
  auto db = VectorDatabase::open(s.db(), clip);
  const auto text_again = db->search_by_text("a photo of a dog", 5);
  const auto image_again = db->search_by_image(s.photo("Iggy.256.ppm"), 5);
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(text_again[i].id == by_text[i].id);
    CHECK(text_again[i].score == by_text[i].score);
    CHECK(image_again[i].id == by_image[i].id);
  }
  // Combined queries mix texts and images: "a dog, not a cat, like this photo (half as much)".
  Query q;
  q.positive = {QueryExample::of_text("a photo of a dog"), QueryExample::of_image_file(s.photo("Iggy.256.ppm"), 0.5f)};
  q.negative = {QueryExample::of_text("a photo of a cat")};
  const auto dog = db->embed_text("a photo of a dog"), cat = db->embed_text("a photo of a cat");
  const auto iggy = db->get_vector(db->search_by_image(s.photo("Iggy.256.ppm"), 1).at(0).id);
  std::vector<double> want(dog.size());
  double norm = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double p = (dog[i] + 0.5 * iggy[i]) / 1.5;  // the weighted mean of the unit positives
    want[i] = 2 * p - cat[i];
    norm += want[i] * want[i];
  }
  const auto got = db->query_vector(q);
  for (std::size_t i = 0; i < want.size(); ++i) REQUIRE(got[i] == Approx(want[i] / std::sqrt(norm)).margin(1e-5));
  CHECK(db->search(q, 3).size() == 3);

  // Zero-shot labels: the mechanics (random weights say nothing about meaning).
  LabelOptions labels;
  labels.labels.names = {"dog", "cat", "car"};
  labels.labels.prompts = {"a photo of a dog", "a photo of a cat", "a photo of a car"};
  labels.min_score = 0;
  labels.top = 2;
  CHECK(db->label_images(labels) == kDecodable);
  const ImageRecord iggy_record = *db->get(*db->find_source(s.photo("Iggy.256.ppm")));
  REQUIRE(iggy_record.labels.size() == 2);
  CHECK(iggy_record.labels[0].score >= iggy_record.labels[1].score);
  // The scores are CLIP's softmax over 100 x cosine, computed here from the stored vectors.
  const auto texts = clip->embed_texts(labels.labels.prompts);
  std::vector<double> logits(3);
  double sum = 0, top = -1e9;
  for (std::size_t l = 0; l < 3; ++l) {
    double dot = 0;
    for (std::size_t k = 0; k < iggy.size(); ++k) dot += iggy[k] * texts[l * iggy.size() + k];
    top = std::max(top, logits[l] = 100 * dot);
  }
  for (double& x : logits) sum += (x = std::exp(x - top));
  const auto best = std::max_element(logits.begin(), logits.end()) - logits.begin();
  CHECK(iggy_record.labels[0].name == labels.labels.names[static_cast<std::size_t>(best)]);
  CHECK(iggy_record.labels[0].score == Approx(logits[static_cast<std::size_t>(best)] / sum).margin(1e-3));
  SearchOptions by_label(20);
  by_label.where = Where::parse("label=" + iggy_record.labels[0].name);
  CHECK(!db->search_by_text("a dog", by_label).empty());
  // Only the unlabelled: none left. A high bar keeps fewer labels.
  labels.only_unlabelled = true;
  CHECK(db->label_images(labels) == 0);
  labels.only_unlabelled = false;
  labels.min_score = 0.999f;
  db->label_images(labels);
  for (Id id : db->ids()) {
    const ImageRecord r = *db->get(id);  // not a range over a temporary's member
    for (const Label& l : r.labels) CHECK(l.score >= 0.999f);
  }
  CHECK(db->label_images(LabelOptions{}) == kDecodable);  // the default set embeds and applies
  db.reset();
  // The built-in encoder cannot open a CLIP database.
  CHECK_THROWS_WITH(VectorDatabase::open(s.db(), descriptor()), Catch::Matchers::Contains("kind=clip"));
}
#endif

// Regression: open() deleted every file whose name began with index-, metadata- or MANIFEST.tmp-,
// and create() accepted a folder of photos, so `imgvec index PHOTOS --db PHOTOS` then any command
// deleted the user's index-001.jpg and metadata-photo.jpg.
TEST_CASE("a database never touches files it did not create", "[db][safety]") {
  Scratch s("foreign-files");
  const fs::path photos = s.root / "photos";
  for (const char* name : {"index-001.jpg", "metadata-photo.jpg", "index-notes.txt", "MANIFEST.tmp-notes",
                           "index-2.imgvidx.tmp-x"}) {
    std::ofstream(photos / name) << "the user's " << name;
  }
  const auto before = s.photos();
  // A folder that holds anything is refused, with the reason and a way out.
  try {
    VectorDatabase::create(photos.string(), descriptor());
    FAIL("created a database among the user's files");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::invalid_argument);
    CHECK_THAT(std::string(e.what()), Catch::Matchers::Contains("not empty"));
    CHECK_THAT(std::string(e.what()), Catch::Matchers::Contains(".imgvec"));
  }
  CHECK_FALSE(VectorDatabase::exists(photos.string()));
  CHECK_THROWS_AS(VectorDatabase::open(photos.string(), descriptor()), Error);  // not a database
  CHECK(s.photos() == before);
  CHECK_FALSE(fs::exists(photos / "LOCK"));

  // A database made before this rule, in the photo folder itself: open and save keep every file
  // that is not one of its own generation files.
  {
    auto db = VectorDatabase::create(s.db(), descriptor());
    db->add_image(s.photo("giphy.gif"));
    db->save();
  }
  for (const auto& entry : fs::directory_iterator(s.db())) fs::copy_file(entry.path(), photos / entry.path().filename());
  fs::remove(photos / "LOCK");
  {
    auto db = VectorDatabase::open(photos.string(), descriptor());
    CHECK(db->size() == 1);
    db->add_image(s.photo("Iggy.256.ppm"));
    db->save();
  }
  { auto db = VectorDatabase::open(photos.string(), descriptor()); }
  for (const auto& f : before) {
    INFO(f);
    CHECK(fs::exists(f));
  }
  std::ifstream notes(photos / "index-notes.txt");
  std::string text;
  std::getline(notes, text);
  CHECK(text == "the user's index-notes.txt");
}

TEST_CASE("leftovers of an interrupted save are removed, and only they", "[db][safety]") {
  Scratch s("leftovers");
  { VectorDatabase::create(s.db(), descriptor())->save(); }  // generation 2
  const fs::path db = s.db();
  const std::vector<std::string> leftovers = {"index-1.imgvidx", "metadata-1.imgvmeta", "index-3.imgvidx",
                                              "metadata-3.imgvmeta", "failed-1.imgvfail", "failed-3.imgvfail",
                                              "MANIFEST.tmp-123-456", "index-3.imgvidx.tmp-1-2"};
  const std::vector<std::string> kept = {"index-9.imgvidx", "index-1.imgvidx.bak", "MANIFEST.tmp-abc",
                                         "index-01.imgvidx", "failed-9.imgvfail", "notes.txt"};
  for (const auto& n : leftovers) std::ofstream(db / n) << "x";
  for (const auto& n : kept) std::ofstream(db / n) << "x";
  { auto opened = VectorDatabase::open(s.db(), descriptor()); }
  for (const auto& n : leftovers) {
    INFO(n);
    CHECK_FALSE(fs::exists(db / n));
  }
  for (const auto& n : kept) {
    INFO(n);
    CHECK(fs::exists(db / n));
  }
}

TEST_CASE("a database inside the folder it indexes is not indexed itself", "[db][safety]") {
  Scratch s("nested");
  const std::string inner = (s.root / "photos" / ".imgvec").string();
  auto db = VectorDatabase::create(inner, descriptor());
  IndexDirectoryOptions o;
  o.extensions.clear();  // every file, so the database's own would be tried if walked
  const auto r = db->index_directory((s.root / "photos").string(), o);
  for (const auto& f : r.failures) CHECK(f.source.find("/.imgvec/") == std::string::npos);
  CHECK(r.added == s.photos().size() - kBroken.size() - 1);  // photos() lists .imgvec too
}

TEST_CASE("exists and open_or_create", "[db]") {
  Scratch s("open-or-create");
  CHECK_FALSE(VectorDatabase::exists(s.db()));
  {
    auto db = VectorDatabase::open_or_create(s.db(), descriptor());
    db->add_image(s.photo("giphy.gif"));
    db->save();
  }
  CHECK(VectorDatabase::exists(s.db()));
  auto db = VectorDatabase::open_or_create(s.db(), descriptor());
  CHECK(db->size() == 1);
}

// Regression: add_image inserted the image, then applied its metadata under a second lock (a
// filtered search could see the record without it); add_images_batch dropped the metadata of
// files it found unchanged or renamed.
TEST_CASE("metadata given with an add is stored with it, whatever the file's status", "[db]") {
  Scratch s("add-metadata");
  auto db = VectorDatabase::create(s.db(), descriptor());
  const std::string gif = s.photo("giphy.gif"), ppm = s.photo("Iggy.256.ppm");
  const Id a = db->add_image(gif, {{"album", std::string("one")}}, {"t1"});
  CHECK(std::get<std::string>(db->get(a)->metadata.at("album")) == "one");
  CHECK(db->get(a)->tags == std::vector<std::string>{"t1"});
  // Unchanged file, new metadata: replaced; no metadata given: kept.
  CHECK(db->add_image(gif, {{"album", std::string("two")}}) == a);
  CHECK(std::get<std::string>(db->get(a)->metadata.at("album")) == "two");
  CHECK(db->get(a)->tags == std::vector<std::string>{"t1"});
  CHECK(db->add_image(gif) == a);
  CHECK(std::get<std::string>(db->get(a)->metadata.at("album")) == "two");

  // A batch: unchanged and renamed files take the metadata given for them.
  const Id b = db->add_image(ppm);
  const std::string moved = (s.root / "photos" / "moved.ppm").string();
  fs::rename(ppm, moved);
  const auto results = db->add_images_batch({gif, moved}, {{{"album", std::string("three")}},
                                                           {{"album", std::string("four")}}});
  CHECK(results[0].status == AddStatus::unchanged);
  CHECK(results[1].status == AddStatus::renamed);
  CHECK(results[1].id == b);
  CHECK(std::get<std::string>(db->get(a)->metadata.at("album")) == "three");
  CHECK(std::get<std::string>(db->get(b)->metadata.at("album")) == "four");
  SearchOptions o(5);
  o.where = Where::parse("album=four");
  const auto hits = db->search_by_image(moved, o);
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].id == b);
}

// Regression: `imgvec index EMPTY --db D` then `imgvec index PHOTOS --db D` segfaulted.
TEST_CASE("a database saved empty reopens and takes images", "[db][lifecycle]") {
  for (int variant = 0; variant < 3; ++variant) {
    INFO("variant " << variant);
    Scratch s("empty-" + std::to_string(variant));
    DatabaseOptions options;
    if (variant == 0) options.index_kind = IndexKind::flat;
    if (variant == 2) options.hnsw.storage = VectorStorage::float16;
    fs::create_directories(s.root / "nothing");
    {
      auto db = VectorDatabase::create(s.db(), descriptor(), options);
      const auto r = db->index_directory((s.root / "nothing").string());
      CHECK(r.added == 0);
      db->save();
    }
    auto db = VectorDatabase::open(s.db(), descriptor());
    const auto r = db->index_directory((s.root / "photos").string());
    CHECK(r.added > 5);
    CHECK(db->search_by_image(s.photo("giphy.gif"), 1).at(0).record.source == s.photo("giphy.gif"));
    const Id first = db->ids().front();
    db->add_image(s.photo("giphy.gif"));
    CHECK(db->remove(first));
    db->save();
  }
}

TEST_CASE("index_directory stops between batches when cancelled, with what it did saved", "[db][lifecycle]") {
  Scratch s("cancel");
  for (const std::size_t chunk : {std::size_t{3}, std::size_t{512}}) {
    INFO("chunk " << chunk);
    fs::remove_all(s.db());
    // Ctrl-C comes once five files have been through (as progress reports them, batches of one):
    // the run stops there, whatever the chunking, and keeps exactly those five.
    std::size_t through = 0;
    IndexDirectoryOptions o;
    o.chunk = chunk;
    o.progress = [&](std::size_t done, std::size_t) { through = std::max(through, done); };
    o.cancel = [&] { return through >= 5; };
    auto encoder = std::make_shared<DescriptorEncoder>();
    encoder->set_batch_size(1);
    IndexDirectoryReport r;
    {
      auto db = VectorDatabase::create(s.db(), encoder);
      r = db->index_directory((s.root / "photos").string(), o);
      CHECK(r.interrupted);
      CHECK(r.added + r.failed == 5);
    }
    auto db = VectorDatabase::open(s.db(), encoder);  // what was done was saved
    CHECK(db->size() == r.added);
    const auto again = db->index_directory((s.root / "photos").string());
    CHECK_FALSE(again.interrupted);
    CHECK(again.unchanged == r.added);
    CHECK(again.added + again.unchanged + again.failed == s.photos().size());
  }
}

TEST_CASE("index_directory attaches metadata from a callback and counts vanished files", "[db]") {
  Scratch s("metadata-callback");
  auto db = VectorDatabase::create(s.db(), descriptor());
  IndexDirectoryOptions o;
  o.metadata = [](const std::string& path) {
    return Metadata{{"folder", fs::path(path).parent_path().filename().string()}};
  };
  const auto r = db->index_directory((s.root / "photos").string(), o);
  REQUIRE(r.added > 0);
  for (Id id : db->ids()) CHECK(std::get<std::string>(db->get(id)->metadata.at("folder")) == "photos");
  fs::remove(s.photo("giphy.gif"));
  const auto again = db->index_directory((s.root / "photos").string());
  CHECK(again.vanished == 1);
  CHECK(db->size() == r.added);
  o.remove_missing = true;
  const auto third = db->index_directory((s.root / "photos").string(), o);
  CHECK(third.removed == 1);
  CHECK(third.vanished == 0);
}

TEST_CASE("files that failed are remembered and not read again until they change", "[db]") {
  Scratch s("remembered-failures");
  const std::string dir = (s.root / "photos").string();
  std::size_t broken = 0;
  {
    auto db = VectorDatabase::create(s.db(), descriptor());
    const auto first = db->index_directory(dir);
    broken = first.failed;
    REQUIRE(broken == kBroken.size());
    CHECK(first.failed_unchanged == 0);
  }
  auto db = VectorDatabase::open(s.db(), descriptor());  // remembered across a save and reopen
  const auto again = db->index_directory(dir);
  CHECK(again.failed == broken);
  CHECK(again.failed_unchanged == broken);
  for (const auto& f : again.failures) {
    CHECK(f.remembered);
    CHECK_THAT(f.error, Catch::Matchers::StartsWith(f.source));
  }
  // A file that could not be read is read again once it changes; one that is fixed is added.
  const std::string bad = s.photo("ukbench09268_corrupt.jpg");
  fs::copy_file(s.photo("giphy.gif"), bad, fs::copy_options::overwrite_existing);
  const auto fixed = db->index_directory(dir);
  CHECK(fixed.failed == broken - 1);
  CHECK(fixed.failed_unchanged == broken - 1);
  CHECK(fixed.added == 1);
  // A broken file that vanishes is forgotten.
  fs::remove(s.photo("marbles.pbm"));
  const auto fewer = db->index_directory(dir);
  CHECK(fewer.failed == broken - 2);
  db->save();
  const auto ids = db->ids();
  db.reset();
  auto reopened = VectorDatabase::open(s.db(), descriptor());
  CHECK(reopened->ids() == ids);
  CHECK(reopened->index_directory(dir).failed_unchanged == broken - 2);
}

TEST_CASE("destroy deletes a database's own files and nothing else", "[db][safety]") {
  Scratch s("destroy");
  {
    auto db = VectorDatabase::create(s.db(), descriptor());
    db->index_directory((s.root / "photos").string());
    db->save();
    CHECK_THROWS_AS(VectorDatabase::destroy(s.db()), Error);  // open: refused
  }
  VectorDatabase::destroy(s.db());
  CHECK_FALSE(fs::exists(s.db()));
  CHECK_THROWS_AS(VectorDatabase::destroy(s.db()), Error);
  { VectorDatabase::create(s.db(), descriptor())->save(); }
  std::ofstream(fs::path(s.db()) / "notes.txt") << "mine";
  VectorDatabase::destroy(s.db());
  CHECK_FALSE(VectorDatabase::exists(s.db()));
  CHECK(fs::exists(fs::path(s.db()) / "notes.txt"));
  std::size_t left = 0;
  for (const auto& e : fs::directory_iterator(s.db())) left += e.path().filename() == "notes.txt" ? 0 : 1;
  CHECK(left == 0);
}

TEST_CASE("imported bytes keep a file in the database; the same bytes again are the same image", "[db]") {
  Scratch s("import");
  auto db = VectorDatabase::create(s.db(), descriptor());
  std::ifstream in(s.photo("giphy.gif"), std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const AddResult first = db->import_image_bytes(bytes.data(), bytes.size(), "cat.gif", {}, {"web"});
  CHECK(first.status == AddStatus::added);
  const auto rec = db->get(first.id);
  REQUIRE(rec);
  CHECK(fs::exists(rec->source));
  CHECK(fs::path(rec->source).parent_path().filename() == "files");
  CHECK(std::get<std::string>(rec->metadata.at("name")) == "cat.gif");
  // Again: unchanged, metadata kept; with other metadata: updated, same id.
  CHECK(db->import_image_bytes(bytes.data(), bytes.size(), "again.gif").status == AddStatus::unchanged);
  CHECK(std::get<std::string>(db->get(first.id)->metadata.at("name")) == "cat.gif");
  const AddResult third = db->import_image_bytes(bytes.data(), bytes.size(), "", {{"album", std::string("x")}});
  CHECK(third.status == AddStatus::updated);
  CHECK(third.id == first.id);
  CHECK(db->size() == 1);
  // Not an image: refused by the name given, nothing kept.
  try {
    db->import_image_bytes("hello", 5, "notes.txt");
    FAIL("imported text");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("notes.txt"));
  }
  CHECK(std::distance(fs::directory_iterator(s.db() + "/files"), fs::directory_iterator{}) == 1);
  // A removed image's file goes at the next save, and not before.
  db->remove(first.id);
  CHECK(fs::exists(rec->source));
  db->save();
  CHECK_FALSE(fs::exists(rec->source));
  const AddResult back = db->import_image_bytes(bytes.data(), bytes.size(), "cat.gif");
  CHECK(back.status == AddStatus::added);
  CHECK(back.id != first.id);
  db->save();
  CHECK(fs::exists(db->get(back.id)->source));
  db.reset();
  VectorDatabase::destroy(s.db());
  CHECK_FALSE(fs::exists(s.db()));
}

TEST_CASE("the library remembers a database's model bundle, absolute, and destroy forgets it", "[db]") {
  Scratch s("model");
  {
    auto db = VectorDatabase::create(s.db(), descriptor());
    CHECK(VectorDatabase::remembered_model_bundle(s.db()).empty());
    db->remember_model_bundle("models/x.pt");  // as a user types it
    CHECK(VectorDatabase::remembered_model_bundle(s.db()) == (fs::current_path() / "models/x.pt").string());
    db->remember_model_bundle("");
    CHECK(VectorDatabase::remembered_model_bundle(s.db()).empty());
    db->remember_model_bundle("/opt/m.pt");
  }
  VectorDatabase::destroy(s.db());
  CHECK_FALSE(fs::exists(s.db()));  // MODEL went with the rest, and so did the folder
}

TEST_CASE("a database moved to another folder keeps its uploaded images' files", "[db]") {
  Scratch s("moved");
  std::ifstream in(s.photo("giphy.gif"), std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  Id saved = 0, logged = 0;
  {
    DatabaseOptions logging;
    logging.durability = Durability::on_write;
    auto db = VectorDatabase::create(s.db(), descriptor(), logging);
    saved = db->import_image_bytes(bytes.data(), bytes.size(), "cat.gif").id;
    const std::string name = fs::path(db->get(saved)->source).filename().string();
    CHECK(name.size() == 64 + 4);  // SHA-256 in hex, then ".gif"
    db->save();
    std::ifstream second(s.photo("baboon.256.pgm"), std::ios::binary);
    const std::string other{std::istreambuf_iterator<char>(second), std::istreambuf_iterator<char>()};
    logged = db->import_image_bytes(other.data(), other.size(), "baboon.pgm").id;  // in the log only
    CHECK(logged != saved);
  }
  const std::string moved = s.db() + "-moved";
  fs::rename(s.db(), moved);
  {
    auto db = VectorDatabase::open(moved, descriptor());
    for (const Id id : {saved, logged}) {
      const auto rec = db->get(id);
      REQUIRE(rec);
      INFO(rec->source);
      CHECK(rec->source.rfind(fs::absolute(moved).lexically_normal().string() + "/files/", 0) == 0);
      CHECK(fs::exists(rec->source));
    }
    db->save();  // the cleanup keeps both: their records name them where they now are
    CHECK(fs::exists(db->get(saved)->source));
    CHECK(fs::exists(db->get(logged)->source));
    // A file changed behind the database's back is never overwritten by an upload.
    std::ofstream(db->get(saved)->source, std::ios::binary | std::ios::trunc) << "changed";
    CHECK_THROWS_WITH(db->import_image_bytes(bytes.data(), bytes.size(), "cat.gif"),
                      Catch::Contains("changed outside imgvec"));
  }
  fs::remove_all(moved);
}

TEST_CASE("patch_metadata changes keys in one step, so concurrent patches keep each other's keys",
          "[db][concurrency]") {
  Scratch s("patch");
  auto db = VectorDatabase::create(s.db(), descriptor());
  const Id id = db->add_image(s.photo("giphy.gif"), {{"keep", std::string("x")}, {"drop", std::int64_t(1)}}, {"t"});
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) db->patch_metadata(id, {{"k" + std::to_string(t), std::int64_t(i)}}, {});
    });
  }
  for (auto& w : writers) w.join();
  const ImageRecord after = db->patch_metadata(id, {}, {"drop"});
  CHECK(after.metadata.size() == 5);  // keep, k0..k3
  for (int t = 0; t < 4; ++t) CHECK(std::get<std::int64_t>(after.metadata.at("k" + std::to_string(t))) == 49);
  CHECK_FALSE(after.metadata.count("drop"));
  CHECK(after.tags == std::vector<std::string>{"t"});
  const std::vector<std::string> tags{"new"};
  CHECK(db->patch_metadata(id, {}, {}, &tags).tags == tags);
  CHECK_THROWS_AS(db->patch_metadata(999, {}, {}), Error);
}

TEST_CASE("photo facts are stored with each image and kept through saves and the log", "[db][photo]") {
  Scratch s("photo-facts");
  const std::string dir = (s.root / "photos").string();
  // The Nikon file's EXIF date is zeros, and its file was written today: it stays undated. A
  // phone's file name dates a copy of a photo without EXIF.
  fs::copy_file(s.photo("ukbench00120_gray.jpg"), fs::path(dir) / "IMG_20230601_142233.jpg");
  {
    auto db = VectorDatabase::create(s.db(), descriptor());
    db->index_directory(dir);
    const ImageRecord canon = *db->get(*db->find_source(s.photo("ukbench01380.jpg")));
    CHECK(canon.photo.taken_source == TakenSource::exif);
    CHECK(canon.photo.taken_text() == "2005-08-14T01:08:49");
    CHECK(canon.photo.camera() == "Canon PowerShot S230");
    const ImageRecord nikon = *db->get(*db->find_source(s.photo("ukbench09060.jpg")));
    CHECK(nikon.photo.camera() == "NIKON E5700");
    CHECK(nikon.photo.taken_source == TakenSource::none);
    CHECK_FALSE(nikon.photo.taken_ms);
    const ImageRecord gif = *db->get(*db->find_source(s.photo("giphy.gif")));
    CHECK_FALSE(gif.photo.taken_ms);
    CHECK(gif.photo.camera().empty());
    const ImageRecord phone = *db->get(*db->find_source((fs::path(dir) / "IMG_20230601_142233.jpg").string()));
    CHECK(phone.photo.taken_source == TakenSource::file_name);
    CHECK(phone.photo.taken_text() == "2023-06-01T14:22:33");
    // Filters and sorting see them.
    SearchOptions o(50);
    o.where = Where::parse("camera=canon*");
    for (const auto& hit : db->search_by_image(s.photo("giphy.gif"), o)) CHECK(hit.record.photo.camera_make == "Canon");
    o.where = Where::parse("taken_source=exif");
    o.sort = SortOrder::oldest;
    const auto dated = db->search_by_image(s.photo("giphy.gif"), o);
    REQUIRE(dated.size() >= 3);
    for (std::size_t i = 1; i < dated.size(); ++i) CHECK(*dated[i - 1].record.photo.taken_ms <= *dated[i].record.photo.taken_ms);
    o.sort = SortOrder::newest;
    o.where = Where();
    const auto newest = db->search_by_image(s.photo("giphy.gif"), o);
    CHECK(newest.front().record.source == phone.source);
    CHECK_FALSE(newest.back().record.photo.taken_ms);  // undated last
    for (std::size_t i = 1; i < newest.size(); ++i) {
      if (newest[i].record.photo.taken_ms) CHECK(newest[i - 1].record.photo.taken_ms);
    }
    o.where = Where::parse("modified>=2000");  // the file's own time, under its own key
    CHECK(db->search_by_image(s.photo("giphy.gif"), o).size() == newest.size());
    // From memory: what the EXIF says, and no file time to fall back on.
    const auto bytes = [](const std::string& path) {
      std::ifstream in(path, std::ios::binary);
      return std::vector<char>(std::istreambuf_iterator<char>(in), {});
    };
    const auto jpeg = bytes(s.photo("ukbench09380.jpeg"));
    const Id mem = db->add_image_bytes(jpeg.data(), jpeg.size(), "upload.jpg");
    CHECK(db->get(mem)->photo.taken_text() == "2006-01-21T14:33:52");
    const auto plain = bytes(s.photo("ukbench00120_gray.jpg"));
    const Id bare = db->add_image_bytes(plain.data(), plain.size(), "plain.jpg");
    CHECK(db->get(bare)->photo == PhotoFacts{});
    db->save();
  }
  // Saved, and logged: a reopen sees them, and so does a replay of changes never saved.
  OpenOptions logged;
  logged.durability = Durability::on_write;
  Id replayed = 0;
  {
    auto db = VectorDatabase::open(s.db(), descriptor(), logged);
    CHECK(db->get(*db->find_source(s.photo("ukbench01380.jpg")))->photo.camera() == "Canon PowerShot S230");
    fs::copy_file(s.photo("ukbench09380.jpeg"), s.root / "late.jpeg");
    replayed = db->add_image((s.root / "late.jpeg").string());
  }  // closed without a save
  auto db = VectorDatabase::open(s.db(), descriptor());
  CHECK(db->get_stats().replayed_changes >= 1);
  CHECK(db->get(replayed)->photo.camera() == "Canon IXY DIGITAL 320");
}

TEST_CASE("image analysis is stored; colour queries and colour, tone and brightness filters find it", "[db][analysis]") {
  Scratch s("colours");
  const fs::path dir = s.root / "colours";
  fs::create_directories(dir);
  auto write = [&](const std::string& name, auto colour) {
    std::vector<std::uint8_t> rgb(96 * 64 * 3);
    for (int y = 0; y < 64; ++y) {
      for (int x = 0; x < 96; ++x) {
        const std::array<std::uint8_t, 3> c = colour(x, y);
        std::copy(c.begin(), c.end(), &rgb[(y * 96 + x) * 3]);
      }
    }
    REQUIRE(stbi_write_png((dir / name).string().c_str(), 96, 64, 3, rgb.data(), 96 * 3));
    return (dir / name).string();
  };
  using C = std::array<std::uint8_t, 3>;
  const auto blue = write("blue.png", [](int, int) { return C{42, 111, 219}; });
  const auto red = write("red.png", [](int, int) { return C{220, 30, 30}; });
  const auto half = write("half.png", [](int x, int) { return x < 48 ? C{42, 111, 219} : C{220, 30, 30}; });
  const auto night = write("night.png", [](int, int) { return C{12, 14, 30}; });
  auto db = VectorDatabase::create(s.db(), descriptor());
  db->index_directory(dir.string());
  const ImageRecord b = *db->get(*db->find_source(blue));
  REQUIRE(b.analysis.analysed());
  CHECK(b.analysis.colours.at(0).name == ColourName::blue);
  CHECK(b.analysis.tone == Tone::cool);

  const auto hits = db->search_by_colour({*parse_colour("#2a6fdb")});
  REQUIRE(hits.size() == 4);
  CHECK(hits[0].record.source == blue);
  CHECK(hits[0].score == Approx(1).margin(0.01));
  CHECK(hits[1].record.source == half);
  CHECK(hits[1].score == Approx(0.5).margin(0.02));
  const auto both = db->search_by_colour({*parse_colour("#2a6fdb"), *parse_colour("#dc1e1e")}, SearchOptions(1));
  CHECK(both.at(0).record.source == half);
  SearchOptions o(10);
  o.min_score = 0.9f;
  CHECK(db->search_by_colour({*parse_colour("blue")}, o).empty());  // pure blue is far from #2a6fdb
  o = SearchOptions(10);
  o.where = Where::parse("colour=red");
  std::set<std::string> reds;
  for (const auto& h : db->search_by_image(red, o)) reds.insert(h.record.source);
  CHECK(reds == std::set<std::string>{red, half});
  o.where = Where::parse("brightness<0.1");
  CHECK(db->search_by_image(red, o).at(0).record.source == night);
  o.where = Where::parse("tone=warm");
  CHECK(db->search_by_image(red, o).at(0).record.source == red);
  CHECK_THROWS_AS(Where::parse("colour=teal"), Error);
  CHECK_THROWS_AS(db->search_by_colour({}), Error);
  // Kept through a save.
  db.reset();
  db = VectorDatabase::open(s.db(), descriptor());
  CHECK(db->get(*db->find_source(blue))->analysis == b.analysis);
}

TEST_CASE("queries of weighted positive and negative examples", "[db][query]") {
  Scratch s("query");
  auto db = VectorDatabase::create(s.db(), descriptor());
  db->index_directory((s.root / "photos").string());
  const Id gif = *db->find_source(s.photo("giphy.gif"));
  const Id baboon = *db->find_source(s.photo("baboon.256.pgm"));
  const auto a = db->get_vector(gif), b = db->get_vector(baboon);

  // One stored id: "more like this", without the image itself.
  Query like;
  like.positive = {QueryExample::of_id(gif)};
  const auto similar = db->search(like, 20);
  CHECK(similar.size() == kDecodable - 1);
  for (const auto& h : similar) CHECK(h.id != gif);
  CHECK(db->search_by_vector(VectorView(a.data(), a.size()), 2).at(1).id == similar.at(0).id);

  // Weights and a negative: q = normalize(2 P - N), P = (3a + b) / 4, N = b.
  Query q;
  q.positive = {QueryExample::of_id(gif, 3), QueryExample::of_image_file(s.photo("baboon.256.pgm"))};
  q.negative = {QueryExample::of_vector(b)};
  const auto v = db->query_vector(q);
  std::vector<double> want(a.size());
  double norm = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    want[i] = 2 * (3 * a[i] + b[i]) / 4 - b[i];
    norm += want[i] * want[i];
  }
  for (std::size_t i = 0; i < a.size(); ++i) REQUIRE(v[i] == Approx(want[i] / std::sqrt(norm)).margin(1e-5));
  // The negative pushes the baboon down: it ranks lower than with the positives alone.
  Query without = q;
  without.negative.clear();
  auto rank_of = [&](const std::vector<SearchResult>& hits, Id id) {
    for (std::size_t i = 0; i < hits.size(); ++i) {
      if (hits[i].id == id) return i;
    }
    return hits.size();
  };
  SearchOptions all(50);
  const auto hits = db->search(q, all);
  CHECK(rank_of(hits, gif) == hits.size());  // an id given as an example is not a result
  CHECK(rank_of(hits, baboon) < hits.size());  // an example given as a file still is
  Query by_file = q;
  by_file.positive[0] = QueryExample::of_image_file(s.photo("giphy.gif"), 3);
  by_file.positive[1] = QueryExample::of_image_file(s.photo("Iggy.256.ppm"));
  Query by_file_plain = by_file;
  by_file_plain.negative.clear();
  CHECK(rank_of(db->search(by_file, all), baboon) > rank_of(db->search(by_file_plain, all), baboon));

  // What is refused, and how.
  auto code = [&](const Query& bad) {
    try {
      db->query_vector(bad);
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::io;  // not thrown
  };
  CHECK(code(Query{}) == ErrorCode::invalid_argument);
  Query negative_only;
  negative_only.negative = {QueryExample::of_id(gif)};
  CHECK(code(negative_only) == ErrorCode::invalid_argument);
  Query zero_weight;
  zero_weight.positive = {QueryExample::of_id(gif, 0)};
  CHECK(code(zero_weight) == ErrorCode::invalid_argument);
  Query unknown;
  unknown.positive = {QueryExample::of_id(999999)};
  CHECK(code(unknown) == ErrorCode::not_found);
  Query text;
  text.positive = {QueryExample::of_text("a dog")};
  CHECK(code(text) == ErrorCode::unsupported);  // the built-in encoder has no text model
  Query cancelling;
  std::vector<float> minus_a(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) minus_a[i] = -a[i];
  cancelling.positive = {QueryExample::of_vector(a), QueryExample::of_vector(minus_a)};
  CHECK(code(cancelling) == ErrorCode::invalid_argument);
  Query missing;
  missing.positive = {QueryExample::of_image_file((s.root / "nope.jpg").string())};
  CHECK(code(missing) == ErrorCode::not_found);
  Query wrong_size;
  wrong_size.positive = {QueryExample::of_vector({1, 2, 3})};
  CHECK(code(wrong_size) == ErrorCode::invalid_argument);
}

TEST_CASE("labels need a text model, and label files are checked line by line", "[db][labels]") {
  Scratch s("labels");
  auto db = VectorDatabase::create(s.db(), descriptor());
  db->index_directory((s.root / "photos").string());
  try {
    db->label_images();
    FAIL("labelled without a text model");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::unsupported);
    CHECK_THAT(e.what(), Catch::Matchers::Contains("CLIP"));
  }
  const LabelSet defaults = default_labels();
  CHECK(defaults.names.size() == defaults.prompts.size());
  for (const char* kind : {"photo", "screenshot", "document", "receipt", "drawing", "diagram or chart", "meme", "map", "logo"})
    CHECK(std::count(defaults.names.begin(), defaults.names.end(), kind) == 1);

  const fs::path file = s.root / "labels.txt";
  std::ofstream(file) << "# my labels\n\ncat\n  dog : a photo of my dog  \nboat:a sailing boat\n";
  const LabelSet mine = read_label_file(file.string());
  CHECK(mine.names == std::vector<std::string>{"cat", "dog", "boat"});
  CHECK(mine.prompts == std::vector<std::string>{"a photo of a cat", "a photo of my dog", "a sailing boat"});
  auto error_of = [](const std::string& path) {
    try {
      read_label_file(path);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::ofstream(file) << "cat\ndog\ncat\n";
  CHECK_THAT(error_of(file.string()), Catch::Matchers::Contains("labels.txt:3") && Catch::Matchers::Contains("twice"));
  std::ofstream(file) << "cat\n: a prompt without a name\n";
  CHECK_THAT(error_of(file.string()), Catch::Matchers::Contains("labels.txt:2"));
  std::ofstream(file) << "# only a comment\n";
  CHECK_THAT(error_of(file.string()), Catch::Matchers::Contains("no labels"));
  CHECK_THAT(error_of((s.root / "nope.txt").string()), Catch::Matchers::Contains("nope.txt"));
}

#include "database/manifest.hpp"

TEST_CASE("index --refresh gives images indexed by an older imgvec their facts, without embedding", "[db][photo]") {
  Scratch s("refresh");
  const std::string dir = (s.root / "photos").string();
  std::uint64_t generation = 0;
  {
    auto db = VectorDatabase::create(s.db(), descriptor());
    db->index_directory(dir);
    generation = db->get_stats().generation;
  }
  // As an imgvec before 0.2 saved them: records without photo facts or analysis.
  const std::string records = detail::metadata_path(s.db(), generation);
  MetadataStore old = MetadataStore::load(records);
  for (Id id : old.ids()) {
    ImageRecord r = *old.get(id);
    r.photo = PhotoFacts{};
    r.analysis = ImageAnalysis{};
    old.put(std::move(r));
  }
  old.save(records);

  auto db = VectorDatabase::open(s.db(), descriptor());
  const Id canon = *db->find_source(s.photo("ukbench01380.jpg"));
  const auto vector_before = db->get_vector(canon);
  IndexDirectoryReport r = db->index_directory(dir);
  CHECK(r.unchanged == kDecodable);
  CHECK(r.refreshed == 0);  // only when asked...
  CHECK(r.without_facts == kDecodable);  // ...but counted, so the CLI can say so
  CHECK_FALSE(db->get(canon)->analysis.analysed());
  IndexDirectoryOptions refresh;
  refresh.refresh = true;
  r = db->index_directory(dir, refresh);
  CHECK(r.refreshed == kDecodable);
  CHECK(r.added + r.updated == 0);
  const ImageRecord now = *db->get(canon);
  CHECK(now.photo.camera() == "Canon PowerShot S230");
  CHECK(now.photo.taken_text() == "2005-08-14T01:08:49");
  CHECK(now.analysis.analysed());
  CHECK(db->get_vector(canon) == vector_before);  // not embedded again
  CHECK(db->index_directory(dir, refresh).refreshed == 0);  // done once
  CHECK(db->index_directory(dir).without_facts == 0);
  // Saved by the run's checkpoint.
  db.reset();
  db = VectorDatabase::open(s.db(), descriptor());
  CHECK(db->get(canon)->photo.camera() == "Canon PowerShot S230");
}
