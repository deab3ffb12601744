// The text cache file (database/text_cache.hpp): its payload parsed directly (with a round trip),
// then the same bytes as a checked file read by a TextCache that must still work after it.
#include <cstdint>
#include <string>
#include <vector>

#include "database/text_cache.hpp"
#include "fuzz_support.hpp"
#include "imgvec/error.hpp"
#include "io/checked_file.hpp"

namespace {
const std::string kFingerprint = "fuzz-encoder";
constexpr std::size_t kDim = 4;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using imgvec::detail::TextCache;
  const std::string payload(reinterpret_cast<const char*>(data), size);
  try {
    const auto entries = imgvec::detail::parse_text_cache(payload, kFingerprint, kDim, "fuzz");
    const std::string again = imgvec::detail::encode_text_cache(entries, kFingerprint, kDim);
    if (imgvec::detail::parse_text_cache(again, kFingerprint, kDim, "fuzz") != entries) __builtin_trap();
  } catch (const imgvec::Error&) {
  }
  const std::string path = imgvec::fuzz::scratch() + "/text-cache";
  imgvec::detail::write_checked_file(path, "IMGVTEXT", 1, 0, payload);
  {
    TextCache cache(path, true, kFingerprint, kDim, 8);
    (void)cache.get("a photo of a cat");
    cache.put("b", std::vector<float>{1, 2, 3, 4});
    cache.persist();
  }
  TextCache reread(path, false, kFingerprint, kDim, 8);
  const auto hit = reread.get("b");
  if (!hit || *hit != std::vector<float>{1, 2, 3, 4}) __builtin_trap();  // what was written reads back
  return 0;
}
