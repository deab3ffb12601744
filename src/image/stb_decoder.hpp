#pragma once
// The one door to stb_image, whose implementation lives in stb_decoder.cpp only.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace imgvec::detail {

struct StbInfo {
  int width = 0;
  int height = 0;
  int channels = 0;  // in the file: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
};

/// Reads the dimensions without decoding. False if stb_image does not recognise the data.
bool stb_info(const std::uint8_t* data, std::size_t size, StbInfo& info);

/// Decodes to 8-bit, `channels` (3 or 4) per pixel. On failure returns false with stb's reason.
bool stb_decode(const std::uint8_t* data, std::size_t size, int channels,
                std::vector<std::uint8_t>& pixels, StbInfo& info, std::string& reason);

}  // namespace imgvec::detail
