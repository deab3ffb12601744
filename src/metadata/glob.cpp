#include "metadata/glob.hpp"

#include <algorithm>
#include <bitset>
#include <cctype>

#include "imgvec/error.hpp"

namespace imgvec::detail {
namespace {

unsigned char fold(unsigned char c, bool ignore_case) {
  return ignore_case ? static_cast<unsigned char>(std::tolower(c)) : c;
}

}  // namespace

// States 0..m: "the first i pattern bytes are matched". A `*` at i lets state i also stand at
// i + 1 without reading (closure) and stay at i while reading; a `?` or an equal byte moves it
// to i + 1.
bool glob_match(std::string_view pattern, std::string_view text, bool ignore_case) {
  if (pattern.size() > kMaxGlobBytes) return false;  // check_glob refuses these before use
  const std::size_t m = pattern.size();
  std::bitset<kMaxGlobBytes + 1> now, next;
  auto close = [&](std::bitset<kMaxGlobBytes + 1>& s) {
    for (std::size_t i = 0; i < m; ++i)
      if (s[i] && pattern[i] == '*') s[i + 1] = true;
  };
  now[0] = true;
  close(now);
  for (const char ch : text) {
    const unsigned char c = fold(static_cast<unsigned char>(ch), ignore_case);
    next.reset();
    bool any = false;
    for (std::size_t i = 0; i < m; ++i) {
      if (!now[i]) continue;
      const char p = pattern[i];
      if (p == '*') {
        next[i] = true;
        any = true;
      } else if (p == '?' || fold(static_cast<unsigned char>(p), ignore_case) == c) {
        next[i + 1] = true;
        any = true;
      }
    }
    if (!any) return false;
    close(next);
    now = next;
  }
  return now[m];
}

void check_glob(std::string_view pattern, const std::string& what) {
  if (pattern.size() > kMaxGlobBytes) {
    throw Error(ErrorCode::invalid_argument, what + ": a pattern of " + std::to_string(pattern.size()) +
                                                 " bytes; at most " + std::to_string(kMaxGlobBytes) +
                                                 " are allowed");
  }
  const auto wildcards = static_cast<std::size_t>(std::count_if(
      pattern.begin(), pattern.end(), [](char c) { return c == '*' || c == '?'; }));
  if (wildcards > kMaxGlobWildcards) {
    throw Error(ErrorCode::invalid_argument, what + ": a pattern with " + std::to_string(wildcards) +
                                                 " wildcards (* and ?); at most " +
                                                 std::to_string(kMaxGlobWildcards) + " are allowed");
  }
}

}  // namespace imgvec::detail
