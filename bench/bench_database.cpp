// The built-in encoder and the database's indexing path on real image files (the test images,
// four times over): images/s for embedding alone and for index_directory into a fresh database.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>
#include <vector>

#include "imgvec/database.hpp"
#include "imgvec/encoder/descriptor_encoder.hpp"

namespace {

namespace fs = std::filesystem;

const char* const kImages[] = {"ukbench01380.jpg", "ukbench09060.jpg",  "ukbench00120_gray.jpg",
                               "ukbench09380.jpeg", "alpha_channel_image.png", "giphy.gif",
                               "Iggy.256.ppm",     "baboon.256.pgm"};

std::vector<std::string> files() {
  std::vector<std::string> out;
  for (int r = 0; r < 4; ++r) {
    for (const char* f : kImages) out.push_back(std::string(IMGVEC_BENCH_DATA_DIR "/images/") + f);
  }
  return out;
}

void per_image(benchmark::State& state, std::size_t n) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  state.counters["ms/image"] = benchmark::Counter(static_cast<double>(state.iterations() * n) / 1000.0,
                                                  benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void descriptor_files(benchmark::State& state) {
  imgvec::DescriptorEncoder e;
  e.set_pipeline_threads(static_cast<std::size_t>(state.range(0)));
  const auto paths = files();
  for (auto _ : state) benchmark::DoNotOptimize(e.embed_image_files(paths));
  per_image(state, paths.size());
}
BENCHMARK(descriptor_files)->Arg(1)->Arg(2)->ArgName("decode_threads")->Unit(benchmark::kMillisecond)->UseRealTime();

void index_directory(benchmark::State& state) {
  // A folder of 32 distinct files (copies under new names; the bytes repeat, which is fine).
  const fs::path root = fs::temp_directory_path() / "imgvec-bench-db";
  fs::remove_all(root);
  fs::create_directories(root / "photos");
  int i = 0;
  for (const auto& p : files()) fs::copy_file(p, root / "photos" / (std::to_string(i++) + fs::path(p).extension().string()));
  for (auto _ : state) {
    state.PauseTiming();
    fs::remove_all(root / "db");
    state.ResumeTiming();
    auto db = imgvec::VectorDatabase::create((root / "db").string(), std::make_shared<imgvec::DescriptorEncoder>());
    benchmark::DoNotOptimize(db->index_directory((root / "photos").string()));
    db->save();
  }
  per_image(state, files().size());
  fs::remove_all(root);
}
BENCHMARK(index_directory)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
