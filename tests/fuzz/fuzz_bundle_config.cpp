// A CLIP bundle's config.json, parsed and checked (no libtorch needed for this part).
#include <cstdint>
#include <string_view>

#include "encoder/clip_bundle.hpp"
#include "imgvec/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto info = imgvec::detail::parse_bundle_config(
        std::string_view(reinterpret_cast<const char*>(data), size), "bundle.pt");
    imgvec::detail::describe_preprocessing(info);
  } catch (const imgvec::Error&) {
  }
  return 0;
}
