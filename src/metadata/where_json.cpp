// Filters in Qdrant's JSON shape (Where::from_json), compiled to the same Where as the string
// syntax, so users of Qdrant's REST API can bring their filters unchanged and the server's "filter"
// takes either form.
#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "imgvec/detail/json_nesting.hpp"
#include "imgvec/error.hpp"
#include "imgvec/image/photo_facts.hpp"
#include "imgvec/metadata/where.hpp"
#include "text/near_names.hpp"

namespace imgvec {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxConditions = 256;

[[noreturn]] void bad(const std::string& where, const std::string& what) {
  throw Error(ErrorCode::invalid_argument, "filter: " + where + ": " + what);
}

void check_fields(const json& object, const std::string& where, const std::vector<std::string_view>& known,
                  const std::string& needs) {
  for (const auto& [name, value] : object.items()) {
    bool found = false;
    for (std::string_view k : known) found = found || name == k;
    if (found) continue;
    const std::string hint = detail::did_you_mean(name, known);
    bad(where, "unknown field \"" + name.substr(0, 60) + "\"" + (hint.empty() ? "" : "; " + hint) + " (" + needs + ")");
  }
}

MetadataValue value_of(const json& v, const std::string& where) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
      bad(where, "the number " + v.dump() + " is too large");
    return v.get<std::int64_t>();
  }
  if (v.is_number()) return v.get<double>();
  bad(where, "a value must be a string, a number or true/false, not " + v.dump().substr(0, 60));
}

std::string text_of(const MetadataValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  return "";
}

// KEY equal to one value, as the string syntax's KEY="VALUE" means it.
Where equals(const std::string& key, const MetadataValue& value) {
  if (key == "tag") {
    const auto* s = std::get_if<std::string>(&value);
    if (!s) throw Error(ErrorCode::invalid_argument, "filter: a tag is a string");
    return Where::tag(*s);
  }
  if (Where::is_date_key(key) || key == "colour" || key == "color") return Where::condition(key + "=" + text_of(value));
  return Where::eq(key, value);
}

Where any_of(const std::string& key, const json& list, const std::string& where) {
  if (!list.is_array() || list.empty() || list.size() > kMaxConditions)
    bad(where, "a list of 1 to 256 values");
  Where w;
  bool first = true;
  for (const auto& v : list) {
    const Where one = equals(key, value_of(v, where));
    w = first ? one : w || one;
    first = false;
  }
  return w;
}

// A bound of a range: a number, or for `taken` and `modified` a date naming a period (RFC 3339's "Z" allowed).
std::pair<double, double> bound_of(const std::string& key, const json& v, const std::string& where) {
  if (v.is_number()) return {v.get<double>(), v.get<double>()};
  if (Where::is_date_key(key) && v.is_string()) {
    std::string text = v.get<std::string>();
    if (!text.empty() && text.back() == 'Z') text.pop_back();
    const auto p = parse_date_period(text);
    if (!p) bad(where, "\"" + text.substr(0, 40) + "\" is not a date (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS])");
    return {static_cast<double>(p->first), static_cast<double>(p->second - 1)};
  }
  bad(where, std::string("a bound must be a number") + (Where::is_date_key(key) ? " or a date" : ""));
}

Where range_of(const std::string& key, const json& r, const std::string& where) {
  if (!r.is_object() || r.empty()) bad(where, "a range is an object of gt, gte, lt, lte");
  check_fields(r, where, {"gt", "gte", "lt", "lte"}, "a range takes gt, gte, lt and lte");
  std::optional<double> lo, hi;
  auto tighten_lo = [&](double v) { lo = lo ? std::max(*lo, v) : v; };
  auto tighten_hi = [&](double v) { hi = hi ? std::min(*hi, v) : v; };
  for (const auto& [name, v] : r.items()) {
    if (v.is_null()) continue;
    const auto b = bound_of(key, v, where + "." + name);
    const bool number = v.is_number();
    if (name == "gte") tighten_lo(b.first);
    if (name == "gt") tighten_lo(number ? std::nextafter(b.first, HUGE_VAL) : b.second + 1);
    if (name == "lte") tighten_hi(b.second);
    if (name == "lt") tighten_hi(number ? std::nextafter(b.first, -HUGE_VAL) : b.first - 1);
  }
  return Where::range(key, lo, hi);
}

class JsonFilter {
 public:
  Where filter(const json& f, const std::string& where) {
    if (!f.is_object()) bad(where, "a filter is an object of \"must\", \"should\" and \"must_not\"");
    check_fields(f, where, {"must", "should", "must_not"}, "a filter takes must, should and must_not");
    Where w;
    if (const auto m = f.find("must"); m != f.end() && !m->is_null()) {
      for_each(*m, where + ".must", [&](const Where& c) { w = w && c; });
    }
    if (const auto s = f.find("should"); s != f.end() && !s->is_null()) {
      std::optional<Where> any;
      for_each(*s, where + ".should", [&](const Where& c) { any = any ? *any || c : c; });
      if (any) w = w && *any;
    }
    if (const auto n = f.find("must_not"); n != f.end() && !n->is_null()) {
      for_each(*n, where + ".must_not", [&](const Where& c) { w = w && !c; });
    }
    return w;
  }

 private:
  std::size_t conditions_ = 0;

  template <typename Use>
  void for_each(const json& list, const std::string& where, Use use) {
    if (list.is_object()) return use(condition(list, where));
    if (!list.is_array()) bad(where, "a list of conditions");
    for (std::size_t i = 0; i < list.size(); ++i) use(condition(list[i], where + "[" + std::to_string(i) + "]"));
  }

  Where condition(const json& c, const std::string& where) {
    if (!c.is_object()) bad(where, "a condition is an object");
    if (++conditions_ > kMaxConditions) bad(where, "more than 256 conditions");
    if (c.contains("must") || c.contains("should") || c.contains("must_not")) return filter(c, where);
    if (const auto ids = c.find("has_id"); ids != c.end()) {
      check_fields(c, where, {"has_id"}, "has_id stands alone");
      if (!ids->is_array() || ids->empty() || ids->size() > kMaxConditions) bad(where, "has_id is a list of 1 to 256 ids");
      std::vector<MetadataValue> values;
      for (const auto& id : *ids) {
        if (!id.is_number_unsigned() || id.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
          bad(where + ".has_id", id.dump().substr(0, 40) + " is not an image id");
        values.emplace_back(id.get<std::int64_t>());
      }
      return Where::in("id", std::move(values));
    }
    for (const char* empty : {"is_empty", "is_null"}) {
      if (const auto e = c.find(empty); e != c.end()) {
        check_fields(c, where, {empty}, std::string(empty) + " stands alone");
        if (!e->is_object() || !e->contains("key") || !(*e)["key"].is_string())
          bad(where, std::string(empty) + " is {\"key\": KEY}");
        return !Where::has(key_of((*e)["key"], where));
      }
    }
    check_fields(c, where, {"key", "match", "range", "datetime_range"},
                 "a condition takes key with match or range, or is has_id, is_empty or a nested filter");
    const auto k = c.find("key");
    if (k == c.end()) bad(where, "a condition needs \"key\" (or has_id, is_empty, or must/should/must_not)");
    const std::string key = key_of(*k, where);
    const bool has_match = c.contains("match"), has_range = c.contains("range") || c.contains("datetime_range");
    if (has_match == has_range) bad(where, "give one of \"match\" or \"range\" with \"key\"");
    if (has_range) return range_of(key, c.contains("range") ? c["range"] : c["datetime_range"], where + ".range");
    const json& m = c["match"];
    const std::string at = where + ".match";
    if (!m.is_object() || m.size() != 1) bad(at, "match is one of {\"value\": V}, {\"any\": [...]}, {\"except\": [...]}, {\"text\": T}");
    check_fields(m, at, {"value", "any", "except", "text"}, "match takes value, any, except or text");
    if (const auto v = m.find("value"); v != m.end()) return equals(key, value_of(*v, at));
    if (const auto a = m.find("any"); a != m.end()) return any_of(key, *a, at + ".any");
    if (const auto e = m.find("except"); e != m.end()) return !any_of(key, *e, at + ".except");
    const json& t = m["text"];
    if (!t.is_string() || t.get<std::string>().empty()) bad(at, "text is a non-empty string");
    return Where::glob(key, "*" + t.get<std::string>() + "*");
  }

  static std::string key_of(const json& k, const std::string& where) {
    if (!k.is_string() || k.get<std::string>().empty() || k.get<std::string>().size() > 256)
      bad(where, "\"key\" is a name of 1 to 256 bytes");
    return k.get<std::string>();
  }
};

}  // namespace

Where Where::from_json(const std::string& json_text) {
  detail::check_json_nesting(json_text, "filter");
  json f;
  try {
    f = json::parse(json_text);
  } catch (const json::exception& e) {
    throw Error(ErrorCode::invalid_argument, std::string("filter: not JSON: ") + e.what());
  }
  return JsonFilter().filter(f, "filter");
}

}  // namespace imgvec
