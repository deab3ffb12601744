// The CLIP tokenizer (text cleaning, Unicode normalization, BPE) on arbitrary bytes.
#include <cstdint>
#include <string>

#include "imgvec/error.hpp"
#include "imgvec/text/clip_tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const imgvec::ClipTokenizer tokenizer =
      imgvec::ClipTokenizer::from_file(IMGVEC_FUZZ_VOCAB);
  try {
    const std::string text(reinterpret_cast<const char*>(data), size);
    tokenizer.encode(text);
  } catch (const imgvec::Error&) {
  }
  return 0;
}
