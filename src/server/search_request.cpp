#include "server/search_request.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace imgvec::server {
namespace {

DistanceKind parse_distance(const json& value) {
  std::string text = value.is_string() ? value.get<std::string>() : std::string();
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  if (text == "cosine") return DistanceKind::cosine;
  if (text == "l2" || text == "euclid" || text == "euclidean") return DistanceKind::l2;
  fail(400, "invalid_argument",
       "\"distance\" must be \"cosine\" (1 - cosine similarity) or \"l2\" (Euclidean distance between "
       "the unit vectors), got " + value.dump().substr(0, 60));
}

// The cosine score a distance threshold allows: d = 1 - s, or d = sqrt(2 - 2s) on unit vectors.
float score_at_distance(DistanceKind kind, double d) {
  return static_cast<float>(kind == DistanceKind::cosine ? 1 - d : 1 - d * d / 2);
}

Where filter_of(const json& f) {
  if (f.is_object()) return Where::from_json(f.dump());
  if (!f.is_string())
    fail(400, "invalid_argument",
         "\"filter\" must be a string in the --where syntax (\"format=jpeg and width>=640\") or a JSON "
         "object in Qdrant's shape ({\"must\": [{\"key\": \"format\", \"match\": {\"value\": \"jpeg\"}}]})");
  const std::string text = f.get<std::string>();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return Where();  // an empty filter box
  if (text[text.find_first_not_of(" \t\r\n")] == '{') return Where::from_json(text);
  return Where::parse(text);
}

}  // namespace

const char* to_string(DistanceKind kind) { return kind == DistanceKind::cosine ? "cosine" : "l2"; }

float distance_of(DistanceKind kind, float score) {
  return kind == DistanceKind::cosine ? 1.0f - score : std::sqrt(std::max(0.0f, 2.0f - 2.0f * score));
}

const std::vector<std::string_view>& search_option_fields() {
  static const std::vector<std::string_view> fields = {
      "limit", "offset", "score_threshold", "distance_threshold", "distance", "filter", "sort"};
  return fields;
}

SearchRequestOptions search_request_options(const json& body) {
  SearchRequestOptions r;
  SearchOptions& o = r.search;
  o.k = size_field(body, "limit", 10, 1, 10000);
  o.offset = size_field(body, "offset", 0, 0, 1000000);
  if (body.contains("score_threshold") && !body["score_threshold"].is_null())
    o.min_score = float_field(body, "score_threshold", 0.0f, -1.0f, 1.0f);
  if (const auto d = body.find("distance"); d != body.end() && !d->is_null()) r.distance = parse_distance(*d);
  if (body.contains("distance_threshold") && !body["distance_threshold"].is_null()) {
    const float d = float_field(body, "distance_threshold", 0.0f, 0.0f, 2.0f);
    const float s = score_at_distance(r.distance, d);
    o.min_score = o.min_score ? std::max(*o.min_score, s) : s;
  }
  if (const auto f = body.find("filter"); f != body.end() && !f->is_null()) o.where = filter_of(*f);
  if (const auto s = body.find("sort"); s != body.end() && !s->is_null()) {
    if (!s->is_string()) fail(400, "invalid_argument", "\"sort\" must be \"score\", \"newest\" (or \"taken\") or \"oldest\"");
    o.sort = parse_sort_order(s->get<std::string>());
  }
  return r;
}

}  // namespace imgvec::server
