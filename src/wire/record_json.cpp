// Records and metadata on the wire (wire.hpp): the JSON that exports write, the CLI prints, the
// server answers and Python turns into dicts.
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "imgvec/path_text.hpp"
#include "io/binary_io.hpp"
#include "wire/wire.hpp"

namespace imgvec::wire {
namespace {

// A string as JSON text must be UTF-8; bytes that are not are escaped reversibly (path_text.hpp).
json text(const std::string& s) { return escape_path(s); }

// A stored float as the shortest decimal that reads back as the same float (0.468, not
// 0.46799999475479126): readable, and record_from_json gets the same bits back.
json shortest(float v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::strtod(std::string(buf, end).c_str(), nullptr);
}

json value_json(const MetadataValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return text(*s);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return *i;
  if (const auto* d = std::get_if<double>(&v)) return std::isfinite(*d) ? json(*d) : json(nullptr);
  if (const auto* b = std::get_if<bool>(&v)) return *b;
  json list = json::array();
  for (const auto& item : std::get<std::vector<std::string>>(v)) list.push_back(text(item));
  return list;
}

}  // namespace

json to_json(const Metadata& metadata) {
  json meta = json::object();
  for (const auto& [k, v] : metadata) meta[escape_path(k)] = value_json(v);
  return meta;
}

Metadata metadata_from_json(const json& value, ErrorCode code, const std::string& what, bool skip_nulls) {
  if (!value.is_object()) throw Error(code, what + ": must be a JSON object of key: value");
  Metadata out;
  for (const auto& item : value.items()) {
    // Named, not a structured binding: a lambda cannot capture one in C++17 (clang refuses).
    const std::string& key = item.key();
    const json& v = item.value();
    const auto fail = [&](const std::string& why) { throw Error(code, what + " \"" + key + "\": " + why); };
    if (v.is_string()) {
      out.emplace(key, v.get<std::string>());
    } else if (v.is_boolean()) {
      out.emplace(key, v.get<bool>());
    } else if (v.is_number_integer()) {
      if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
        fail("integers must fit in 64 bits, signed");
      out.emplace(key, v.get<std::int64_t>());
    } else if (v.is_number_float()) {
      out.emplace(key, v.get<double>());
    } else if (v.is_array()) {
      std::vector<std::string> list;
      for (const auto& s : v) {
        if (!s.is_string()) fail("a list may hold strings only");
        list.push_back(s.get<std::string>());
      }
      out.emplace(key, std::move(list));
    } else if (v.is_null() && skip_nulls) {
      continue;
    } else {
      fail(std::string("values are strings, numbers, true/false or lists of strings, not ") + v.type_name());
    }
  }
  return out;
}

json to_json(const ImageRecord& r, const VectorDatabase* portable_in) {
  json tags = json::array();
  for (const auto& t : r.tags) tags.push_back(text(t));
  json o = {{"id", r.id},
            {"source", text(portable_in ? portable_in->portable_source(r.source) : r.source)},
            {"content_hash", detail::to_hex(r.content_hash)},
            {"file_size", r.file_size},
            {"mtime_ns", r.mtime_ns},
            {"width", r.width},
            {"height", r.height},
            {"format", to_string(r.format)},
            {"added_ms", r.added_ms},
            {"metadata", to_json(r.metadata)},
            {"tags", std::move(tags)}};
  // Only what is known: most files have a date, fewer a camera, few a position.
  json photo = json::object();
  const PhotoFacts& f = r.photo;
  if (f.taken_ms) {
    photo["taken"] = f.taken_text();
    photo["taken_ms"] = *f.taken_ms;
    photo["taken_source"] = to_string(f.taken_source);
  }
  if (!f.camera().empty()) photo["camera"] = text(f.camera());
  if (!f.camera_make.empty()) photo["camera_make"] = text(f.camera_make);
  if (!f.camera_model.empty()) photo["camera_model"] = text(f.camera_model);
  if (!f.lens.empty()) photo["lens"] = text(f.lens);
  if (f.latitude && f.longitude) {
    photo["latitude"] = *f.latitude;
    photo["longitude"] = *f.longitude;
  }
  o["photo"] = std::move(photo);
  if (r.analysis.analysed()) {
    const ImageAnalysis& a = r.analysis;
    json colours = json::array();
    for (const DominantColour& c : a.colours)
      colours.push_back({{"hex", to_hex(c.rgb)}, {"share", shortest(c.share)}, {"name", to_string(c.name)}});
    o["analysis"] = {{"colours", std::move(colours)},
                     {"brightness", shortest(a.brightness)},
                     {"saturation", shortest(a.saturation)},
                     {"colourfulness", shortest(a.colourfulness)},
                     {"warmth", shortest(a.warmth)},
                     {"tone", to_string(a.tone)}};
  }
  if (!r.labels.empty()) {
    json labels = json::array();
    for (const Label& l : r.labels) labels.push_back({{"name", text(l.name)}, {"score", shortest(l.score)}});
    o["labels"] = std::move(labels);
  }
  if (!r.precision.empty()) o["precision"] = text(r.precision);
  if (!is_valid_utf8(r.source)) o["source_escaped"] = true;
  return o;
}

}  // namespace imgvec::wire
