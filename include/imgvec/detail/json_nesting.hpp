#pragma once
// A limit on how deeply a JSON text nests arrays and objects, checked on the bytes before any
// parser or recursive code sees them. nlohmann's parser itself is iterative, but copying, dumping
// and comparing a value recurse once per level: a 140 KB request of 70,000 nested arrays overflowed
// the server's stack in json::dump (issue 19). Nothing imgvec reads or writes nests more than a few
// levels, so 64 refuses no honest input.

#include <cstddef>
#include <string>
#include <string_view>

#include "imgvec/error.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec::detail {

inline constexpr std::size_t kMaxJsonDepth = 64;

/// The byte offset of the bracket that opens level `limit + 1` of nested arrays and objects
/// (brackets inside strings do not count), or std::string_view::npos when none does. One pass,
/// no allocation.
std::size_t json_too_deep_at(std::string_view text, std::size_t limit = kMaxJsonDepth);

/// Throws Error(code) "WHAT: JSON nested deeper than 64 levels (at byte N)" when
/// json_too_deep_at finds a level too many.
void check_json_nesting(std::string_view text, const std::string& what,
                        ErrorCode code = ErrorCode::invalid_argument);

}  // namespace imgvec::detail
IMGVEC_API_END
