#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ostream>

#include <nlohmann/json.hpp>

#include "database/database_impl.hpp"
#include "imgvec/path_text.hpp"
#include "io/binary_io.hpp"

namespace imgvec {
namespace {

using nlohmann::json;

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

// Where exported bytes go: an atomic file, or a stream.
class Sink {
 public:
  explicit Sink(detail::AtomicFileWriter& file) : file_(&file) {}
  Sink(std::ostream& out, std::string what) : out_(&out), what_(std::move(what)) {}
  void write(const void* data, std::size_t n) {
    if (file_) return file_->write(data, n);
    out_->write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
    if (!*out_) throw Error(ErrorCode::io, what_ + ": write failed");
  }
  void finish() {
    if (file_) return file_->commit();
    out_->flush();
    if (!*out_) throw Error(ErrorCode::io, what_ + ": write failed");
  }

 private:
  detail::AtomicFileWriter* file_ = nullptr;
  std::ostream* out_ = nullptr;
  std::string what_;
};

// NumPy's format 1.0: magic, version, a little-endian header length, a Python dict literal padded
// with spaces to a multiple of 64 bytes and ending in a newline, then the raw data.
void npy_header(Sink& out, const char* descr, const std::string& shape) {
  std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const std::size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  const auto len = static_cast<std::uint16_t>(dict.size());
  const unsigned char prefix[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                    static_cast<unsigned char>(len & 0xFF), static_cast<unsigned char>(len >> 8)};
  out.write(prefix, sizeof prefix);
  out.write(dict.data(), dict.size());
}

void write_records(const MetadataStore& store, ExportFormat format, Sink& out) {
  std::string chunk = format == ExportFormat::json ? "[\n" : "";
  bool first = true;
  store.for_each([&](const ImageRecord& r) {
    if (format == ExportFormat::json && !first) chunk += ",\n";
    first = false;
    chunk += record_to_json(r);
    if (format == ExportFormat::jsonl) chunk += '\n';
    if (chunk.size() > (1 << 20)) {
      out.write(chunk.data(), chunk.size());
      chunk.clear();
    }
  });
  if (format == ExportFormat::json) chunk += "\n]\n";
  out.write(chunk.data(), chunk.size());
  out.finish();
}

void write_vectors(const Index& index, const std::vector<Id>& ids, Sink& vectors, Sink& id_out) {
  npy_header(vectors, "<f4", "(" + std::to_string(ids.size()) + ", " + std::to_string(index.dimension()) + ")");
  for (Id id : ids) {
    const auto v = index.get_vector(id);
    vectors.write(v.data(), v.size() * sizeof(float));
  }
  vectors.finish();
  npy_header(id_out, "<u8", "(" + std::to_string(ids.size()) + ",)");
  id_out.write(ids.data(), ids.size() * sizeof(Id));
  id_out.finish();
}

}  // namespace

std::string record_to_json(const ImageRecord& r) {
  json meta = json::object();
  for (const auto& [k, v] : r.metadata) meta[escape_path(k)] = value_json(v);
  json tags = json::array();
  for (const auto& t : r.tags) tags.push_back(text(t));
  json o = {{"id", r.id},
            {"source", text(r.source)},
            {"content_hash", detail::to_hex(r.content_hash)},
            {"file_size", r.file_size},
            {"mtime_ns", r.mtime_ns},
            {"width", r.width},
            {"height", r.height},
            {"format", to_string(r.format)},
            {"added_ms", r.added_ms},
            {"metadata", std::move(meta)},
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
  if (!is_valid_utf8(r.source)) o["source_escaped"] = true;
  return o.dump();
}

void VectorDatabase::export_metadata(const std::string& path, ExportFormat format) const {
  Impl::Shared guard(impl_->lock);
  detail::AtomicFileWriter file(path);
  Sink out(file);
  write_records(impl_->store, format, out);
}

void VectorDatabase::export_metadata(std::ostream& stream, ExportFormat format) const {
  Impl::Shared guard(impl_->lock);
  Sink out(stream, "export_metadata");
  write_records(impl_->store, format, out);
}

void VectorDatabase::export_vectors(const std::string& vectors_npy, const std::string& ids_npy) const {
  Impl::Shared guard(impl_->lock);
  detail::AtomicFileWriter vectors(vectors_npy), ids(ids_npy);
  Sink v(vectors), i(ids);
  write_vectors(*impl_->index, impl_->store.ids(), v, i);
}

void VectorDatabase::export_vectors(std::ostream& vectors_npy, std::ostream& ids_npy) const {
  Impl::Shared guard(impl_->lock);
  Sink v(vectors_npy, "export_vectors"), i(ids_npy, "export_vectors (ids)");
  write_vectors(*impl_->index, impl_->store.ids(), v, i);
}

}  // namespace imgvec
