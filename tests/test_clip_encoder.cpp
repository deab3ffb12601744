#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "imgvec/encoder/clip_encoder.hpp"
#include "imgvec/error.hpp"
#include "preprocess_reference.hpp"
#include "support/busy_neighbour.hpp"

// The CLIP encoder against Python running the same bundle (tests/reference/clip_reference.py) on
// the tiny random-weight bundle the build makes (tools/make_test_model.py).
using namespace imgvec;
using namespace imgvec::testing;
namespace fs = std::filesystem;

namespace {

const std::string kBundle = IMGVEC_TINY_BUNDLE;
const std::string kClipReference = IMGVEC_CLIP_REFERENCE_DIR;

ClipEncoder& encoder() {
  static ClipEncoder e(kBundle, [] {
    ClipEncoderOptions o;
    o.device = "cpu";
    return o;
  }());
  return e;
}

std::vector<float> read_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<float> out(bytes.size() / sizeof(float));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
  return out;
}

double cosine(const float* a, const float* b, std::size_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ab += double{a[i]} * b[i];
    aa += double{a[i]} * a[i];
    bb += double{b[i]} * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

double max_abs_difference(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double{a[i]} - b[i]));
  return m;
}

std::vector<std::string> test_image_paths() {
  std::vector<std::string> paths;
  for (const TestImage& t : kTestImages) paths.push_back(kImages + t.file);
  return paths;
}

struct Case {
  std::string text;
  std::vector<std::int32_t> ids;
};

std::vector<Case> tokenizer_cases() {
  std::ifstream in(std::string(IMGVEC_TEST_DATA_DIR) + "/tokenizer_cases.jsonl");
  std::vector<Case> cases;
  std::string line;
  // One object per line: {"text": "...", "ids": [...]}; the texts are JSON strings.
  while (std::getline(in, line)) {
    Case c;
    std::size_t i = line.find("\"text\": \"") + 9;
    for (; line[i] != '"'; ++i) {
      if (line[i] != '\\') {
        c.text += line[i];
        continue;
      }
      const char e = line[++i];
      if (e == 'u') {
        const auto cp = static_cast<char32_t>(std::stoul(line.substr(i + 1, 4), nullptr, 16));
        i += 4;
        if (cp < 0x80) {
          c.text += static_cast<char>(cp);
        } else if (cp < 0x800) {
          c.text += static_cast<char>(0xC0 | (cp >> 6));
          c.text += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
          c.text += static_cast<char>(0xE0 | (cp >> 12));
          c.text += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          c.text += static_cast<char>(0x80 | (cp & 0x3F));
        }
      } else {
        c.text += e == 'n' ? '\n' : e == 't' ? '\t' : e;
      }
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

ErrorCode load_error(const std::string& path, std::string* message, const ClipEncoderOptions& o) {
  try {
    ClipEncoder e(path, o);
  } catch (const Error& e) {
    *message = e.what();
    return e.code();
  }
  FAIL("loaded " << path << " (device " << o.device << ", precision " << o.precision << ")");
  return ErrorCode::invalid_argument;
}

ErrorCode load_error(const std::string& path, std::string* message, const std::string& device = "cpu") {
  ClipEncoderOptions o;
  o.device = device;
  return load_error(path, message, o);
}

}  // namespace

TEST_CASE("a bundle loads with its settings and a fingerprint", "[clip]") {
  const ClipEncoder& e = encoder();
  CHECK(e.info().embed_dim == 32);
  CHECK(e.dimension() == 32);
  CHECK(e.info().preprocess.image_size == 224);
  CHECK(e.info().context_length == 77);
  CHECK(e.info().text_truncation);
  CHECK(e.device() == "cpu");
  // Both towers have 2 blocks of 4 linears each, all rewritten to oneDNN where libtorch has it,
  // and each block's MLP applies its QuickGELU in its first linear; the image tower's patch
  // embedding (a convolution) runs as a linear too.
  CHECK_THAT(e.runtime(), Catch::Matchers::StartsWith("cpu, ") && Catch::Matchers::Contains("frozen"));
  CHECK_THAT(e.runtime(), Catch::Matchers::EndsWith(", 16 linear layers on oneDNN (4 with their activation), "
                                                    "patch embedding as a oneDNN linear") ||
                              Catch::Matchers::EndsWith(", oneDNN unavailable"));
  CHECK(e.supports_text());
  CHECK(e.fingerprint().kind == "clip");
  CHECK(e.fingerprint().model_hash.size() == 16);
  CHECK(e.fingerprint().dimension == 32);
  CHECK_THAT(e.fingerprint().to_string(), Catch::Matchers::Contains("tiny") &&
                                              Catch::Matchers::Contains("bicubic 224"));
  CHECK(e.tokenizer().encode("a photo of a dog") == std::vector<std::int32_t>{320, 1125, 539, 320, 1929});
}

TEST_CASE("image embeddings match Python on the same input tensors", "[clip]") {
  const std::vector<float> expected = read_floats(kClipReference + "/pixels.f32");
  const std::size_t d = encoder().dimension();
  REQUIRE(expected.size() == std::size(kTestImages) * d);
  double worst = 1;
  for (std::size_t i = 0; i < std::size(kTestImages); ++i) {
    INFO(kTestImages[i].file);
    const Reference ref = load_reference(kTestImages[i].file);
    REQUIRE(kPreprocessSizes[0] == 224);
    const auto ours = encoder().encode_pixels(ref.tensors[0].data(), 1, false);
    const double c = cosine(ours.data(), &expected[i * d], d);
    CHECK(c >= 0.9999);
    worst = std::min(worst, c);
  }
  WARN("C++ vs Python, same tensors: worst cosine " << worst);
}

TEST_CASE("image files embed like the Python pipeline", "[clip]") {
  const std::vector<float> expected = read_floats(kClipReference + "/pixels.f32");
  const std::size_t d = encoder().dimension();
  const auto results = encoder().embed_image_files(test_image_paths());
  double worst = 1;
  for (std::size_t i = 0; i < results.size(); ++i) {
    INFO(kTestImages[i].file << ": " << results[i].error);
    REQUIRE(results[i].ok());
    const double c = cosine(results[i].vector.data(), &expected[i * d], d);
    CHECK(c >= 0.999);  // JPEG decoders differ by a level here and there
    worst = std::min(worst, c);
  }
  WARN("C++ decode + preprocess + model vs PIL + torchvision + model: worst cosine " << worst);
}

TEST_CASE("text embeddings match Python, with the shortened text path", "[clip]") {
  const auto cases = tokenizer_cases();
  const std::vector<float> expected = read_floats(kClipReference + "/texts.f32");
  const std::size_t d = encoder().dimension();
  REQUIRE(expected.size() == cases.size() * d);
  std::vector<std::string> texts;
  for (const Case& c : cases) texts.push_back(c.text);
  const auto ours = encoder().embed_texts(texts);
  double worst = 1;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO(cases[i].text);
    const double c = cosine(&ours[i * d], &expected[i * d], d);
    CHECK(c >= 0.9999);
    worst = std::min(worst, c);
    // One text alone runs at its own length; the same vector.
    const auto alone = encoder().embed_text(cases[i].text);
    CHECK(cosine(alone.data(), &ours[i * d], d) >= 0.99999);
  }
  WARN("C++ (shortened to the end token) vs Python (77 tokens): worst cosine " << worst);
}

TEST_CASE("embeddings are unit length and tell images and texts apart", "[clip]") {
  const auto paths = test_image_paths();
  const auto results = encoder().embed_image_files(paths);
  const std::size_t d = encoder().dimension();
  double most_similar = -1;
  // ukbench09380.webp is ukbench09380.jpeg recompressed: the same photo, not a distinct pair.
  auto stem = [](const std::string& p) { return p.substr(0, p.rfind('.')); };
  for (std::size_t i = 0; i < results.size(); ++i) {
    CHECK(cosine(results[i].vector.data(), results[i].vector.data(), d) == Approx(1.0));
    double norm = 0;
    for (float v : results[i].vector) norm += double{v} * v;
    CHECK(norm == Approx(1.0).epsilon(1e-5));
    for (std::size_t j = 0; j < i; ++j) {
      if (stem(paths[i]) == stem(paths[j])) continue;
      most_similar = std::max(most_similar, cosine(results[i].vector.data(), results[j].vector.data(), d));
    }
  }
  WARN("most similar pair of distinct test images: cosine " << most_similar);
  // Random weights see mostly colour and layout, so distinct images land at 0.80-0.99 here; what
  // matters is that they are far outside numerical noise (repeats agree to 1e-6, see below).
  CHECK(most_similar < 0.999);
  const auto texts = encoder().embed_texts({"a photo of a dog", "a diagram", "a photo of a dog"});
  CHECK(cosine(&texts[0], &texts[2 * d], d) == Approx(1.0));
  CHECK(cosine(&texts[0], &texts[d], d) < 0.999);
}

TEST_CASE("batches, pipelines and threads do not change embeddings", "[clip]") {
  std::vector<std::string> paths;
  for (int r = 0; r < 3; ++r) {
    for (const auto& p : test_image_paths()) paths.push_back(p);
  }
  ClipEncoder& e = encoder();
  e.set_batch_size(1);
  e.set_pipeline_threads(1);
  const auto one = e.embed_image_files(paths);
  e.set_batch_size(5);
  e.set_pipeline_threads(2);
  std::size_t last_done = 0, calls = 0;
  EmbedFilesOptions options;
  options.progress = [&](std::size_t done, std::size_t total) {
    CHECK(total == paths.size());
    CHECK(done > last_done);
    last_done = done;
    ++calls;
  };
  const auto many = e.embed_image_files(paths, options);
  e.set_batch_size(8);
  e.set_pipeline_threads(1);
  CHECK(last_done == paths.size());
  CHECK(calls == (paths.size() + 4) / 5);
  REQUIRE(many.size() == one.size());
  for (std::size_t i = 0; i < one.size(); ++i) {
    CHECK(cosine(one[i].vector.data(), many[i].vector.data(), e.dimension()) >= 0.99999);
  }
  // Decoded images give the same vectors as files.
  const Image img = decode_image_file(paths[2]);
  const auto direct = e.embed_image(img);
  CHECK(cosine(direct.data(), one[2].vector.data(), e.dimension()) >= 0.99999);
  // Two threads at once.
  std::vector<float> a, b;
  std::thread t1([&] { a = e.embed_texts({"a red car", "a blue boat"}); });
  std::thread t2([&] { b = e.embed_texts({"a red car", "a blue boat"}); });
  t1.join();
  t2.join();
  CHECK(cosine(a.data(), b.data(), e.dimension()) >= 0.99999);
}

TEST_CASE("beside a busy process, the encoder's own thread choice embeds what fixed threads do", "[clip]") {
  const auto with_threads = [](std::size_t n) {
    ClipEncoderOptions o;
    o.device = "cpu";
    o.threads = n;
    return o;
  };
  ClipEncoder one(kBundle, with_threads(1));
  ClipEncoder two(kBundle, with_threads(2));
  CHECK_THAT(one.runtime(), Catch::Matchers::StartsWith("cpu, float32, 1 thread, "));
  CHECK_THAT(two.runtime(), Catch::Matchers::StartsWith("cpu, float32, 2 threads, "));
  CHECK_THAT(encoder().runtime(), Catch::Matchers::Contains("up to ") &&
                                      Catch::Matchers::Contains("threads (fewer beside busy processes)"));
  const std::vector<std::string> texts{"a red car", "a photo of a dog playing in the snow"};
  const auto paths = test_image_paths();
  const std::size_t d = one.dimension();
  const auto check_same = [&](const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); i += d) CHECK(cosine(&a[i], &b[i], d) >= 0.99999);
  };
  const auto images = [&](ClipEncoder& e) {
    std::vector<float> out;
    for (const auto& r : e.embed_image_files(paths)) out.insert(out.end(), r.vector.begin(), r.vector.end());
    return out;
  };
  const auto idle_texts = encoder().embed_texts(texts);
  const auto idle_images = images(encoder());
  imgvec::testing::BusyNeighbour neighbour;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a window that sees it
  // The model's calls now run on fewer threads than at load, with primitives made for that count.
  check_same(encoder().embed_texts(texts), idle_texts);
  check_same(encoder().embed_texts(texts), one.embed_texts(texts));
  check_same(two.embed_texts(texts), idle_texts);
  check_same(images(encoder()), idle_images);
  check_same(images(one), idle_images);
}

TEST_CASE("linears that apply GELU, QuickGELU or tanh GELU themselves embed what libtorch's own ops do", "[clip]") {
  for (const char* name : {"tiny", "tiny-gelu", "tiny-gelu-tanh"}) {
    const std::string bundle = std::string(IMGVEC_TEST_MODELS_DIR) + "/" + name + ".pt";
    INFO(bundle);
    ClipEncoderOptions fused_options;
    fused_options.device = "cpu";
    ClipEncoderOptions plain_options = fused_options;
    plain_options.optimize = false;  // libtorch runs the graph as traced: mul, sigmoid, mul or gelu
    ClipEncoder fused(bundle, fused_options);
    ClipEncoder plain(bundle, plain_options);
    CHECK_THAT(fused.runtime(),
               Catch::Matchers::EndsWith("(4 with their activation), patch embedding as a oneDNN linear") ||
                   Catch::Matchers::EndsWith(", oneDNN unavailable"));
    const std::size_t d = fused.dimension();
    const std::vector<std::string> texts{"a red car", "a photo of a dog playing in the snow", ""};
    const auto a = fused.embed_texts(texts);
    const auto b = plain.embed_texts(texts);
    for (std::size_t i = 0; i < texts.size(); ++i) CHECK(cosine(&a[i * d], &b[i * d], d) >= 0.99999);
    CHECK(max_abs_difference(a, b) <= 1e-5);
    for (const auto& path : test_image_paths()) {
      const auto x = fused.embed_image_files({path});
      if (!x[0].ok()) continue;
      const auto y = plain.embed_image_files({path});
      REQUIRE(y[0].ok());
      CHECK(cosine(x[0].vector.data(), y[0].vector.data(), d) >= 0.99999);
    }
  }
  // The exact and tanh GELU give texts 1e-4 apart, ten times the bound above: a layer that
  // applied the wrong one would fail it.
  ClipEncoderOptions o;
  o.device = "cpu";
  ClipEncoder erf(std::string(IMGVEC_TEST_MODELS_DIR) + "/tiny-gelu.pt", o);
  ClipEncoder tanh_approx(std::string(IMGVEC_TEST_MODELS_DIR) + "/tiny-gelu-tanh.pt", o);
  CHECK(max_abs_difference(erf.embed_texts({"a red car"}), tanh_approx.embed_texts({"a red car"})) > 5e-5);
}

TEST_CASE("bad files in a batch are reported by name and the rest embedded", "[clip][errors]") {
  const std::vector<std::string> paths = {
      kImages + "ukbench01380.jpg", kImages + "marbles.pbm", kImages + "no-such-file.jpg",
      kImages + "ukbench09268_corrupt.jpg", kImages + "giphy.gif"};
  const auto results = encoder().embed_image_files(paths);
  REQUIRE(results.size() == 5);
  CHECK(results[0].ok());
  CHECK(results[4].ok());
  CHECK(results[0].vector.size() == encoder().dimension());
  for (std::size_t i : {1, 2, 3}) {
    INFO(paths[i]);
    CHECK_FALSE(results[i].ok());
    CHECK(results[i].vector.empty());
    CHECK_THAT(results[i].error, Catch::Matchers::StartsWith(paths[i]));
  }
  CHECK(results[1].code == ErrorCode::unsupported);
  CHECK(results[2].code == ErrorCode::not_found);
  CHECK(encoder().embed_image_files({}).empty());
}

TEST_CASE("missing, damaged and mismatched bundles are refused clearly", "[clip][errors]") {
  std::string message;
  CHECK(load_error("/nonexistent/model.pt", &message) == ErrorCode::not_found);
  CHECK_THAT(message, Catch::Matchers::Contains("/nonexistent/model.pt"));

  const fs::path dir = fs::temp_directory_path() / "imgvec-clip-test";
  fs::create_directories(dir);
  {  // The first half of a good bundle.
    std::ifstream in(kBundle, std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::ofstream(dir / "truncated.pt", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    std::ofstream(dir / "image.pt", std::ios::binary) << "\xFF\xD8\xFF not a model";
  }
  for (const char* name : {"truncated.pt", "image.pt"}) {
    const std::string path = (dir / name).string();
    CHECK(load_error(path, &message) == ErrorCode::corrupt_file);
    CHECK_THAT(message, Catch::Matchers::StartsWith(path) &&
                            Catch::Matchers::Contains("not a TorchScript model bundle"));
  }
  fs::remove_all(dir);

  struct Broken {
    const char* file;
    ErrorCode code;
    const char* says;
  };
  const Broken broken[] = {
      {"no_config.pt", ErrorCode::corrupt_file, "not an imgvec model bundle"},
      {"no_vocab.pt", ErrorCode::corrupt_file, "no imgvec/vocab.txt.gz"},
      {"no_mean.pt", ErrorCode::corrupt_file, "lacks \"mean\""},
      {"newer_format.pt", ErrorCode::unsupported, "bundle format 2 is newer"},
      {"squash_resize.pt", ErrorCode::unsupported, "resize mode \"squash\""},
      {"wrong_dim.pt", ErrorCode::incompatible, "embed_dim 33"},
  };
  for (const Broken& b : broken) {
    const std::string path = kClipReference + "/broken/" + b.file;
    INFO(path);
    CHECK(load_error(path, &message) == b.code);
    CHECK_THAT(message, Catch::Matchers::StartsWith(path) && Catch::Matchers::Contains(b.says));
  }
}

TEST_CASE("model-only calls check their input", "[clip][errors]") {
  ClipEncoder& e = encoder();
  CHECK(e.encode_pixels(nullptr, 0).empty());
  CHECK(e.encode_tokens({}).empty());
  auto row = e.tokenizer().tokenize("a cat", 77);
  row.pop_back();
  CHECK_THROWS_WITH(e.encode_tokens({row}), Catch::Matchers::Contains("row 0 has 76 tokens; the model takes 77"));
  row.push_back(49408);
  CHECK_THROWS_WITH(e.encode_tokens({row}), Catch::Matchers::Contains("token id 49408, outside the vocabulary"));
  // Empty and over-long texts are fine: start and end tokens only, or cut to the context.
  const auto v = e.embed_texts({"", std::string(2000, 'a') + " end"});
  CHECK(v.size() == 2 * e.dimension());
}

TEST_CASE("devices: auto picks CUDA only where there is one, and asking for absent CUDA fails clearly",
          "[clip][errors]") {
  std::string message;
  CHECK(load_error(kBundle, &message, "tpu") == ErrorCode::invalid_argument);
  CHECK_THAT(message, Catch::Matchers::Contains("\"tpu\""));
  ClipEncoderOptions auto_device;
  auto_device.device = "auto";
  const ClipEncoder e(kBundle, auto_device);
  bool has_cuda = true;
  try {
    ClipEncoderOptions cuda;
    cuda.device = "cuda";
    ClipEncoder on_cuda(kBundle, cuda);
    CHECK(on_cuda.device() == "cuda:0");
  } catch (const Error& err) {
    has_cuda = false;
    CHECK(err.code() == ErrorCode::unsupported);
    CHECK_THAT(err.what(), Catch::Matchers::Contains("\"cuda\"") && Catch::Matchers::Contains("CUDA"));
  }
  CHECK(e.device() == (has_cuda ? "cuda:0" : "cpu"));
}

namespace {

// Whether /proc/cpuinfo names a native bfloat16 instruction set, independently of the encoder's
// own CPUID reading.
bool cpuinfo_has_bf16() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    return line.find(" avx512_bf16") != std::string::npos || line.find(" amx_bf16") != std::string::npos;
  }
  return false;
}

ClipEncoderOptions on_cpu(const std::string& precision) {
  ClipEncoderOptions o;
  o.device = "cpu";
  o.precision = precision;
  return o;
}

}  // namespace

TEST_CASE("bf16 embeds within a cosine of 0.999 of float32 where the CPU has it, and is refused clearly elsewhere",
          "[clip][precision]") {
  if (!cpuinfo_has_bf16()) {
    std::string message;
    CHECK(load_error(kBundle, &message, on_cpu("bf16")) == ErrorCode::unsupported);
    CHECK_THAT(message, Catch::Matchers::Contains("AVX-512 BF16") && Catch::Matchers::Contains("float32"));
    return;
  }
  ClipEncoder bf16(kBundle, on_cpu("bf16"));
  CHECK(bf16.precision() == "bf16");
  CHECK_THAT(bf16.runtime(), Catch::Matchers::Contains("bf16"));
  // The vectors are interchangeable: the fingerprint is float32's.
  CHECK(bf16.fingerprint() == encoder().fingerprint());
  const auto paths = test_image_paths();
  const auto a = encoder().embed_image_files(paths);
  const auto b = bf16.embed_image_files(paths);
  REQUIRE(a.size() == b.size());
  std::size_t compared = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].ok() == b[i].ok());
    if (!a[i].ok()) continue;
    INFO(paths[i]);
    CHECK(cosine(a[i].vector.data(), b[i].vector.data(), encoder().dimension()) >= 0.999);
    ++compared;
  }
  CHECK(compared >= 5);
  std::vector<std::string> texts;
  for (const Case& c : tokenizer_cases()) texts.push_back(c.text);
  REQUIRE(texts.size() >= 10);
  const auto ta = encoder().embed_texts(texts);
  const auto tb = bf16.embed_texts(texts);
  const std::size_t d = encoder().dimension();
  for (std::size_t i = 0; i < texts.size(); ++i) {
    INFO(texts[i]);
    CHECK(cosine(&ta[i * d], &tb[i * d], d) >= 0.999);
  }
}

TEST_CASE("precisions a device cannot run are refused, naming the precision", "[clip][precision][errors]") {
  std::string message;
  CHECK(load_error(kBundle, &message, on_cpu("fp16")) == ErrorCode::unsupported);
  CHECK_THAT(message, Catch::Matchers::Contains("\"fp16\"") && Catch::Matchers::Contains("CUDA"));
  CHECK(load_error(kBundle, &message, on_cpu("float64")) == ErrorCode::invalid_argument);
  CHECK_THAT(message, Catch::Matchers::Contains("\"float64\"") && Catch::Matchers::Contains("bf16"));
  ClipEncoderOptions unoptimized = on_cpu("bf16");
  unoptimized.optimize = false;
  // Without AVX-512 BF16 the CPU is refused first; with it, the unoptimized module is.
  const ErrorCode code = load_error(kBundle, &message, unoptimized);
  CHECK((code == ErrorCode::invalid_argument || code == ErrorCode::unsupported));
  CHECK_THAT(message, Catch::Matchers::Contains("bf16"));
}
