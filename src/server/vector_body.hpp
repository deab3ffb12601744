#pragma once
// A fast path for the hottest request: POST /v1/search with a "vector" of hundreds of numbers.
// nlohmann's lexer and glibc's strtod spent a quarter of the server's time on those numbers
// (perf, 10k images); std::from_chars reads them several times faster. Only the "vector" array
// is read here; the rest of the body still goes through nlohmann, which also reports every error.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imgvec::server {

struct ExtractedVector {
  std::string rest;  ///< the body with the array replaced by null
  std::vector<float> values;
};

/// When `body` is a JSON object with a top-level member "vector" whose value is an array of plain
/// numbers, returns the numbers and the body without them. Otherwise (no such member, something
/// unusual in it, malformed JSON) nothing: the caller parses the whole body the ordinary way.
std::optional<ExtractedVector> extract_vector(std::string_view body);

}  // namespace imgvec::server
