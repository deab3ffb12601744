#pragma once
// Browsing a database as a photo library: its images in date order, a page at a time, and what
// it holds (cameras, labels, tags, colours, dates) for a page's pickers. Part of
// imgvec/database.hpp.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "imgvec/database/search_options.hpp"
#include "imgvec/metadata/metadata_store.hpp"
#include "imgvec/metadata/where.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

struct ListOptions {
  /// Only images whose record matches.
  Where where;
  /// newest: the newest photo first by date taken, undated photos last (the newest added first
  /// among them); oldest: the reverse, undated still last; score: the order they were added.
  SortOrder sort = SortOrder::newest;
  std::size_t offset = 0;
  std::size_t limit = 100;
};

struct ImageList {
  /// At most `limit` records, in order, from `offset`.
  std::vector<ImageRecord> records;
  /// How many images match the filter in all.
  std::size_t total = 0;
};

/// One value of a field and how many images hold it.
struct FacetCount {
  std::string name;
  std::size_t count = 0;
};

/// What a library holds, for pickers: each list most common first (ties by name).
struct LibraryFacets {
  std::size_t count = 0;   ///< images
  std::size_t dated = 0;   ///< with a date taken
  /// The earliest and latest date taken (PhotoFacts::taken_ms), when any image is dated.
  std::optional<std::int64_t> first_taken_ms, last_taken_ms;
  std::vector<FacetCount> cameras;  ///< PhotoFacts::camera()
  std::vector<FacetCount> labels;   ///< zero-shot labels
  std::vector<FacetCount> tags;
  std::vector<FacetCount> colours;  ///< dominant colours' names (ColourName)
};

}  // namespace imgvec
IMGVEC_API_END
