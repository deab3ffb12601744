#include "text/text_clean.hpp"

#include <utf8proc.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace imgvec::detail {
namespace {

std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(s.size());
  while (left > 0) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
    if (n < 0) {  // an invalid byte becomes U+FFFD, as Python's errors="replace" would
      cp = 0xFFFD;
      n = 1;
    }
    out.push_back(static_cast<char32_t>(cp));
    p += n;
    left -= n;
  }
  return out;
}

// Applies a utf8proc normalization (NFC, NFKC) to a code point sequence.
std::u32string normalize(std::u32string_view text, utf8proc_option_t options) {
  const std::string utf8 = to_utf8(text);
  utf8proc_uint8_t* result = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()),
                                          static_cast<utf8proc_ssize_t>(utf8.size()), &result,
                                          static_cast<utf8proc_option_t>(options | UTF8PROC_STABLE));
  if (n < 0) return std::u32string(text);
  std::u32string out = decode_utf8(std::string_view(reinterpret_cast<char*>(result), n));
  std::free(result);
  return out;
}

constexpr auto kNFC = static_cast<utf8proc_option_t>(UTF8PROC_COMPOSE);
constexpr auto kNFKC = static_cast<utf8proc_option_t>(UTF8PROC_COMPOSE | UTF8PROC_COMPAT);

// ftfy's fix_latin_ligatures covers exactly these code points, each replaced by its NFKC form.
bool is_latin_ligature(char32_t c) {
  return c == 0x132 || c == 0x133 || c == 0x149 || (c >= 0x1C4 && c <= 0x1CC) ||
         (c >= 0xFB00 && c <= 0xFB06);
}

// ftfy's fix_character_width: the full-width and half-width forms block, by NFKC, and the
// ideographic space.
bool is_width_variant(char32_t c) { return (c >= 0xFF01 && c <= 0xFFEF) || c == 0x3000; }

// ftfy's remove_control_chars keeps tab, line feed, form feed and carriage return.
bool is_removed_control(char32_t c) {
  return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F ||
         (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

std::u32string ftfy_fixes(const std::u32string& in) {
  std::u32string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char32_t c = in[i];
    if (c == 0x1B && i + 1 < in.size() && in[i + 1] == U'[') {
      // remove_terminal_escapes: ESC [ digits/semicolons letter
      std::size_t j = i + 2;
      while (j < in.size() && ((in[j] >= U'0' && in[j] <= U'9') || in[j] == U';')) ++j;
      if (j < in.size() && ((in[j] >= U'A' && in[j] <= U'Z') || (in[j] >= U'a' && in[j] <= U'z'))) {
        i = j;
        continue;
      }
    }
    if (is_latin_ligature(c) || is_width_variant(c)) {
      if (c == 0x3000) {
        out.push_back(U' ');
      } else {
        out += normalize(std::u32string(1, c), kNFKC);
      }
    } else if (c == 0x2BC || (c >= 0x2018 && c <= 0x201B)) {
      out.push_back(U'\'');  // uncurl_quotes
    } else if (c >= 0x201C && c <= 0x201F) {
      out.push_back(U'"');
    } else if (c == U'\r') {  // fix_line_breaks: \r\n and lone \r become \n
      out.push_back(U'\n');
      if (i + 1 < in.size() && in[i + 1] == U'\n') ++i;
    } else if (c == 0x2028 || c == 0x2029 || c == 0x85) {
      out.push_back(U'\n');
    } else if (!is_removed_control(c)) {
      out.push_back(c);
    }
  }
  return normalize(out, kNFC);
}

struct NamedEntity {
  const char* name;
  char32_t value;
};

// The named entities seen in web captions and alt text. Numeric references cover every code
// point; an unknown name is left as it is, as Python's html.unescape leaves unknown names.
constexpr NamedEntity kEntities[] = {
    {"amp", U'&'},      {"lt", U'<'},        {"gt", U'>'},        {"quot", U'"'},
    {"apos", U'\''},    {"nbsp", 0xA0},      {"copy", 0xA9},      {"reg", 0xAE},
    {"trade", 0x2122},  {"hellip", 0x2026},  {"mdash", 0x2014},   {"ndash", 0x2013},
    {"lsquo", 0x2018},  {"rsquo", 0x2019},   {"ldquo", 0x201C},   {"rdquo", 0x201D},
    {"laquo", 0xAB},    {"raquo", 0xBB},     {"deg", 0xB0},       {"middot", 0xB7},
    {"times", 0xD7},    {"divide", 0xF7},    {"euro", 0x20AC},    {"pound", 0xA3},
    {"yen", 0xA5},      {"cent", 0xA2},      {"sect", 0xA7},      {"para", 0xB6},
    {"bull", 0x2022},   {"eacute", 0xE9},    {"egrave", 0xE8},    {"aacute", 0xE1},
    {"agrave", 0xE0},   {"ntilde", 0xF1},    {"ouml", 0xF6},      {"uuml", 0xFC},
    {"auml", 0xE4},     {"szlig", 0xDF},     {"ccedil", 0xE7},    {"iexcl", 0xA1},
    {"iquest", 0xBF},   {"frac12", 0xBD},    {"plusmn", 0xB1},    {"micro", 0xB5},
};

std::u32string html_unescape(const std::u32string& in) {
  std::u32string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != U'&') {
      out.push_back(in[i]);
      continue;
    }
    std::size_t j = i + 1;
    if (j < in.size() && in[j] == U'#') {
      ++j;
      const bool hex = j < in.size() && (in[j] == U'x' || in[j] == U'X');
      if (hex) ++j;
      std::uint32_t value = 0;
      const std::size_t digits_start = j;
      while (j < in.size() && j - digits_start < 8) {
        const char32_t d = in[j];
        int v = -1;
        if (d >= U'0' && d <= U'9') v = static_cast<int>(d - U'0');
        else if (hex && d >= U'a' && d <= U'f') v = static_cast<int>(d - U'a' + 10);
        else if (hex && d >= U'A' && d <= U'F') v = static_cast<int>(d - U'A' + 10);
        if (v < 0) break;
        value = value * (hex ? 16 : 10) + static_cast<std::uint32_t>(v);
        ++j;
      }
      if (j > digits_start) {
        if (j < in.size() && in[j] == U';') ++j;
        const bool invalid = value == 0 || (value >= 0xD800 && value <= 0xDFFF) || value > 0x10FFFF;
        out.push_back(invalid ? char32_t{0xFFFD} : static_cast<char32_t>(value));
        i = j - 1;
        continue;
      }
    } else {
      std::string name;
      while (j < in.size() && j - i <= 32 && in[j] < 128 &&
             ((in[j] >= U'a' && in[j] <= U'z') || (in[j] >= U'A' && in[j] <= U'Z') ||
              (in[j] >= U'0' && in[j] <= U'9'))) {
        name.push_back(static_cast<char>(in[j]));
        ++j;
      }
      const bool semicolon = j < in.size() && in[j] == U';';
      for (const NamedEntity& e : kEntities) {
        // Like Python, the four XML entities are also recognized without the semicolon.
        const bool bare_ok = std::strcmp(e.name, "amp") == 0 || std::strcmp(e.name, "lt") == 0 ||
                             std::strcmp(e.name, "gt") == 0 || std::strcmp(e.name, "quot") == 0;
        if (name == e.name && (semicolon || bare_ok)) {
          out.push_back(e.value);
          i = j - (semicolon ? 0 : 1);
          goto next;
        }
      }
    }
    out.push_back(U'&');
  next:;
  }
  return out;
}

std::u32string collapse_whitespace(const std::u32string& in) {
  std::u32string out;
  out.reserve(in.size());
  bool pending_space = false;
  for (char32_t c : in) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(U' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace

bool is_letter(char32_t c) {
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
      return true;
    default:
      return false;
  }
}

bool is_number(char32_t c) {
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

bool is_space(char32_t c) {
  const utf8proc_property_t* p = utf8proc_get_property(static_cast<utf8proc_int32_t>(c));
  return p->category == UTF8PROC_CATEGORY_ZS || p->bidi_class == UTF8PROC_BIDI_CLASS_WS ||
         p->bidi_class == UTF8PROC_BIDI_CLASS_B || p->bidi_class == UTF8PROC_BIDI_CLASS_S;
}

std::string to_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  utf8proc_uint8_t buf[4];
  for (char32_t c : text) {
    const utf8proc_ssize_t n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(c), buf);
    out.append(reinterpret_cast<char*>(buf), static_cast<std::size_t>(n));
  }
  return out;
}

std::u32string clean_text(std::string_view utf8) {
  std::u32string text = ftfy_fixes(decode_utf8(utf8));
  text = html_unescape(html_unescape(text));
  text = collapse_whitespace(text);
  // Python's str.lower(): full lowercase mapping; utf8proc gives the simple one, which differs
  // only for a handful of code points (such as U+0130).
  for (char32_t& c : text) c = static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
  return text;
}

}  // namespace imgvec::detail
