#pragma once
// The options every search request takes besides its query (limit, offset, thresholds, the
// distance hits report, filter, sort), read from a JSON object; the search form's fields are
// turned into one first.

#include <string_view>
#include <vector>

#include "imgvec/database.hpp"
#include "server/http_support.hpp"

namespace imgvec::server {

/// The distance hits carry beside their cosine score, and distance_threshold is in: cosine is
/// 1 - cos (Weaviate's, and pgvector's <=>), l2 the Euclidean distance between the unit vectors,
/// sqrt(2 - 2 cos) (pgvector's <->, Qdrant's Euclid).
enum class DistanceKind { cosine, l2 };

const char* to_string(DistanceKind kind);
float distance_of(DistanceKind kind, float score);

struct SearchRequestOptions {
  SearchOptions search;
  DistanceKind distance = DistanceKind::cosine;
};

/// The option fields, for check_known_fields beside each endpoint's own.
const std::vector<std::string_view>& search_option_fields();

/// limit (1-10000), offset, score_threshold (cosine, -1..1), distance_threshold with "distance"
/// ("cosine" or "l2"; both thresholds may be given, the stricter holds), filter (the --where
/// syntax as a string, or a Qdrant-style JSON object; see Where::parse and Where::from_json), sort.
/// 400 naming the field when one is malformed.
SearchRequestOptions search_request_options(const json& body);

}  // namespace imgvec::server
