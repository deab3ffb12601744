// CLIP encoder speed on the full ViT-B/32 architecture (random weights: same work as the real
// model). Model-only ms/image at batch 1 and 8, end-to-end images/s over real files, ms/text.
// bench/encoder_vs_python.py runs this and the Python pipeline on the same bundle in one run.
//
//   imgvec_bench_encoder [--model BUNDLE] [--no-optimize] [--threads N] [--precision P] [benchmark flags]
// The default bundle is made by the imgvec_bench_model target (tools/make_test_model.py).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "imgvec/encoder/clip_encoder.hpp"
#include "imgvec/image/preprocess.hpp"

namespace {

using imgvec::ClipEncoder;

const char* const kImages[] = {"ukbench01380.jpg", "ukbench09060.jpg",  "ukbench00120_gray.jpg",
                               "ukbench09380.jpeg", "alpha_channel_image.png", "giphy.gif",
                               "Iggy.256.ppm",     "baboon.256.pgm"};
const char* const kQuery = "a photo of a dog playing in the snow";  // 9 tokens

std::string model_path = IMGVEC_BENCH_MODEL;
imgvec::ClipEncoderOptions options;
std::unique_ptr<ClipEncoder> encoder;
std::vector<std::string> files;  // the test images, 4 times over
std::vector<float> pixels;       // kImages preprocessed, CHW each

void report_per_item(benchmark::State& state, std::size_t items, const char* unit) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * items));
  state.counters[unit] = benchmark::Counter(static_cast<double>(state.iterations() * items) / 1000.0,
                                            benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void image_model(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<float> batch(n * pixels.size() / std::size(kImages));
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i] = pixels[i % pixels.size()];
  for (auto _ : state) benchmark::DoNotOptimize(encoder->encode_pixels(batch.data(), n));
  report_per_item(state, n, "ms/image");
}

void image_files(benchmark::State& state) {
  encoder->set_batch_size(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    const auto results = encoder->embed_image_files(files);
    for (const auto& r : results) {
      if (!r.ok()) state.SkipWithError(r.error.c_str());
    }
  }
  encoder->set_batch_size(8);
  report_per_item(state, files.size(), "ms/image");
}

void decode_and_preprocess(benchmark::State& state) {
  std::vector<float> out(3 * 224 * 224);
  for (auto _ : state) {
    for (const auto& f : files) imgvec::preprocess_clip(imgvec::decode_image_file(f), encoder->info().preprocess, out.data());
  }
  report_per_item(state, files.size(), "ms/image");
}

void text_query(benchmark::State& state, std::string text) {
  for (auto _ : state) benchmark::DoNotOptimize(encoder->embed_text(text));
  report_per_item(state, 1, "ms/text");
}

void text_full_context(benchmark::State& state) {
  // Without the shortened path: the whole 77-token context runs, as in Python.
  static std::unique_ptr<ClipEncoder> full;
  if (!full) {
    imgvec::ClipEncoderOptions o = options;
    o.shorten_texts = false;
    full = std::make_unique<ClipEncoder>(model_path, o);
  }
  for (auto _ : state) benchmark::DoNotOptimize(full->embed_text(kQuery));
  report_per_item(state, 1, "ms/text");
}

}  // namespace

int main(int argc, char** argv) {
  std::string& model = model_path;
  options.device = "cpu";
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--model" && i + 1 < argc) model = argv[++i];
    else if (a == "--threads" && i + 1 < argc) options.threads = std::stoul(argv[++i]);
    else if (a == "--no-optimize") options.optimize = false;
    else if (a == "--precision" && i + 1 < argc) options.precision = argv[++i];
    else rest.push_back(argv[i]);
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return 2;
  try {
    encoder = std::make_unique<ClipEncoder>(model, options);
    for (int r = 0; r < 4; ++r) {
      for (const char* f : kImages) files.push_back(std::string(IMGVEC_BENCH_DATA_DIR "/images/") + f);
    }
    for (const char* f : kImages) {
      const auto t = imgvec::preprocess_clip(
          imgvec::decode_image_file(std::string(IMGVEC_BENCH_DATA_DIR "/images/") + f), encoder->info().preprocess);
      pixels.insert(pixels.end(), t.begin(), t.end());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imgvec_bench_encoder: %s\n(build the default bundle with: cmake --build build --target imgvec_bench_model)\n", e.what());
    return 1;
  }
  benchmark::AddCustomContext("imgvec.model", encoder->info().name);
  benchmark::AddCustomContext("imgvec.runtime", encoder->runtime());
  benchmark::RegisterBenchmark("clip/image_model/batch:1", image_model)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("clip/image_model/batch:8", image_model)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("clip/image_files/batch:8", image_files)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("clip/decode_preprocess", decode_and_preprocess)->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("clip/text/query", text_query, std::string(kQuery))->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("clip/text/full_context", text_full_context)->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
