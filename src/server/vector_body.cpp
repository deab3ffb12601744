#include "server/vector_body.hpp"

#include <charconv>
#include <cmath>
#include <system_error>

namespace imgvec::server {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Past a JSON string starting at body[i] == '"'; npos if it does not end.
std::size_t skip_string(std::string_view s, std::size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\')
      ++i;
    else if (s[i] == '"')
      return i + 1;
  }
  return std::string_view::npos;
}

// Past one JSON value starting at s[i] (not checked deeply: nlohmann checks the whole body later).
std::size_t skip_value(std::string_view s, std::size_t i) {
  if (i >= s.size()) return std::string_view::npos;
  if (s[i] == '"') return skip_string(s, i);
  if (s[i] != '{' && s[i] != '[') {
    while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && !is_space(s[i])) ++i;
    return i;
  }
  int depth = 0;
  for (; i < s.size(); ++i) {
    if (s[i] == '"') {
      i = skip_string(s, i);
      if (i == std::string_view::npos) return i;
      --i;
    } else if (s[i] == '{' || s[i] == '[') {
      ++depth;
    } else if (s[i] == '}' || s[i] == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Past a number in JSON's grammar, -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, starting at
// s[i]; npos if there is none. (from_chars alone also takes 01, 1. and inf, which JSON does not.)
std::size_t json_number_end(std::string_view s, std::size_t i) {
  constexpr auto npos = std::string_view::npos;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size() || !is_digit(s[i])) return npos;
  if (s[i] == '0')
    ++i;
  else
    while (i < s.size() && is_digit(s[i])) ++i;
  if (i < s.size() && s[i] == '.') {
    if (++i >= s.size() || !is_digit(s[i])) return npos;
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    if (++i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= s.size() || !is_digit(s[i])) return npos;
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  return i;
}

std::size_t skip_spaces(std::string_view s, std::size_t i) {
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

}  // namespace

std::optional<ExtractedVector> extract_vector(std::string_view s) {
  constexpr auto npos = std::string_view::npos;
  std::size_t i = skip_spaces(s, 0);
  if (i >= s.size() || s[i] != '{') return std::nullopt;
  i = skip_spaces(s, i + 1);
  while (i < s.size() && s[i] == '"') {
    const std::size_t key_end = skip_string(s, i);
    if (key_end == npos) return std::nullopt;
    const std::string_view key = s.substr(i + 1, key_end - i - 2);
    i = skip_spaces(s, key_end);
    if (i >= s.size() || s[i] != ':') return std::nullopt;
    i = skip_spaces(s, i + 1);
    if (key == "vector" && i < s.size() && s[i] == '[') {
      ExtractedVector out;
      const std::size_t start = i;
      i = skip_spaces(s, i + 1);
      if (i < s.size() && s[i] == ']') return std::nullopt;  // empty: let the ordinary path say so
      for (;;) {
        float v = 0;
        const std::size_t number_end = json_number_end(s, i);
        if (number_end == npos) return std::nullopt;
        const auto [end, ec] = std::from_chars(s.data() + i, s.data() + number_end, v);
        // Out of float's range: the ordinary path decides (it reads doubles).
        if (ec != std::errc() || end != s.data() + number_end || !std::isfinite(v))
          return std::nullopt;
        out.values.push_back(v);
        i = skip_spaces(s, number_end);
        if (i < s.size() && s[i] == ',') {
          i = skip_spaces(s, i + 1);
          continue;
        }
        if (i < s.size() && s[i] == ']') break;
        return std::nullopt;
      }
      out.rest.reserve(s.size() - (i + 1 - start) + 4);
      out.rest.append(s.substr(0, start)).append("null").append(s.substr(i + 1));
      return out;
    }
    i = skip_value(s, i);
    if (i == npos) return std::nullopt;
    i = skip_spaces(s, i);
    if (i < s.size() && s[i] == ',')
      i = skip_spaces(s, i + 1);
    else
      break;
  }
  return std::nullopt;
}

}  // namespace imgvec::server
