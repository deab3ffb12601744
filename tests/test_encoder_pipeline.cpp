#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <fstream>
#include <iterator>
#include <optional>
#include <thread>

#include "imgvec/database.hpp"
#include "imgvec/database/exchange.hpp"
#include "imgvec/encoder/encoder.hpp"
#include "imgvec/error.hpp"
#include "support/temp_dir.hpp"

// The Encoder base class's batching and file pipeline, with a model-free encoder so it runs in
// every build (no libtorch) and under the sanitizers.
using namespace imgvec;

namespace {

const std::string kImages = std::string(IMGVEC_TEST_DATA_DIR) + "/images/";

// "Embeds" an image as its mean colour plus a constant, so vectors differ per image and can be
// recomputed independently.
class MeanColourEncoder final : public Encoder {
 public:
  explicit MeanColourEncoder(bool fail_model = false, const std::string& precision = "float32")
      : Encoder(EncoderFingerprint{"test-mean-colour", "mean colour", "", 4, "none"}, 3),
        fail_model_(fail_model) {
    set_precision(precision);
  }
  bool supports_text() const noexcept override { return false; }
  std::atomic<int> model_calls{0};
  std::atomic<std::size_t> largest_batch{0};

 protected:
  void prepare_image(const Image& image, float* input) const override {
    double sum[3] = {0, 0, 0};
    for (std::size_t p = 0; p < image.rgb.size(); p += 3) {
      for (int c = 0; c < 3; ++c) sum[c] += image.rgb[p + c];
    }
    const double n = static_cast<double>(image.rgb.size() / 3);
    for (int c = 0; c < 3; ++c) input[c] = static_cast<float>(sum[c] / n / 255.0);
  }
  void run_images(const float* inputs, std::size_t count, float* out) override {
    if (fail_model_) throw std::runtime_error("model exploded");
    ++model_calls;
    std::size_t seen = largest_batch.load();
    while (count > seen && !largest_batch.compare_exchange_weak(seen, count)) {
    }
    for (std::size_t i = 0; i < count; ++i) {
      for (int c = 0; c < 3; ++c) out[i * 4 + c] = inputs[i * 3 + c];
      out[i * 4 + 3] = 1.0f;
    }
  }

 private:
  bool fail_model_;
};

std::vector<float> expected_for(const std::string& path) {
  const Image im = decode_image_file(path);
  double sum[3] = {0, 0, 0};
  for (std::size_t p = 0; p < im.rgb.size(); p += 3) {
    for (int c = 0; c < 3; ++c) sum[c] += im.rgb[p + c];
  }
  std::vector<float> v(4);
  for (int c = 0; c < 3; ++c) v[c] = static_cast<float>(sum[c] / static_cast<double>(im.rgb.size() / 3) / 255.0);
  v[3] = 1.0f;
  double norm = 0;
  for (float x : v) norm += double{x} * x;
  for (float& x : v) x = static_cast<float>(x / std::sqrt(norm));
  return v;
}

const char* const kGood[] = {"ukbench01380.jpg", "giphy.gif", "Iggy.256.ppm", "baboon.256.pgm",
                             "alpha_channel_image.png", "ukbench00120_gray.jpg"};
const char* const kBad[] = {"ukbench09268_corrupt.jpg", "no-such-file.png", "marbles.pbm"};

}  // namespace

TEST_CASE("the file pipeline embeds every good file, in order, whatever the batching", "[encoder][concurrency]") {
  std::vector<std::string> paths;
  std::vector<bool> good;
  for (int r = 0; r < 3; ++r) {  // good and bad files interleaved, batches split in odd places
    for (std::size_t i = 0; i < std::size(kGood); ++i) {
      paths.push_back(kImages + kGood[i]);
      good.push_back(true);
      if (i < std::size(kBad) && (i + r) % 2 == 0) {
        paths.push_back(kImages + kBad[i]);
        good.push_back(false);
      }
    }
  }
  std::vector<std::vector<float>> expected;
  for (std::size_t i = 0; i < paths.size(); ++i) expected.push_back(good[i] ? expected_for(paths[i]) : std::vector<float>{});

  for (std::size_t batch : {1, 2, 3, 7, 64}) {
    for (std::size_t threads : {1, 2, 4}) {
      INFO("batch " << batch << ", " << threads << " threads");
      MeanColourEncoder e;
      e.set_batch_size(batch);
      e.set_pipeline_threads(threads);
      std::size_t progress_calls = 0, last = 0;
      EmbedFilesOptions options;
      options.progress = [&](std::size_t done, std::size_t total) {
        CHECK(total == paths.size());
        CHECK(done > last);
        last = done;
        ++progress_calls;
      };
      const auto results = e.embed_image_files(paths, options);
      REQUIRE(results.size() == paths.size());
      CHECK(last == paths.size());
      CHECK(progress_calls == (paths.size() + batch - 1) / batch);
      CHECK(e.largest_batch <= batch);
      for (std::size_t i = 0; i < paths.size(); ++i) {
        INFO(paths[i]);
        REQUIRE(results[i].ok() == good[i]);
        if (!good[i]) {
          CHECK_THAT(results[i].error, Catch::Matchers::StartsWith(paths[i]));
          continue;
        }
        REQUIRE(results[i].vector.size() == 4);
        for (int c = 0; c < 4; ++c) CHECK(results[i].vector[c] == Approx(expected[i][c]).margin(1e-6));
      }
    }
  }
}

TEST_CASE("a failing model call fails its batch's files and the rest go on", "[encoder][errors]") {
  MeanColourEncoder e(/*fail_model=*/true);
  e.set_batch_size(2);
  const std::vector<std::string> paths = {kImages + "giphy.gif", kImages + "marbles.pbm",
                                          kImages + "Iggy.256.ppm"};
  const auto results = e.embed_image_files(paths);
  REQUIRE(results.size() == 3);
  CHECK_THAT(results[0].error, Catch::Matchers::Contains("model exploded"));
  CHECK_THAT(results[1].error, Catch::Matchers::Contains("1-bit PNM"));
  CHECK_THAT(results[2].error, Catch::Matchers::Contains("model exploded"));
}

TEST_CASE("an exception from the progress callback stops the pipeline cleanly", "[encoder][errors]") {
  MeanColourEncoder e;
  e.set_batch_size(1);
  e.set_pipeline_threads(2);
  std::vector<std::string> paths(20, kImages + "Iggy.256.ppm");
  EmbedFilesOptions options;
  options.progress = [](std::size_t done, std::size_t) {
    if (done == 3) throw std::runtime_error("cancelled");
  };
  CHECK_THROWS_WITH(e.embed_image_files(paths, options), "cancelled");
  CHECK(e.model_calls == 3);
}

TEST_CASE("encoder arguments and text support are checked", "[encoder][errors]") {
  MeanColourEncoder e;
  CHECK_THROWS_AS(e.set_batch_size(0), Error);
  CHECK_THROWS_AS(e.set_pipeline_threads(0), Error);
  try {
    e.embed_text("a cat");
    FAIL("text accepted");
  } catch (const Error& err) {
    CHECK(err.code() == ErrorCode::unsupported);
    CHECK_THAT(err.what(), Catch::Matchers::Contains("test-mean-colour"));
  }
  CHECK(e.embed_images(std::vector<Image>{}).empty());
  CHECK(e.fingerprint().to_string() == "kind=test-mean-colour; model=mean colour; hash=-; dimension=4; preprocessing=none");
}

TEST_CASE("a run says where its time went, and records say which precision embedded them", "[encoder][database]") {
  std::vector<std::string> paths;
  for (const char* f : kGood) paths.push_back(kImages + f);
  for (const char* f : kBad) paths.push_back(kImages + f);
  MeanColourEncoder plain;
  PipelineStats stats;
  EmbedFilesOptions options;
  options.stats = &stats;
  plain.embed_image_files(paths, options);
  plain.embed_image_files(paths, options);  // figures add up over runs
  CHECK(stats.images == 2 * std::size(kGood));
  CHECK(stats.seconds > 0);
  CHECK(stats.model_seconds >= 0);
  CHECK(stats.model_seconds + stats.waiting_seconds <= stats.seconds);

  testing::TempDir dir;
  auto bf16 = std::make_shared<MeanColourEncoder>(false, "bf16");
  {
    auto db = VectorDatabase::create(dir.file("db"), bf16);
    const IndexDirectoryReport r = db->index_directory(kImages);
    CHECK(r.embedding.images == r.added);
    CHECK(r.embedding.images >= std::size(kGood));
    CHECK(r.embedding.model_seconds <= r.embedding.seconds);
    for (const Id id : db->ids()) {
      CHECK(db->get(id)->precision == "bf16");
      CHECK(record_to_json(*db->get(id)).find("\"precision\":\"bf16\"") != std::string::npos);
    }
    db->save();
  }
  // The vectors are interchangeable: a float32 encoder of the same fingerprint opens it, keeps
  // the records as they were, and what it adds says nothing of precision.
  auto float32 = std::make_shared<MeanColourEncoder>();
  auto db = VectorDatabase::open(dir.file("db"), float32);
  const auto ids = db->ids();
  REQUIRE(!ids.empty());
  CHECK(db->get(ids.front())->precision == "bf16");
  std::ifstream in(kImages + "giphy.gif", std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const Id added = db->add_image_bytes(bytes.data(), bytes.size(), "copy.gif");
  const std::optional<ImageRecord> again = db->get(added);
  REQUIRE(again);
  CHECK(again->precision.empty());
  CHECK(record_to_json(*again).find("precision") == std::string::npos);
}
