#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace imgvec::detail {

/// CLIP's text normalization, in the reference order: ftfy.fix_text (the fixes that apply to
/// well-formed text: terminal escapes removed, Latin ligatures and full-width forms folded, curly
/// quotes straightened, line breaks unified, control characters dropped, NFC), HTML entities
/// unescaped twice, whitespace runs collapsed to one space and trimmed, lowercased.
/// Returns code points.
std::u32string clean_text(std::string_view utf8);

/// Unicode helpers with the Python semantics the reference relies on.
bool is_letter(char32_t c);  // \p{L}
bool is_number(char32_t c);  // \p{N}
bool is_space(char32_t c);   // str.isspace: category Zs or bidi class WS, B, S

std::string to_utf8(std::u32string_view text);

}  // namespace imgvec::detail
