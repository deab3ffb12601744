#pragma once

// The single source of the version: CMake parses these three lines.
#define IMGVEC_VERSION_MAJOR 0
#define IMGVEC_VERSION_MINOR 2
#define IMGVEC_VERSION_PATCH 0

#include <string>

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

#define IMGVEC_VERSION_TEXT_(x) #x
#define IMGVEC_VERSION_TEXT(x) IMGVEC_VERSION_TEXT_(x)

/// The library version as "major.minor.patch" (from the three numbers above). It changes with
/// every release that changes a file format or the API, with a line in CHANGELOG.md.
constexpr const char* version_string() {
  return IMGVEC_VERSION_TEXT(IMGVEC_VERSION_MAJOR) "." IMGVEC_VERSION_TEXT(IMGVEC_VERSION_MINOR) "." IMGVEC_VERSION_TEXT(
      IMGVEC_VERSION_PATCH);
}

/// What this build of imgvec::core can do, one feature per line: the SIMD kernels in use and
/// those available on this CPU, and the image decoders with their versions.
std::string build_features();

}  // namespace imgvec
IMGVEC_API_END
