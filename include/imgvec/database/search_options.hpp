#pragma once
// What a search asks for (k, paging, filter, order) and what it gives back. Part of
// imgvec/database.hpp.

#include <cstddef>
#include <optional>
#include <string>

#include "imgvec/metadata/metadata_store.hpp"
#include "imgvec/metadata/where.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

/// How search results are ordered.
enum class SortOrder {
  score,             ///< most similar first
  newest,  ///< the newest photo first (PhotoFacts::taken_ms); undated ones last
  oldest,  ///< the oldest photo first; undated ones last
};
/// "score", "newest", "oldest" (the CLI's and the server's names).
const char* to_string(SortOrder order);
/// The inverse of to_string, and "taken" for newest (as photo apps show them); throws
/// Error(invalid_argument) naming the text otherwise.
SortOrder parse_sort_order(const std::string& text);

struct SearchOptions {
  SearchOptions() = default;
  /// Just k, so that `db.search_by_image(path, 5)` reads naturally.
  SearchOptions(std::size_t k_) : k(k_) {}  // NOLINT: implicit by design

  /// How many results at most.
  std::size_t k = 10;
  /// Results to skip before the k returned, for paging (offset 10, k 10: results 11-20).
  std::size_t offset = 0;
  /// Only results at least this similar (cosine, -1..1).
  std::optional<float> min_score;
  /// Only images whose record matches; runs through the index's filtered search, so recall
  /// holds at any selectivity.
  Where where;
  /// The order of the results returned: the same results (the k most similar after `offset`,
  /// or all above min_score), sorted. To see a period's photos by date, filter on `taken` and
  /// ask for a large k.
  SortOrder sort = SortOrder::score;
};

struct SearchResult {
  Id id = 0;
  float score = 0;  ///< cosine similarity to the query
  ImageRecord record;
};

}  // namespace imgvec
IMGVEC_API_END
