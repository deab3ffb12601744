// Where, the filter a search takes: building conditions, parsing the text form ("key>=3",
// "taken=2023-06"), and judging records, whose fields (photo facts, analysis, labels, metadata)
// are looked up here too. About 400 lines in one file because building, parsing and judging share
// the field lookups and the value comparisons; split apart they would drift.
#include "imgvec/metadata/where.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "imgvec/error.hpp"
#include "metadata/glob.hpp"

namespace imgvec {

struct Where::Node {
  enum class Kind { eq, range, in, tag, all_of, any_of, negate, glob, exists } kind;
  std::string key;
  std::vector<MetadataValue> values;  // eq: one; in: several; tag: one string
  std::optional<double> lo, hi;
  std::vector<std::shared_ptr<const Node>> children;
};

namespace {

using Node = Where::Node;

// The photo facts as filter values: true when `key` names one, with `out` its value, or empty
// when the image lacks it (so `camera!=X` matches an image with no camera). A flag and an out
// parameter rather than an optional of an optional, which GCC 12's -Wmaybe-uninitialized
// misreads under ASan at -O3.
bool photo_field(const PhotoFacts& p, const std::string& key, std::optional<MetadataValue>& out) {
  auto text = [&](const std::string& s) {
    if (!s.empty()) out = s;
    return true;
  };
  if (key == "taken") {
    if (p.taken_ms) out = *p.taken_ms;
  } else if (key == "taken_source") {
    if (p.taken_ms) out = std::string(to_string(p.taken_source));
  } else if (key == "camera") {
    return text(p.camera());
  } else if (key == "camera_make") {
    return text(p.camera_make);
  } else if (key == "camera_model") {
    return text(p.camera_model);
  } else if (key == "lens") {
    return text(p.lens);
  } else if (key == "latitude") {
    if (p.latitude) out = *p.latitude;
  } else if (key == "longitude") {
    if (p.longitude) out = *p.longitude;
  } else {
    return false;
  }
  return true;
}

// The image analysis as filter values, as photo_field: `colour` is the list of its dominant
// colours' names (so colour=blue matches an image with any blue in its palette); nothing for an
// image not analysed.
bool analysis_field(const ImageAnalysis& a, const std::string& key, std::optional<MetadataValue>& out) {
  const bool known = a.analysed();
  if (key == "colour" || key == "color") {
    if (known) {
      std::vector<std::string> names;
      for (const auto& c : a.colours) names.emplace_back(to_string(c.name));
      out = std::move(names);
    }
  } else if (key == "brightness") {
    if (known) out = double{a.brightness};
  } else if (key == "saturation") {
    if (known) out = double{a.saturation};
  } else if (key == "colourfulness" || key == "colorfulness") {
    if (known) out = double{a.colourfulness};
  } else if (key == "warmth") {
    if (known) out = double{a.warmth};
  } else if (key == "tone") {
    if (known) out = std::string(to_string(a.tone));
  } else {
    return false;
  }
  return true;
}

// A record's value under `key`, or nothing.
std::optional<MetadataValue> lookup(const ImageRecord& r, const std::string& key) {
  if (key.rfind("meta.", 0) == 0) {
    const auto it = r.metadata.find(key.substr(5));
    if (it == r.metadata.end()) return std::nullopt;
    return it->second;
  }
  if (key == "width") return std::int64_t{r.width};
  if (key == "height") return std::int64_t{r.height};
  if (key == "format") return std::string(to_string(r.format));
  if (key == "source") return r.source;
  if (key == "file_size") return static_cast<std::int64_t>(r.file_size);
  if (key == "mtime_ns") return r.mtime_ns;
  if (key == "modified") {
    if (r.mtime_ns == 0) return std::nullopt;  // bytes added from memory: no file
    return file_time_wall_ms(r.mtime_ns);
  }
  if (key == "added_ms") return r.added_ms;
  if (key == "id") return static_cast<std::int64_t>(r.id);
  std::optional<MetadataValue> value;
  if (photo_field(r.photo, key, value) || analysis_field(r.analysis, key, value)) return value;
  if (key == "label") {
    if (r.labels.empty()) return std::nullopt;
    std::vector<std::string> names;
    for (const auto& l : r.labels) names.push_back(l.name);
    return names;
  }
  const auto it = r.metadata.find(key);
  if (it == r.metadata.end()) return std::nullopt;
  return it->second;
}

std::optional<double> number(const MetadataValue& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  return std::nullopt;
}

bool equal(const MetadataValue& have, const MetadataValue& want) {
  if (const auto* list = std::get_if<std::vector<std::string>>(&have)) {
    const auto* s = std::get_if<std::string>(&want);
    if (!s) return false;
    for (const auto& item : *list) {
      if (item == *s) return true;
    }
    return false;
  }
  const auto a = number(have), b = number(want);
  if (a && b) return *a == *b;
  return have == want;
}

bool evaluate(const Node& n, const ImageRecord& r) {
  switch (n.kind) {
    case Node::Kind::eq:
    case Node::Kind::in: {
      const auto v = lookup(r, n.key);
      if (!v) return false;
      for (const auto& want : n.values) {
        if (equal(*v, want)) return true;
      }
      return false;
    }
    case Node::Kind::range: {
      const auto v = lookup(r, n.key);
      const auto x = v ? number(*v) : std::nullopt;
      return x && (!n.lo || *x >= *n.lo) && (!n.hi || *x <= *n.hi);
    }
    case Node::Kind::glob: {
      const auto v = lookup(r, n.key);
      if (!v) return false;
      const auto& pattern = std::get<std::string>(n.values[0]);
      if (const auto* s = std::get_if<std::string>(&*v)) return detail::glob_match(pattern, *s, /*ignore_case=*/true);
      if (const auto* list = std::get_if<std::vector<std::string>>(&*v)) {
        for (const auto& item : *list) {
          if (detail::glob_match(pattern, item, /*ignore_case=*/true)) return true;
        }
      }
      return false;
    }
    case Node::Kind::tag: {
      const auto& t = std::get<std::string>(n.values[0]);
      for (const auto& have : r.tags) {
        if (have == t) return true;
      }
      return false;
    }
    case Node::Kind::all_of:
      for (const auto& c : n.children) {
        if (!evaluate(*c, r)) return false;
      }
      return true;
    case Node::Kind::any_of:
      for (const auto& c : n.children) {
        if (evaluate(*c, r)) return true;
      }
      return false;
    case Node::Kind::negate:
      return !evaluate(*n.children[0], r);
    case Node::Kind::exists:
      return lookup(r, n.key).has_value();
  }
  return false;
}

std::string show(const MetadataValue& v) {
  struct Visitor {
    std::string operator()(const std::string& s) const { return "\"" + s + "\""; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return std::to_string(d); }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(const std::vector<std::string>& l) const {
      std::string s = "[";
      for (std::size_t i = 0; i < l.size(); ++i) s += (i ? ", \"" : "\"") + l[i] + "\"";
      return s + "]";
    }
  };
  return std::visit(Visitor{}, v);
}

std::string show(const Node& n) {
  switch (n.kind) {
    case Node::Kind::eq: return n.key + " = " + show(n.values[0]);
    case Node::Kind::in: {
      std::string s = n.key + " in {";
      for (std::size_t i = 0; i < n.values.size(); ++i) s += (i ? ", " : "") + show(n.values[i]);
      return s + "}";
    }
    case Node::Kind::range:
      return (n.lo ? std::to_string(*n.lo) + " <= " : std::string()) + n.key +
             (n.hi ? " <= " + std::to_string(*n.hi) : std::string());
    case Node::Kind::tag: return "tag " + show(n.values[0]);
    case Node::Kind::glob: return n.key + " like " + show(n.values[0]);
    case Node::Kind::all_of:
    case Node::Kind::any_of: {
      std::string s = "(";
      for (std::size_t i = 0; i < n.children.size(); ++i) {
        s += (i ? (n.kind == Node::Kind::all_of ? " and " : " or ") : "") + show(*n.children[i]);
      }
      return s + ")";
    }
    case Node::Kind::negate: return "not " + show(*n.children[0]);
    case Node::Kind::exists: return "has " + n.key;
  }
  return "";
}


}  // namespace

MetadataValue parse_metadata_value(const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  if (!text.empty()) {
    char* end = nullptr;
    errno = 0;
    const long long i = std::strtoll(text.c_str(), &end, 10);
    if (errno == 0 && *end == '\0') return std::int64_t{i};
    errno = 0;
    const double d = std::strtod(text.c_str(), &end);
    if (errno == 0 && *end == '\0') return d;
  }
  return text;
}

Where::Where() = default;
Where::Where(std::shared_ptr<const Node> node) : node_(std::move(node)) {}

Where Where::eq(std::string key, MetadataValue value) {
  return Where(std::make_shared<Node>(Node{Node::Kind::eq, std::move(key), {std::move(value)}, {}, {}, {}}));
}

Where Where::range(std::string key, std::optional<double> lo, std::optional<double> hi) {
  return Where(std::make_shared<Node>(Node{Node::Kind::range, std::move(key), {}, lo, hi, {}}));
}

Where Where::in(std::string key, std::vector<MetadataValue> values) {
  return Where(std::make_shared<Node>(Node{Node::Kind::in, std::move(key), std::move(values), {}, {}, {}}));
}

Where Where::glob(std::string key, std::string pattern) {
  detail::check_glob(pattern, "filter " + key + "=" + pattern.substr(0, 40));
  return Where(std::make_shared<Node>(Node{Node::Kind::glob, std::move(key), {MetadataValue(std::move(pattern))}, {}, {}, {}}));
}

Where Where::has(std::string key) {
  return Where(std::make_shared<Node>(Node{Node::Kind::exists, std::move(key), {}, {}, {}, {}}));
}

Where Where::tag(std::string t) {
  return Where(std::make_shared<Node>(Node{Node::Kind::tag, "", {MetadataValue(std::move(t))}, {}, {}, {}}));
}

Where Where::operator&&(const Where& o) const {
  if (!node_) return o;
  if (!o.node_) return *this;
  return Where(std::make_shared<Node>(Node{Node::Kind::all_of, "", {}, {}, {}, {node_, o.node_}}));
}

Where Where::operator||(const Where& o) const {
  if (!node_ || !o.node_) return Where();
  return Where(std::make_shared<Node>(Node{Node::Kind::any_of, "", {}, {}, {}, {node_, o.node_}}));
}

Where Where::operator!() const {
  auto inner = node_ ? node_ : std::make_shared<Node>(Node{Node::Kind::all_of, "", {}, {}, {}, {}});
  return Where(std::make_shared<Node>(Node{Node::Kind::negate, "", {}, {}, {}, {inner}}));
}

bool Where::matches(const ImageRecord& r) const { return !node_ || evaluate(*node_, r); }

std::string Where::to_string() const { return node_ ? show(*node_) : "everything"; }

namespace {
void collect_keys(const Node& n, std::vector<std::string>& out) {
  if (!n.key.empty() && std::find(out.begin(), out.end(), n.key) == out.end()) out.push_back(n.key);
  for (const auto& c : n.children) collect_keys(*c, out);
}
void collect_tags(const Node& n, std::vector<std::string>& out) {
  if (n.kind == Node::Kind::tag && !n.values.empty()) {
    if (const auto* t = std::get_if<std::string>(&n.values[0]); t && std::find(out.begin(), out.end(), *t) == out.end())
      out.push_back(*t);
  }
  for (const auto& c : n.children) collect_tags(*c, out);
}
}  // namespace

std::vector<std::string> Where::tags() const {
  std::vector<std::string> out;
  if (node_) collect_tags(*node_, out);
  return out;
}

std::vector<std::string> Where::keys() const {
  std::vector<std::string> out;
  if (node_) collect_keys(*node_, out);
  return out;
}

bool Where::is_record_field(const std::string& key) {
  for (const char* f : {"width", "height", "format", "source", "file_size", "mtime_ns", "modified", "added_ms", "id", "taken",
                        "taken_source", "camera", "camera_make", "camera_model", "lens", "latitude", "longitude", "colour",
                        "color", "brightness", "saturation", "colourfulness", "colorfulness", "warmth", "tone", "label"}) {
    if (key == f) return true;
  }
  return false;
}

Where Where::condition(const std::string& e) {
  static const char* const kOps[] = {"!=", ">=", "<=", "=", ">", "<"};
  for (const char* op : kOps) {
    // The operator is the first operator character's: `expr=a!=b` is expr = "a!=b".
    const auto at = e.find_first_of("!<>=");
    if (at == std::string::npos || at == 0 || e.compare(at, std::char_traits<char>::length(op), op) != 0) continue;
    const std::string key = e.substr(0, at), rhs = e.substr(at + std::char_traits<char>::length(op));
    const std::string o = op;
    auto bad = [&](const std::string& what) {
      throw Error(ErrorCode::invalid_argument, "filter \"" + e + "\": " + what);
    };
    if (key.find_first_of("!<>= \t") != std::string::npos) bad("the key \"" + key + "\" holds an operator or a space");
    if (rhs.empty()) bad(o + " needs a value after it");
    // Dates: a year, month, day, minute or second names a period; "taken" compares against it.
    const bool dated = is_date_key(key);
    auto period = [&](const std::string& text) {
      const auto p = parse_date_period(text);
      if (!p) bad("\"" + text + "\" is not a date (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS])");
      return std::pair<double, double>(static_cast<double>(p->first), static_cast<double>(p->second - 1));
    };
    auto bound = [&](const std::string& text) -> std::optional<double> { return number(parse_metadata_value(text)); };
    if (o == "=" || o == "!=") {
      Where w;
      const auto dots = rhs.find("..");
      if (key == "tag") {
        w = tag(rhs);
      } else if (key == "colour" || key == "color") {
        // Palette names only, so a typo is an error rather than an empty answer.
        std::vector<MetadataValue> names;
        std::size_t start = 0;
        for (;;) {
          const auto bar = rhs.find('|', start);
          const std::string word = rhs.substr(start, bar == std::string::npos ? bar : bar - start);
          const auto name = parse_colour_name(word);
          if (!name) {
            bad("\"" + word + "\" is not a colour name (black, white, gray, red, orange, yellow, green, cyan, blue, "
                "purple, pink, brown)");
          }
          names.emplace_back(std::string(imgvec::to_string(*name)));
          if (bar == std::string::npos) break;
          start = bar + 1;
        }
        w = in(key, std::move(names));
      } else if (dated) {
        // taken=2023-06 is all of June; taken=2023-06-01..2023-06-15 is both days and those between.
        const auto lo = period(dots == std::string::npos ? rhs : rhs.substr(0, dots));
        const auto hi = dots == std::string::npos ? lo : period(rhs.substr(dots + 2));
        w = range(key, lo.first, hi.second);
      } else if (dots != std::string::npos && dots > 0 && bound(rhs.substr(0, dots)) && bound(rhs.substr(dots + 2))) {
        w = range(key, bound(rhs.substr(0, dots)), bound(rhs.substr(dots + 2)));  // latitude=40.5..41
      } else if (rhs.find('|') != std::string::npos) {
        std::vector<MetadataValue> values;
        std::optional<Where> patterns;  // alternatives with * or ?: camera=canon*|nikon*
        std::size_t start = 0;
        for (;;) {
          const auto bar = rhs.find('|', start);
          const std::string alternative = rhs.substr(start, bar == std::string::npos ? bar : bar - start);
          if (alternative.empty()) bad("an empty alternative in \"" + rhs + "\"");
          if (alternative.find_first_of("*?") != std::string::npos) {
            patterns = patterns ? *patterns || glob(key, alternative) : glob(key, alternative);
          } else {
            values.push_back(parse_metadata_value(alternative));
          }
          if (bar == std::string::npos) break;
          start = bar + 1;
        }
        if (values.empty()) w = *patterns;
        else w = patterns ? in(key, std::move(values)) || *patterns : in(key, std::move(values));
      } else if (rhs.find_first_of("*?") != std::string::npos) {
        w = glob(key, rhs);
      } else {
        w = eq(key, parse_metadata_value(rhs));
      }
      return o == "=" ? w : !w;
    }
    if (dated) {
      const auto p = period(rhs);
      if (o == ">=") return range(key, p.first, std::nullopt);
      if (o == "<=") return range(key, std::nullopt, p.second);
      if (o == ">") return range(key, p.second + 1, std::nullopt);
      return range(key, std::nullopt, p.first - 1);
    }
    const auto v = number(parse_metadata_value(rhs));
    if (!v) {
      throw Error(ErrorCode::invalid_argument,
                  "filter \"" + e + "\": " + o + " needs a number, got \"" + rhs + "\"");
    }
    // Strict bounds on numbers: nudge to the next representable value.
    if (o == ">=") return range(key, *v, std::nullopt);
    if (o == "<=") return range(key, std::nullopt, *v);
    if (o == ">") return range(key, std::nextafter(*v, HUGE_VAL), std::nullopt);
    return range(key, std::nullopt, std::nextafter(*v, -HUGE_VAL));
  }
  throw Error(ErrorCode::invalid_argument,
              "filter \"" + e + "\" is not KEY=VALUE, KEY!=VALUE, KEY>=N, KEY<=N, KEY>N or KEY<N");
}

}  // namespace imgvec
