#pragma once
// Near-duplicate groups: what find_duplicates looks for and what it returns. Part of
// imgvec/database.hpp.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "imgvec/types.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

struct DuplicateOptions {
  /// Images at least this similar (cosine) are duplicates of each other. The default is the
  /// lowest threshold at which the built-in encoder kept precision >= 0.99 in the labelled
  /// benchmark (bench/bench_duplicates.cpp, docs/benchmarks.md): by vectors alone it finds
  /// resized, recompressed and brightened copies; verify adds cropped and written-on ones. A CLIP
  /// model needs its own thresholds, from the same benchmark with its bundle.
  float threshold = 0.945f;
  /// Neighbours examined per image.
  std::size_t neighbours = 16;
  /// Pairs less similar than threshold but at least candidate_threshold are verified on their
  /// pixels (match_photos in imgvec/image/photo_match.hpp): both files are read again, and the
  /// pair is a duplicate when one image is the other resized, recompressed, brightened, written
  /// on, turned by a multiple of 90 degrees or cropped by up to a fifth of each side. This finds
  /// cropped and captioned copies that vectors alone miss, without admitting other shots of the
  /// same scene. A file that is gone or changed since it was indexed, or an image added from
  /// memory, is not verified. Off, or in a build without OpenCV (photo_matching_available()),
  /// duplicates are found by vectors alone, in a fraction of the time.
  bool verify = true;
  /// The benchmark's choice for the built-in encoder: lower finds a few more copies for many more
  /// pairs to verify (docs/benchmarks.md has the trade-off).
  float candidate_threshold = 0.55f;
  /// Called from the calling thread as pairs are verified: (pairs verified, pairs to verify).
  std::function<void(std::size_t, std::size_t)> progress;
};

/// How a member joined its duplicate group: the strongest evidence linking it to another member.
enum class DuplicateMatch : std::uint8_t {
  identical,  ///< identical bytes
  similar,    ///< vectors at least DuplicateOptions::threshold alike
  verified,   ///< verified on the pixels (DuplicateOptions::verify)
};
/// "identical", "similar", "verified".
const char* to_string(DuplicateMatch match);

struct DuplicateGroup {
  std::vector<Id> ids;  ///< ascending
  Id keeper = 0;        ///< the one to keep: largest resolution, then largest file, then lowest id
  std::vector<float> scores;  ///< each member's cosine similarity to the keeper, as ids
  std::vector<DuplicateMatch> matched_by;  ///< as ids
  bool exact = false;   ///< all members have identical bytes
};

}  // namespace imgvec
IMGVEC_API_END
