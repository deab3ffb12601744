#pragma once
// Shell-style `*` and `?` patterns, the one implementation behind filters (`camera=canon*`) and
// `index --exclude`. The earlier two were backtracking recursions: 8 `*?` pairs against one
// 35-character path took about 32 million steps, run on every record under the database's lock
// by any search request (issue 19). This one runs the pattern as a set of states over the text
// once: at most (pattern length + 1) steps per text byte, and patterns are capped.

#include <cstddef>
#include <string>
#include <string_view>

namespace imgvec::detail {

inline constexpr std::size_t kMaxGlobBytes = 256;
inline constexpr std::size_t kMaxGlobWildcards = 32;

/// Whether `text` matches `pattern` whole (`*`: any run of bytes, `?`: one byte, the rest
/// literal; ASCII letters of either case when `ignore_case`). Time O(|pattern| * |text|), no
/// recursion, no allocation for patterns within kMaxGlobBytes.
bool glob_match(std::string_view pattern, std::string_view text, bool ignore_case);

/// Throws Error(invalid_argument) naming `what` when a pattern is longer than kMaxGlobBytes or
/// holds more than kMaxGlobWildcards wildcards.
void check_glob(std::string_view pattern, const std::string& what);

}  // namespace imgvec::detail
