#pragma once

// The single source of the version: CMake parses these three lines.
#define IMGVEC_VERSION_MAJOR 0
#define IMGVEC_VERSION_MINOR 1
#define IMGVEC_VERSION_PATCH 0

#include <string>

namespace imgvec {

/// The library version as "major.minor.patch".
constexpr const char* version_string() { return "0.1.0"; }

/// What this build of imgvec::core can do, one feature per line: the SIMD kernels in use and
/// those available on this CPU, and the image decoders with their versions.
std::string build_features();

}  // namespace imgvec
