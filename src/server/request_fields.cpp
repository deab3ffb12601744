#include "server/request_fields.hpp"

#include <algorithm>

#include "text/near_names.hpp"

namespace imgvec::server {
namespace {

// Names from Qdrant, Weaviate, Chroma, pgvector front ends and Elasticsearch, and our own
// spellings of other places (the CLI's --where, British and American colour).
const std::vector<detail::NameAlias>& other_systems_names() {
  static const std::vector<detail::NameAlias> aliases = {
      {"top_k", "limit", ""},
      {"topk", "limit", ""},
      {"k", "limit", ""},
      {"n_results", "limit", ""},
      {"size", "limit", ""},
      {"where", "filter", "the same syntax as the CLI's --where, or a Qdrant-style JSON filter"},
      {"query_filter", "filter", ""},
      {"threshold", "score_threshold", "cosine similarity, -1 to 1; or distance_threshold"},
      {"min_score", "score_threshold", ""},
      {"certainty", "score_threshold",
       "Weaviate's certainty is (1 + cosine) / 2: give score_threshold = 2 * certainty - 1"},
      {"max_distance", "distance_threshold", "with \"distance\": \"cosine\" or \"l2\""},
      {"metric", "distance", "\"cosine\" or \"l2\""},
      {"query_vector", "vector", ""},
      {"embedding", "vector", ""},
      {"query_text", "text", ""},
      {"query", "text", "or \"image\", \"vector\", \"id\""},
      {"colors", "colours", ""},
      {"color", "colours", "a list"},
      {"colour", "colours", "a list"},
      {"neighbors", "neighbours", ""},
      {"with_vectors", "with_vector", ""},
      {"payload", "metadata", ""},
  };
  return aliases;
}

[[noreturn]] void unknown(const std::string& field, const std::vector<std::string_view>& known,
                          const std::string& what) {
  std::vector<detail::NameAlias> aliases;
  for (const auto& a : other_systems_names()) {
    if (std::find(known.begin(), known.end(), a.ours) != known.end()) aliases.push_back(a);
  }
  const std::string hint = detail::did_you_mean(field, known, aliases);
  std::string list;
  for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
  const std::string shown = field.size() > 60 ? field.substr(0, 60) + "..." : field;
  fail(400, "unknown_field",
       what + " has no field \"" + shown + "\"" + (hint.empty() ? "" : "; " + hint) + " (fields: " + list + ")");
}

}  // namespace

void check_known_fields(const json& body, const std::vector<std::string_view>& known, const std::string& what) {
  for (const auto& [name, value] : body.items()) {
    if (std::find(known.begin(), known.end(), name) == known.end()) unknown(name, known, what);
  }
}

void check_known_params(const httplib::Request& req, const std::vector<std::string_view>& known,
                        const std::string& what) {
  for (const auto& [name, value] : req.params) {
    if (std::find(known.begin(), known.end(), name) == known.end()) unknown(name, known, what);
  }
}

void check_known_form_fields(const httplib::Request& req, const std::vector<std::string_view>& known,
                             const std::string& what) {
  for (const auto& [name, value] : req.files) {
    if (std::find(known.begin(), known.end(), name) == known.end()) unknown(name, known, what);
  }
}

}  // namespace imgvec::server
