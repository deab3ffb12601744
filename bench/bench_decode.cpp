// Fast JPEG decoding (DCT-domain scaling, Encoder::fast_decode) against the exact path on
// 12-megapixel JPEGs: decode + preprocess per image, end-to-end embedding through
// embed_image_files, and the cosine between the two paths' vectors, for the built-in encoder and
// a CLIP bundle. The JPEGs are the test photos at 4000x3000 with sensor-like noise (so they
// compress and decode like camera files, not like smooth upscales), quality 92. Rounds
// alternate exact and fast; figures are medians.
//
//   imgvec_bench_decode [--model BUNDLE] [--rounds N] [--dir SCRATCH] [--out FILE.md]
//
// Prints a markdown section, also written to --out (bench/report.py puts BUILD/bench/decode.md
// into docs/benchmarks.md).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "imgvec/imgvec.hpp"
#include "machine.hpp"
#ifdef IMGVEC_HAS_CLIP_ENCODER
#include "imgvec/encoder/clip_encoder.hpp"
#endif

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

const char* const kPhotos[] = {"ukbench01380.jpg", "ukbench09060.jpg", "ukbench00120_gray.jpg", "ukbench09380.jpeg"};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double seconds(const std::function<void()>& f) {
  const auto t0 = Clock::now();
  f();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// A test photo at 4000x3000 with per-pixel noise of a few levels, as a camera sensor leaves.
std::vector<std::string> make_photos(const fs::path& dir, std::size_t copies) {
  fs::create_directories(dir);
  std::vector<std::string> paths;
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 4.0f);
  for (const char* name : kPhotos) {
    imgvec::Image big =
        imgvec::resize_bicubic(imgvec::decode_image_file(std::string(IMGVEC_BENCH_DATA_DIR "/images/") + name), 4000, 3000);
    for (auto& v : big.rgb) v = static_cast<std::uint8_t>(std::clamp(v + noise(rng), 0.0f, 255.0f));
    const std::string jpeg = imgvec::encode_jpeg(big, 92);
    for (std::size_t c = 0; c < copies; ++c) {
      const fs::path p = dir / (std::to_string(c) + "-" + name);
      std::ofstream(p, std::ios::binary) << jpeg;
      paths.push_back(p.string());
    }
  }
  return paths;
}

struct Row {
  std::string encoder;
  double decode_exact = 0, decode_fast = 0, e2e_exact = 0, e2e_fast = 0;  // ms per image
  double cos_min = 1, cos_mean = 0;
};

Row measure(const std::string& label, imgvec::Encoder& encoder, const std::vector<std::string>& files,
            const std::function<void(const imgvec::Image&)>& preprocess, int rounds) {
  Row row;
  row.encoder = label;
  std::vector<double> dec[2], e2e[2];
  std::vector<imgvec::ImageEmbedding> vectors[2];
  const double n = static_cast<double>(files.size());
  for (int r = 0; r < rounds; ++r) {
    for (int fast = 0; fast < 2; ++fast) {
      encoder.set_fast_decode(fast == 1);
      const imgvec::DecodeOptions options = encoder.decode_options();
      dec[fast].push_back(seconds([&] {
                            for (const auto& f : files) preprocess(imgvec::decode_image_file(f, options));
                          }) * 1000 / n);
      e2e[fast].push_back(seconds([&] { vectors[fast] = encoder.embed_image_files(files); }) * 1000 / n);
    }
  }
  row.decode_exact = median(dec[0]);
  row.decode_fast = median(dec[1]);
  row.e2e_exact = median(e2e[0]);
  row.e2e_fast = median(e2e[1]);
  double sum = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& a = vectors[0][i].vector;
    const auto& b = vectors[1][i].vector;
    if (a.empty() || b.empty()) throw std::runtime_error(files[i] + ": not embedded");
    double dot = 0;
    for (std::size_t k = 0; k < a.size(); ++k) dot += static_cast<double>(a[k]) * b[k];
    row.cos_min = std::min(row.cos_min, dot);
    sum += dot;
  }
  row.cos_mean = sum / n;
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model;
  int rounds = 5;
  fs::path dir = fs::temp_directory_path() / "imgvec-bench-decode";
  std::string out_path;
  std::string command = "imgvec_bench_decode";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--model" && i + 1 < argc) model = argv[++i];
    else if (a == "--rounds" && i + 1 < argc) rounds = std::max(1, std::stoi(argv[++i]));
    else if (a == "--dir" && i + 1 < argc) dir = argv[++i];
    else if (a == "--out" && i + 1 < argc) out_path = argv[++i];
    else {
      std::fprintf(stderr, "usage: imgvec_bench_decode [--model BUNDLE] [--rounds N] [--dir SCRATCH] [--out FILE.md]\n");
      return 2;
    }
  }
  try {
    const std::vector<std::string> files = make_photos(dir, 2);
    std::uintmax_t bytes = 0;
    for (const auto& f : files) bytes += fs::file_size(f);
    std::vector<Row> rows;
    {
      // Its "model" is a copy: embedding a decoded image is its preprocessing.
      imgvec::DescriptorEncoder descriptor;
      rows.push_back(measure("built-in descriptor", descriptor, files,
                             [&](const imgvec::Image& im) { (void)descriptor.embed_image(im); }, rounds));
    }
#ifdef IMGVEC_HAS_CLIP_ENCODER
    if (!model.empty()) {
      imgvec::ClipEncoder clip(model);
      std::vector<float> input(3 * clip.info().preprocess.image_size * clip.info().preprocess.image_size);
      rows.push_back(measure("CLIP " + clip.info().name, clip, files,
                             [&](const imgvec::Image& im) { imgvec::preprocess_clip(im, clip.info().preprocess, input.data()); },
                             rounds));
    }
#else
    if (!model.empty()) std::fprintf(stderr, "this build has no CLIP encoder; --model ignored\n");
#endif
    char line[512];
    std::string md = "Measured by `" + command + "`.\n\nMachine: " + imgvec::bench::machine() + ". ";
    std::snprintf(line, sizeof line,
                  "%zu JPEGs of 4000x3000 (12 MP; the test photos upscaled, with sensor-like noise), %.1f MB each "
                  "on average; medians of %d alternating rounds. Decode + preprocess runs on one thread; end to "
                  "end is `embed_image_files` (batch 8, the encoder's default decode threads).\n\n",
                  files.size(), static_cast<double>(bytes) / files.size() / 1e6, rounds);
    md += line;
    md += "| encoder | decode + preprocess, exact | fast | end to end, exact | fast | decode share, exact | fast | "
          "cosine exact vs fast, min | mean |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const Row& r : rows) {
      std::snprintf(line, sizeof line, "| %s | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %.0f%% | %.0f%% | %.6f | %.6f |\n",
                    r.encoder.c_str(), r.decode_exact, r.decode_fast, r.e2e_exact, r.e2e_fast,
                    100 * r.decode_exact / r.e2e_exact, 100 * r.decode_fast / r.e2e_fast, r.cos_min, r.cos_mean);
      md += line;
    }
    // What indexing adds per image besides embedding: EXIF facts (libexif) and the analysis, on
    // the image as the fast path decodes it for CLIP (1000x750) and on a 640x480 photo.
    {
      imgvec::DecodeOptions o;
      o.min_side = 448;
      const std::vector<std::uint8_t> bytes = imgvec::read_image_file(files[0]);
      const imgvec::Image big = imgvec::decode_image(bytes.data(), bytes.size(), files[0], o);
      const std::string photo = std::string(IMGVEC_BENCH_DATA_DIR "/images/") + kPhotos[0];
      const imgvec::Image small = imgvec::decode_image_file(photo);
      const std::vector<std::uint8_t> camera = imgvec::read_image_file(photo);  // a Canon's EXIF
      std::vector<double> facts, analysis_big, analysis_small;
      for (int r = 0; r < 20; ++r) {
        facts.push_back(seconds([&] { (void)imgvec::read_photo_facts(camera.data(), camera.size()); }) * 1000);
        analysis_big.push_back(seconds([&] { (void)imgvec::analyze_image(big); }) * 1000);
        analysis_small.push_back(seconds([&] { (void)imgvec::analyze_image(small); }) * 1000);
      }
      // A colour query's scoring of 100k palettes of 5 colours (the database adds its scan of the
      // records around it).
      std::vector<imgvec::ImageAnalysis> palettes(100000);
      std::uint32_t x = 1;
      for (auto& p : palettes) {
        for (int c = 0; c < 5; ++c) {
          x = x * 1664525u + 1013904223u;
          p.colours.push_back({{std::uint8_t(x >> 24), std::uint8_t(x >> 16), std::uint8_t(x >> 8)}, 0.2f,
                               imgvec::ColourName::gray});
        }
      }
      const std::vector<imgvec::Rgb> wanted = {*imgvec::parse_colour("#2a6fdb")};
      std::vector<double> scoring;
      for (int r = 0; r < 5; ++r) {
        float sink = 0;
        scoring.push_back(seconds([&] {
                            for (const auto& p : palettes) sink += imgvec::palette_similarity(p, wanted);
                          }) * 1000);
        if (sink < 0) std::puts("");
      }
      std::snprintf(line, sizeof line,
                    "\nPer image, besides embedding (medians): EXIF facts %.3f ms; analysis %.2f ms at %ux%u (as "
                    "decoded for CLIP), %.2f ms at %ux%u. Scoring 100k palettes for one colour: %.1f ms.\n",
                    median(facts), median(analysis_big), big.width, big.height, median(analysis_small), small.width,
                    small.height, median(scoring));
      md += line;
    }
    std::fputs(md.c_str(), stdout);
    if (!out_path.empty()) std::ofstream(out_path) << md;
    fs::remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imgvec_bench_decode: %s\n", e.what());
    return 1;
  }
  return 0;
}
