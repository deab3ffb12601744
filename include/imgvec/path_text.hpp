#pragma once
// File names as text. Linux file names are bytes, not necessarily UTF-8; JSON and terminals want
// UTF-8. imgvec writes a name that is not valid UTF-8 in an escaped form that can be undone.

#include <string>
#include <string_view>

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

/// True when `bytes` is well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
bool is_valid_utf8(std::string_view bytes);

/// A file name as valid UTF-8 text. Valid UTF-8 comes back unchanged. Otherwise every byte that
/// is not part of a well-formed UTF-8 sequence becomes `\xHH` (two lower-case hex digits) and
/// every backslash becomes `\\`, so unescape_path() restores the bytes exactly. Whether a name
/// was escaped shows from is_valid_utf8() of the original, and from the JSON field
/// `source_escaped` in imgvec's exports.
std::string escape_path(std::string_view bytes);

/// The inverse of escape_path() for a name that was escaped.
std::string unescape_path(std::string_view text);

}  // namespace imgvec
IMGVEC_API_END
