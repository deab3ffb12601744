// Records read back from the JSON that wire::to_json(ImageRecord) writes (exports, imports).
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "imgvec/detail/json_nesting.hpp"
#include "imgvec/database.hpp"
#include "imgvec/error.hpp"
#include "imgvec/path_text.hpp"
#include "wire/wire.hpp"

namespace imgvec {
namespace {

using nlohmann::json;

class Reader {
 public:
  explicit Reader(std::string what) : what_(std::move(what)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& why) const {
    throw Error(ErrorCode::corrupt_file, what_ + ": \"" + field + "\" " + why);
  }
  const json& member(const json& o, const char* key) const {
    const auto it = o.find(key);
    if (it == o.end()) fail(key, "is missing");
    return *it;
  }
  template <typename T>
  T number(const json& o, const char* key) const {
    const json& v = member(o, key);
    if (!v.is_number()) fail(key, "is not a number");
    if constexpr (std::is_integral_v<T>) {
      if (!v.is_number_integer()) fail(key, "is not an integer");
      if constexpr (std::is_unsigned_v<T>) {
        if (v.is_number_unsigned()) return static_cast<T>(v.get<std::uint64_t>());
        if (v.get<std::int64_t>() < 0) fail(key, "is negative");
      }
    }
    return v.get<T>();
  }
  std::string text(const json& o, const char* key) const {
    const json& v = member(o, key);
    if (!v.is_string()) fail(key, "is not a string");
    return v.get<std::string>();
  }
  template <typename E>
  E named(const json& o, const char* key, int last) const {
    const std::string name = text(o, key);
    for (int i = 0; i <= last; ++i) {
      if (name == to_string(static_cast<E>(i))) return static_cast<E>(i);
    }
    fail(key, "is not a known value (\"" + name + "\")");
  }

 private:
  std::string what_;
};

// "+02:00" or "-05:30" at the end of an ISO 8601 time: the offset in minutes.
std::optional<std::int16_t> offset_of(const std::string& taken) {
  if (taken.size() < 6) return std::nullopt;
  const std::string tail = taken.substr(taken.size() - 6);
  if ((tail[0] != '+' && tail[0] != '-') || tail[3] != ':') return std::nullopt;
  for (int i : {1, 2, 4, 5}) {
    if (tail[i] < '0' || tail[i] > '9') return std::nullopt;
  }
  const int minutes = ((tail[1] - '0') * 10 + (tail[2] - '0')) * 60 + (tail[4] - '0') * 10 + (tail[5] - '0');
  return static_cast<std::int16_t>(tail[0] == '-' ? -minutes : minutes);
}

}  // namespace

ImageRecord record_from_json(std::string_view json_text, const std::string& what) {
  detail::check_json_nesting(json_text, what, ErrorCode::corrupt_file);
  const json o = json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (o.is_discarded()) throw Error(ErrorCode::corrupt_file, what + ": not valid JSON");
  return wire::record_from_json(o, what);
}

std::string record_to_json(const ImageRecord& record) { return wire::to_json(record).dump(); }

ImageRecord wire::record_from_json(const json& o, const std::string& what) {
  const Reader in(what);
  if (!o.is_object()) throw Error(ErrorCode::corrupt_file, what + ": not a JSON object");
  ImageRecord r;
  r.id = in.number<Id>(o, "id");
  if (r.id == 0) in.fail("id", "is 0, which no image has");
  r.source = in.text(o, "source");
  const auto escaped = o.find("source_escaped");
  if (escaped != o.end() && escaped->is_boolean() && escaped->get<bool>()) r.source = unescape_path(r.source);
  const std::string hash = in.text(o, "content_hash");
  char* end = nullptr;
  r.content_hash = std::strtoull(hash.c_str(), &end, 16);
  if (hash.empty() || hash.size() > 16 || *end != '\0') in.fail("content_hash", "is not 1-16 hex digits");
  r.file_size = in.number<std::uint64_t>(o, "file_size");
  r.mtime_ns = in.number<std::int64_t>(o, "mtime_ns");
  r.width = in.number<std::uint32_t>(o, "width");
  r.height = in.number<std::uint32_t>(o, "height");
  r.format = in.named<ImageFormat>(o, "format", static_cast<int>(ImageFormat::avif));
  r.added_ms = in.number<std::int64_t>(o, "added_ms");
  // A non-finite number is written as null, and skipped.
  r.metadata = wire::metadata_from_json(in.member(o, "metadata"), ErrorCode::corrupt_file, what + ": metadata",
                                        /*skip_nulls=*/true);
  const json& tags = in.member(o, "tags");
  if (!tags.is_array()) in.fail("tags", "is not a list");
  for (const json& t : tags) {
    if (!t.is_string()) in.fail("tags", "holds something other than strings");
    r.tags.push_back(t.get<std::string>());
  }
  if (const auto p = o.find("photo"); p != o.end() && p->is_object()) {
    PhotoFacts& f = r.photo;
    if (p->contains("taken_ms")) {
      f.taken_ms = in.number<std::int64_t>(*p, "taken_ms");
      f.taken_offset_min = offset_of(in.text(*p, "taken"));
      f.taken_source = in.named<TakenSource>(*p, "taken_source", static_cast<int>(TakenSource::file_name));
      if (f.taken_source == TakenSource::file_time || f.taken_source == TakenSource::none) {
        f = PhotoFacts{};  // an export before 0.2 dated by file time: not a date taken (photo_facts.hpp)
      }
    }
    if (p->contains("camera_make")) f.camera_make = in.text(*p, "camera_make");
    if (p->contains("camera_model")) f.camera_model = in.text(*p, "camera_model");
    if (p->contains("lens")) f.lens = in.text(*p, "lens");
    if (p->contains("latitude") && p->contains("longitude")) {
      f.latitude = in.number<double>(*p, "latitude");
      f.longitude = in.number<double>(*p, "longitude");
    }
  }
  if (const auto a = o.find("analysis"); a != o.end() && a->is_object()) {
    ImageAnalysis& x = r.analysis;
    const json& colours = in.member(*a, "colours");
    if (!colours.is_array()) in.fail("analysis.colours", "is not a list");
    for (const json& c : colours) {
      if (!c.is_object()) in.fail("analysis.colours", "holds something other than objects");
      DominantColour d;
      const auto rgb = parse_colour(in.text(c, "hex"));
      if (!rgb) in.fail("analysis.colours.hex", "is not a #rrggbb colour");
      d.rgb = *rgb;
      d.share = in.number<float>(c, "share");
      d.name = in.named<ColourName>(c, "name", static_cast<int>(ColourName::brown));
      x.colours.push_back(d);
    }
    x.brightness = in.number<float>(*a, "brightness");
    x.saturation = in.number<float>(*a, "saturation");
    x.colourfulness = in.number<float>(*a, "colourfulness");
    x.warmth = in.number<float>(*a, "warmth");
    x.tone = in.named<Tone>(*a, "tone", static_cast<int>(Tone::cool));
  }
  if (o.contains("precision")) r.precision = in.text(o, "precision");
  if (const auto l = o.find("labels"); l != o.end() && l->is_array()) {
    for (const json& label : *l) {
      if (!label.is_object()) in.fail("labels", "holds something other than objects");
      r.labels.push_back({in.text(label, "name"), in.number<float>(label, "score")});
    }
  }
  return r;
}

}  // namespace imgvec
