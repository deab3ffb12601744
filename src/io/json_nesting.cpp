#include "imgvec/detail/json_nesting.hpp"

namespace imgvec::detail {

std::size_t json_too_deep_at(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  bool in_string = false, escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

void check_json_nesting(std::string_view text, const std::string& what, ErrorCode code) {
  const std::size_t at = json_too_deep_at(text);
  if (at == std::string_view::npos) return;
  throw Error(code, what + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                        " levels (at byte " + std::to_string(at) + "); imgvec reads no such JSON");
}

}  // namespace imgvec::detail
