// The filter syntax: conditions joined by and, or, not and parentheses (Where::parse). A
// recursive-descent parser over the text, with the nesting of parentheses and the number of
// conditions capped, so a request's filter costs bounded stack and time.
#include <cctype>
#include <string>

#include "imgvec/error.hpp"
#include "imgvec/metadata/where.hpp"

namespace imgvec {
namespace {

constexpr std::size_t kMaxConditions = 256;
constexpr int kMaxParentheses = 32;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

class ExpressionParser {
 public:
  explicit ExpressionParser(const std::string& text) : text_(text) {}

  Where parse() {
    skip_space();
    if (at_ == text_.size()) fail("the filter is empty; give a condition such as width>=640", 0);
    Where w = parse_or(0);
    skip_space();
    if (at_ < text_.size()) {
      if (text_[at_] == ')') fail("this \")\" has no \"(\" before it", at_);
      fail("expected \"and\", \"or\" or the end", at_);
    }
    return w;
  }

 private:
  const std::string& text_;
  std::size_t at_ = 0;
  std::size_t conditions_ = 0;

  [[noreturn]] void fail(const std::string& what, std::size_t where) const {
    const std::string shown = text_.size() > 200 ? text_.substr(0, 200) + "..." : text_;
    throw Error(ErrorCode::invalid_argument,
                "filter \"" + shown + "\": " + what + " (at character " + std::to_string(where + 1) + ")");
  }

  void skip_space() {
    while (at_ < text_.size() && is_space(text_[at_])) ++at_;
  }

  // Whether `word` (and, or, not: any case) stands at `pos` as a word of its own.
  bool keyword_at(std::size_t pos, const char* word) const {
    std::size_t i = 0;
    for (; word[i]; ++i) {
      if (pos + i >= text_.size() ||
          std::tolower(static_cast<unsigned char>(text_[pos + i])) != word[i])
        return false;
    }
    const std::size_t end = pos + i;
    return end == text_.size() || is_space(text_[end]) || text_[end] == '(';
  }

  bool keyword(const char* word) {
    skip_space();
    if (!keyword_at(at_, word)) return false;
    at_ += std::char_traits<char>::length(word);
    return true;
  }

  Where parse_or(int depth) {
    Where w = parse_and(depth);
    while (keyword("or")) w = w || parse_and(depth);
    return w;
  }

  Where parse_and(int depth) {
    Where w = parse_unary(depth);
    while (keyword("and")) w = w && parse_unary(depth);
    return w;
  }

  Where parse_unary(int depth) {
    bool negate = false;  // a loop, not recursion: "not not not ..." costs no stack
    while (keyword("not")) negate = !negate;
    skip_space();
    Where w;
    if (at_ < text_.size() && text_[at_] == '(') {
      const std::size_t open = at_++;
      if (depth >= kMaxParentheses) fail("parentheses nest deeper than 32 levels", open);
      w = parse_or(depth + 1);
      skip_space();
      if (at_ >= text_.size() || text_[at_] != ')') fail("this \"(\" is not closed", open);
      ++at_;
    } else {
      w = parse_condition();
    }
    return negate ? !w : w;
  }

  Where parse_condition() {
    const std::size_t start = at_;
    if (at_ == text_.size()) fail("expected a condition (KEY=VALUE, KEY>=N, ...) at the end", at_);
    while (at_ < text_.size() && !is_space(text_[at_]) && std::string("!<>=()\"").find(text_[at_]) == std::string::npos)
      ++at_;
    const std::string key = text_.substr(start, at_ - start);
    std::string op;
    for (const char* o : {"!=", ">=", "<=", "=", ">", "<"}) {
      if (text_.compare(at_, std::char_traits<char>::length(o), o) == 0) {
        op = o;
        break;
      }
    }
    if (op.empty()) {
      std::size_t end = at_;
      while (end < text_.size() && !is_space(text_[end])) ++end;
      const std::string word = text_.substr(start, std::min<std::size_t>(end - start, 60));
      if (word.empty()) fail("expected a condition (KEY=VALUE, KEY>=N, ...)", start);
      fail("\"" + word + "\" is not a condition (KEY=VALUE, KEY!=VALUE, KEY>=N, KEY<=N, KEY>N, KEY<N); "
           "a value holding spaces, \"and\", \"or\" or parentheses goes in double quotes: title=\"cats and dogs\"",
           start);
    }
    if (key.empty()) fail("a condition needs a key before " + op, start);
    if (++conditions_ > kMaxConditions) fail("more than 256 conditions", start);
    at_ += op.size();
    if (at_ < text_.size() && text_[at_] == '"') return quoted_condition(key, op);
    const std::size_t value_start = at_;
    std::size_t end = value_end();
    at_ = end;
    while (end > value_start && is_space(text_[end - 1])) --end;
    return Where::condition(key + op + text_.substr(value_start, end - value_start));
  }

  // Where an unquoted value ends: before a space followed by `and` or `or`, before a `)` that no
  // `(` inside the value opened (`name=smile (2)` keeps its own), or at the end.
  std::size_t value_end() const {
    int inner = 0;
    for (std::size_t i = at_; i < text_.size(); ++i) {
      const char c = text_[i];
      if (c == '(') ++inner;
      if (c == ')') {
        if (inner == 0) return i;  // closes a group, or is a stray the caller reports
        --inner;
      }
      if (is_space(c)) {
        std::size_t next = i;
        while (next < text_.size() && is_space(text_[next])) ++next;
        if (keyword_at(next, "and") || keyword_at(next, "or")) return i;
      }
    }
    return text_.size();
  }

  // KEY="literal text": no alternatives, ranges or wildcards; typed as other values are.
  Where quoted_condition(const std::string& key, const std::string& op) {
    const std::size_t open = at_++;
    std::string value;
    for (;;) {
      if (at_ >= text_.size()) fail("this quote is not closed", open);
      const char c = text_[at_++];
      if (c == '"') break;
      if (c == '\\' && at_ < text_.size() && (text_[at_] == '"' || text_[at_] == '\\')) {
        value += text_[at_++];
      } else {
        value += c;
      }
    }
    if (value.empty()) fail(op + " needs a value; \"\" is empty", open);
    if (op != "=" && op != "!=") return Where::condition(key + op + value);
    Where w;
    if (key == "tag") w = Where::tag(value);
    else if (Where::is_date_key(key) || key == "colour" || key == "color") w = Where::condition(key + "=" + value);
    else w = Where::eq(key, parse_metadata_value(value));
    return op == "=" ? w : !w;
  }
};

}  // namespace

Where Where::parse(const std::string& expression) {
  return ExpressionParser(expression).parse();
}

}  // namespace imgvec
