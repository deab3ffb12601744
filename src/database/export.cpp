#include <cstdio>
#include <cmath>
#include <cstring>

#include "database/database_impl.hpp"
#include "io/binary_io.hpp"

namespace imgvec {
namespace {

void json_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void json_value(std::string& out, const MetadataValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return json_string(out, *s);
  if (const auto* i = std::get_if<std::int64_t>(&v)) {
    out += std::to_string(*i);
    return;
  }
  if (const auto* d = std::get_if<double>(&v)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", *d);
    out += std::isfinite(*d) ? buf : "null";  // JSON has no NaN or infinity
    return;
  }
  if (const auto* b = std::get_if<bool>(&v)) {
    out += *b ? "true" : "false";
    return;
  }
  const auto& list = std::get<std::vector<std::string>>(v);
  out += '[';
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (i) out += ',';
    json_string(out, list[i]);
  }
  out += ']';
}

std::string record_json(const ImageRecord& r) {
  std::string o = "{\"id\":" + std::to_string(r.id) + ",\"source\":";
  json_string(o, r.source);
  o += ",\"content_hash\":\"" + detail::to_hex(r.content_hash) + "\",\"file_size\":" + std::to_string(r.file_size) +
       ",\"mtime_ns\":" + std::to_string(r.mtime_ns) + ",\"width\":" + std::to_string(r.width) +
       ",\"height\":" + std::to_string(r.height) + ",\"format\":\"" + to_string(r.format) +
       "\",\"added_ms\":" + std::to_string(r.added_ms) + ",\"metadata\":{";
  bool first = true;
  for (const auto& [k, v] : r.metadata) {
    if (!first) o += ',';
    first = false;
    json_string(o, k);
    o += ':';
    json_value(o, v);
  }
  o += "},\"tags\":[";
  for (std::size_t i = 0; i < r.tags.size(); ++i) {
    if (i) o += ',';
    json_string(o, r.tags[i]);
  }
  return o + "]}";
}

// NumPy's format 1.0: magic, version, a little-endian header length, a Python dict literal padded
// with spaces to a multiple of 64 bytes and ending in a newline, then the raw data.
void npy_header(detail::AtomicFileWriter& out, const char* descr, const std::string& shape) {
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

}  // namespace

void VectorDatabase::export_metadata(const std::string& path, ExportFormat format) const {
  Impl::Shared guard(impl_->lock);
  detail::AtomicFileWriter out(path);
  std::string chunk = format == ExportFormat::json ? "[\n" : "";
  bool first = true;
  impl_->store.for_each([&](const ImageRecord& r) {
    if (format == ExportFormat::json && !first) chunk += ",\n";
    first = false;
    chunk += record_json(r);
    if (format == ExportFormat::jsonl) chunk += '\n';
    if (chunk.size() > (1 << 20)) {
      out.write(chunk.data(), chunk.size());
      chunk.clear();
    }
  });
  if (format == ExportFormat::json) chunk += "\n]\n";
  out.write(chunk.data(), chunk.size());
  out.commit();
}

void VectorDatabase::export_vectors(const std::string& vectors_npy, const std::string& ids_npy) const {
  Impl::Shared guard(impl_->lock);
  const std::vector<Id> ids = impl_->store.ids();
  const std::size_t d = impl_->index->dimension();
  {
    detail::AtomicFileWriter out(vectors_npy);
    npy_header(out, "<f4", "(" + std::to_string(ids.size()) + ", " + std::to_string(d) + ")");
    for (Id id : ids) {
      const auto v = impl_->index->get_vector(id);
      out.write(v.data(), v.size() * sizeof(float));
    }
    out.commit();
  }
  detail::AtomicFileWriter out(ids_npy);
  npy_header(out, "<u8", "(" + std::to_string(ids.size()) + ",)");
  out.write(ids.data(), ids.size() * sizeof(Id));
  out.commit();
}

}  // namespace imgvec
