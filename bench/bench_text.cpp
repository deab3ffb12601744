// Tokenizer speed: CLIP's text tower costs ~23-60 ms per query here, so tokenization should stay
// in the microseconds.
#include <benchmark/benchmark.h>

#include <string>

#include "imgvec/text/clip_tokenizer.hpp"

namespace {

const imgvec::ClipTokenizer& tokenizer() {
  static const imgvec::ClipTokenizer t =
      imgvec::ClipTokenizer::from_file(IMGVEC_BENCH_DATA_DIR "/bpe_simple_vocab_16e6.txt.gz");
  return t;
}

void tokenize(benchmark::State& state, std::string text) {
  const auto& t = tokenizer();
  for (auto _ : state) benchmark::DoNotOptimize(t.tokenize(text));
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(tokenize, short_query, std::string("a photo of a dog"));
BENCHMARK_CAPTURE(tokenize, caption_60_words,
                  std::string("A 1080p screenshot of a spreadsheet with 12 columns and 300 rows of "
                              "numbers, charts on the right, a toolbar at the top and a sidebar "
                              "listing files; the window title reads Quarterly Results 2024 "
                              "(draft) &amp; notes, with ‘comments’ from three reviewers at the "
                              "bottom of the page and a small logo in the corner"));
BENCHMARK_CAPTURE(tokenize, cjk, std::string("北京的天安门 東京タワー"));

void load(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        imgvec::ClipTokenizer::from_file(IMGVEC_BENCH_DATA_DIR "/bpe_simple_vocab_16e6.txt.gz"));
  }
}
BENCHMARK(load)->Unit(benchmark::kMillisecond);

}  // namespace
