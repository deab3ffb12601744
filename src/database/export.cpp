#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ostream>

#include <nlohmann/json.hpp>

#include "database/database_impl.hpp"
#include "imgvec/path_text.hpp"
#include "io/binary_io.hpp"
#include "wire/wire.hpp"

namespace imgvec {
namespace {

using nlohmann::json;

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
  std::vector<std::string> columns;
  if (format == ExportFormat::csv) {
    columns = wire::csv_columns(store.metadata_keys());
    chunk = wire::csv_line(columns);
  }
  bool first = true;
  store.for_each([&](const ImageRecord& r) {
    if (format == ExportFormat::json && !first) chunk += ",\n";
    first = false;
    if (format == ExportFormat::csv) {
      chunk += wire::to_csv_line(wire::to_json(r), columns);
    } else {
      chunk += wire::to_json(r).dump();
    }
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
