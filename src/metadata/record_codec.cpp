#include "metadata/record_codec.hpp"

#include <cmath>
#include <cstring>

#include "imgvec/error.hpp"

namespace imgvec::detail {
namespace {

// Value type tags, stable on disk. Format 1 used std::variant's index, which is the same order.
enum class ValueTag : std::uint8_t {
  string = 0,
  int64 = 1,
  float64 = 2,
  boolean = 3,
  string_list = 4
};

void put_value(std::string& out, const MetadataValue& v) {
  put_scalar<std::uint8_t>(out, static_cast<std::uint8_t>(v.index()));
  if (const auto* s = std::get_if<std::string>(&v))
    put_string(out, *s);
  else if (const auto* i = std::get_if<std::int64_t>(&v))
    put_scalar<std::int64_t>(out, *i);
  else if (const auto* d = std::get_if<double>(&v))
    put_scalar<double>(out, *d);
  else if (const auto* b = std::get_if<bool>(&v))
    put_scalar<std::uint8_t>(out, *b ? 1 : 0);
  else {
    const auto& list = std::get<std::vector<std::string>>(v);
    put_scalar<std::uint64_t>(out, list.size());
    for (const auto& s : list) put_string(out, s);
  }
}

}  // namespace

void encode_record(std::string& out, const ImageRecord& r) {
  const std::size_t frame = out.size();
  put_scalar<std::uint64_t>(out, 0);  // the length, filled in below
  put_scalar<std::uint64_t>(out, r.id);
  put_string(out, r.source);
  put_scalar<std::uint64_t>(out, r.content_hash);
  put_scalar<std::uint64_t>(out, r.file_size);
  put_scalar<std::int64_t>(out, r.mtime_ns);
  put_scalar<std::uint32_t>(out, r.width);
  put_scalar<std::uint32_t>(out, r.height);
  put_scalar<std::uint8_t>(out, static_cast<std::uint8_t>(r.format));
  put_scalar<std::int64_t>(out, r.added_ms);
  put_scalar<std::uint64_t>(out, r.metadata.size());
  for (const auto& [k, v] : r.metadata) {
    put_string(out, k);
    put_value(out, v);
  }
  put_scalar<std::uint64_t>(out, r.tags.size());
  for (const auto& t : r.tags) put_string(out, t);
  // Format 2.1: photo facts. Later minor versions append after this.
  const PhotoFacts& f = r.photo;
  put_scalar<std::uint8_t>(out, static_cast<std::uint8_t>(f.taken_source));
  put_scalar<std::int64_t>(out, f.taken_ms.value_or(0));
  put_scalar<std::uint8_t>(out, f.taken_offset_min ? 1 : 0);
  put_scalar<std::int16_t>(out, f.taken_offset_min.value_or(0));
  put_string(out, f.camera_make);
  put_string(out, f.camera_model);
  put_string(out, f.lens);
  put_scalar<std::uint8_t>(out, f.latitude && f.longitude ? 1 : 0);
  put_scalar<double>(out, f.latitude.value_or(0));
  put_scalar<double>(out, f.longitude.value_or(0));
  // Format 2.2: image analysis.
  const ImageAnalysis& a = r.analysis;
  put_scalar<std::uint8_t>(out, static_cast<std::uint8_t>(a.colours.size()));
  for (const DominantColour& c : a.colours) {
    put_scalar<std::uint8_t>(out, c.rgb.r);
    put_scalar<std::uint8_t>(out, c.rgb.g);
    put_scalar<std::uint8_t>(out, c.rgb.b);
    put_scalar<float>(out, c.share);
    put_scalar<std::uint8_t>(out, static_cast<std::uint8_t>(c.name));
  }
  for (const float v : {a.brightness, a.saturation, a.colourfulness, a.warmth}) put_scalar<float>(out, v);
  put_scalar<std::uint8_t>(out, static_cast<std::uint8_t>(a.tone));
  // Format 2.3: labels.
  put_scalar<std::uint32_t>(out, static_cast<std::uint32_t>(r.labels.size()));
  for (const Label& l : r.labels) {
    put_string(out, l.name);
    put_scalar<float>(out, l.score);
  }
  // Format 2.5: the precision that embedded it (empty: float32).
  put_string(out, r.precision);
  const std::uint64_t length = out.size() - frame - sizeof(std::uint64_t);
  std::memcpy(&out[frame], &length, sizeof length);
}

void RecordReader::fail(const std::string& what) const {
  throw Error(ErrorCode::corrupt_file,
              path_ + ": " + what + " (at byte " + std::to_string(at_) + " of the records)");
}

void RecordReader::need(std::uint64_t n) const {
  if (n > remaining()) fail("truncated record: needs " + std::to_string(n) + " more bytes");
}

std::uint8_t RecordReader::u8() {
  need(1);
  return static_cast<std::uint8_t>(bytes_[at_++]);
}

std::uint32_t RecordReader::u32() {
  need(4);
  std::uint32_t v;
  std::memcpy(&v, bytes_.data() + at_, 4);
  at_ += 4;
  return v;
}

std::uint64_t RecordReader::u64() {
  need(8);
  std::uint64_t v;
  std::memcpy(&v, bytes_.data() + at_, 8);
  at_ += 8;
  return v;
}

std::string RecordReader::string() {
  const std::uint64_t n = u64();
  need(n);
  std::string s(bytes_.substr(at_, n));
  at_ += n;
  return s;
}

namespace {

// The fields both formats share, in the same order and encoding (format 1's variant index was a
// 32-bit int, its bools a raw byte).
template <typename Reader>
void read_fields(Reader& in, ImageRecord& r, bool wide_tags) {
  r.id = in.u64();
  r.source = in.string();
  r.content_hash = in.u64();
  r.file_size = in.u64();
  r.mtime_ns = static_cast<std::int64_t>(in.u64());
  r.width = in.u32();
  r.height = in.u32();
  const std::uint8_t format = in.u8();
  if (format > static_cast<std::uint8_t>(ImageFormat::avif))
    in.fail("unknown image format " + std::to_string(format));
  r.format = static_cast<ImageFormat>(format);
  r.added_ms = static_cast<std::int64_t>(in.u64());
  const std::uint64_t entries = in.u64();
  // Each entry takes at least 9 bytes (an empty key and a tag), so the count is bounded by the
  // bytes left before anything is allocated.
  if (entries > in.remaining() / 9)
    in.fail("a record claims " + std::to_string(entries) + " metadata entries");
  for (std::uint64_t e = 0; e < entries; ++e) {
    std::string key = in.string();
    const std::uint32_t tag = wide_tags ? in.u32() : in.u8();
    MetadataValue value;
    switch (static_cast<ValueTag>(tag)) {
      case ValueTag::string:
        value = in.string();
        break;
      case ValueTag::int64:
        value = static_cast<std::int64_t>(in.u64());
        break;
      case ValueTag::float64: {
        const std::uint64_t bits = in.u64();
        double d;
        std::memcpy(&d, &bits, sizeof d);
        value = d;
        break;
      }
      case ValueTag::boolean: {
        const std::uint8_t b = in.u8();
        if (b > 1) in.fail("metadata \"" + key + "\" holds a bool of value " + std::to_string(b));
        value = b == 1;
        break;
      }
      case ValueTag::string_list: {
        const std::uint64_t n = in.u64();
        if (n > in.remaining() / 8)
          in.fail("a metadata list claims " + std::to_string(n) + " strings");
        std::vector<std::string> list;
        list.reserve(n);
        for (std::uint64_t i = 0; i < n; ++i) list.push_back(in.string());
        value = std::move(list);
        break;
      }
      default:
        in.fail("metadata \"" + key + "\" has unknown value type " + std::to_string(tag));
    }
    if (!r.metadata.emplace(std::move(key), std::move(value)).second)
      in.fail("a metadata key appears twice");
  }
  const std::uint64_t tags = in.u64();
  if (tags > in.remaining() / 8) in.fail("a record claims " + std::to_string(tags) + " tags");
  r.tags.reserve(tags);
  for (std::uint64_t i = 0; i < tags; ++i) r.tags.push_back(in.string());
}

}  // namespace

ImageRecord RecordReader::framed_record() {
  const std::uint64_t length = u64();
  need(length);
  RecordReader body(bytes_.substr(at_, length), path_);
  body.at_ = 0;
  ImageRecord r;
  read_fields(body, r, /*wide_tags=*/false);
  if (body.remaining() > 0) body.photo_facts(r.photo);  // format 2.1
  if (body.remaining() > 0) body.analysis(r.analysis);   // format 2.2
  if (body.remaining() > 0) body.labels(r.labels);       // format 2.3
  if (body.remaining() > 0) r.precision = body.string();  // format 2.5
  // Whatever follows belongs to fields of a newer minor version: skipped. A field this build
  // adds later is read only `if (body.remaining() > 0)` and defaulted otherwise.
  at_ += length;
  return r;
}

void RecordReader::photo_facts(PhotoFacts& f) {
  const std::uint8_t source = u8();
  if (source > static_cast<std::uint8_t>(TakenSource::file_name)) fail("unknown date source " + std::to_string(source));
  f.taken_source = static_cast<TakenSource>(source);
  const auto taken = static_cast<std::int64_t>(u64());
  if (f.taken_source != TakenSource::none) f.taken_ms = taken;
  const std::uint8_t has_offset = u8();
  need(2);
  std::int16_t offset;
  std::memcpy(&offset, bytes_.data() + at_, 2);
  at_ += 2;
  if (has_offset > 1 || offset < -18 * 60 || offset > 18 * 60) fail("a malformed UTC offset");
  if (has_offset) f.taken_offset_min = offset;
  // Databases before 0.2 dated photos without EXIF by their file time, which says when a file
  // was copied, not when the photo was taken: such a date is dropped as the record is read.
  if (f.taken_source == TakenSource::file_time) {
    f.taken_ms.reset();
    f.taken_offset_min.reset();
    f.taken_source = TakenSource::none;
  }
  f.camera_make = string();
  f.camera_model = string();
  f.lens = string();
  const std::uint8_t has_gps = u8();
  const std::uint64_t lat_bits = u64(), lon_bits = u64();
  double lat, lon;
  std::memcpy(&lat, &lat_bits, sizeof lat);
  std::memcpy(&lon, &lon_bits, sizeof lon);
  if (has_gps > 1 || !(std::abs(lat) <= 90) || !(std::abs(lon) <= 180)) fail("a malformed GPS position");
  if (has_gps) {
    f.latitude = lat;
    f.longitude = lon;
  }
}

void RecordReader::analysis(ImageAnalysis& a) {
  auto real = [&](float lo, float hi, const char* what) {
    const std::uint32_t bits = u32();
    float v;
    std::memcpy(&v, &bits, sizeof v);
    if (!(v >= lo && v <= hi)) fail(std::string("an image analysis ") + what + " out of range");
    return v;
  };
  const std::uint8_t colours = u8();
  if (colours > 5) fail("an image analysis with " + std::to_string(colours) + " colours");
  for (std::uint8_t i = 0; i < colours; ++i) {
    DominantColour c;
    c.rgb.r = u8();
    c.rgb.g = u8();
    c.rgb.b = u8();
    c.share = real(0, 1, "share");
    const std::uint8_t name = u8();
    if (name > static_cast<std::uint8_t>(ColourName::brown)) fail("an unknown colour name " + std::to_string(name));
    c.name = static_cast<ColourName>(name);
    a.colours.push_back(c);
  }
  a.brightness = real(0, 1, "brightness");
  a.saturation = real(0, 1, "saturation");
  a.colourfulness = real(0, 10, "colourfulness");
  a.warmth = real(-200, 200, "warmth");
  const std::uint8_t tone = u8();
  if (tone > static_cast<std::uint8_t>(Tone::cool)) fail("an unknown tone " + std::to_string(tone));
  a.tone = static_cast<Tone>(tone);
}

void RecordReader::labels(std::vector<Label>& labels) {
  const std::uint32_t count = u32();
  if (count > 1000 || count > remaining() / 12) fail("a record claims " + std::to_string(count) + " labels");
  for (std::uint32_t i = 0; i < count; ++i) {
    Label l;
    l.name = string();
    const std::uint32_t bits = u32();
    std::memcpy(&l.score, &bits, sizeof l.score);
    if (!(l.score >= 0 && l.score <= 1)) fail("label \"" + l.name + "\" has a score out of 0..1");
    labels.push_back(std::move(l));
  }
}

ImageRecord RecordReader::legacy_record() {
  ImageRecord r;
  read_fields(*this, r, /*wide_tags=*/true);
  return r;
}

}  // namespace imgvec::detail
