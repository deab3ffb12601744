#pragma once
// Which files of tests/data/images this build cannot decode: the two that are broken on purpose,
// and the WebP and TIFF files when the build has no libwebp or libtiff.

#include <algorithm>
#include <set>
#include <string>

#include "imgvec/image/image.hpp"

namespace imgvec::testing {

inline std::set<std::string> undecodable_test_images() {
  std::set<std::string> out = {"marbles.pbm", "ukbench09268_corrupt.jpg"};
  const auto formats = supported_image_formats();
  auto has = [&](const char* f) {
    return std::find(formats.begin(), formats.end(), f) != formats.end();
  };
  if (!has("webp")) out.insert("ukbench09380.webp");
  if (!has("tiff")) out.insert("copyleft.tiff");
  return out;
}

}  // namespace imgvec::testing
