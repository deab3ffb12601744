#pragma once
// The second stage of find_duplicates: pairs whose vectors are close but not close enough are
// checked on their pixels (match_photos), reading both files again. Runs without the database's
// lock: it takes what it needs (paths and hashes) and reports the pairs it verified.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "imgvec/types.hpp"

namespace imgvec::detail {

struct FileToVerify {
  std::string path;
  std::uint64_t content_hash = 0;  // the file must still hold these bytes
};

struct PairToVerify {
  Id a = 0, b = 0;
  float score = 0;  // their vectors' cosine
};

/// Verifies pairs, most similar first, on every core, calling join(a, b) for each pair that
/// match_photos says is one photo. A pair that joined(a, b) already links (through pairs verified
/// before it) is skipped: a group of n copies needs n - 1 verified pairs, not n(n-1)/2. A pair
/// whose file is missing, changed since it was indexed (another hash) or undecodable is not
/// verified. At most a bounded number of images' features are held at once.
void verify_pairs(std::vector<PairToVerify> pairs, const std::map<Id, FileToVerify>& files,
                  const std::function<bool(Id, Id)>& joined, const std::function<void(Id, Id)>& join,
                  const std::function<void(std::size_t, std::size_t)>& progress);

}  // namespace imgvec::detail
