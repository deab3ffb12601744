// Exports for the vector databases a collection moves to when it outgrows one machine: Qdrant,
// Milvus and PostgreSQL + pgvector (docs/scale-out.md). One folder per export, written whole or
// not at all.
#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <random>
#include <system_error>

#include <nlohmann/json.hpp>

#include "database/collection_name.hpp"
#include "database/database_impl.hpp"
#include "wire/wire.hpp"
#include "imgvec/index/hnsw_index.hpp"
#include "imgvec/path_text.hpp"
#include "io/binary_io.hpp"

namespace imgvec {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::size_t kChunk = 256;  // records read under the lock and written at a time

// "[0.0123,-0.5,...]": the shortest digits that read back as the same float32 (std::to_chars),
// so a vector survives the trip through text bit for bit.
void append_vector(std::string& out, const std::vector<float>& v) {
  out += '[';
  char buf[32];
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v[i]);
    out.append(buf, end);
  }
  out += ']';
}

// COPY's text format: a backslash, a tab, a newline or a carriage return in a value is escaped.
std::string copy_text(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
  return out;
}

// jsonb refuses the escape \u0000 (PostgreSQL text holds no NUL); it is kept as the text "\u0000".
std::string jsonb_safe(std::string json_text) {
  for (std::size_t at = json_text.find("\\u0000"); at != std::string::npos; at = json_text.find("\\u0000", at + 7)) {
    json_text.insert(at, "\\");
  }
  return json_text;
}

void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) throw Error(ErrorCode::io, dir.string() + ": cannot open the folder to flush it");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw Error(ErrorCode::io, dir.string() + ": cannot flush the folder");
}

// The files of one export, in a temporary folder until commit() renames it into place.
class ExportFolder {
 public:
  explicit ExportFolder(const std::string& directory) : final_(fs::path(directory).lexically_normal()) {
    if (final_.filename().empty()) final_ = final_.parent_path();
    std::error_code ec;
    if (fs::exists(final_, ec) || fs::is_symlink(final_, ec))
      throw Error(ErrorCode::invalid_argument,
                  final_.string() + ": already exists; an export is written into a new folder, never over files");
    const fs::path parent = final_.has_parent_path() ? final_.parent_path() : fs::path(".");
    if (!fs::is_directory(parent, ec)) throw Error(ErrorCode::not_found, parent.string() + ": no such folder");
    std::random_device rd;
    tmp_ = parent / ("." + final_.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    if (!fs::create_directory(tmp_, ec)) throw Error(ErrorCode::io, tmp_.string() + ": cannot create (" + ec.message() + ")");
  }
  ~ExportFolder() {
    if (!committed_) {
      std::error_code ec;
      fs::remove_all(tmp_, ec);
    }
  }
  ExportFolder(const ExportFolder&) = delete;
  ExportFolder& operator=(const ExportFolder&) = delete;

  std::unique_ptr<detail::AtomicFileWriter> file(const std::string& name) {
    names_.push_back(name);
    return std::make_unique<detail::AtomicFileWriter>((tmp_ / name).string());
  }
  void write_file(const std::string& name, const std::string& bytes) {
    auto f = file(name);
    f->write(bytes.data(), bytes.size());
    f->commit();
  }
  std::vector<std::string> commit() {
    std::error_code ec;
    fs::rename(tmp_, final_, ec);  // fails rather than replace a folder made meanwhile
    if (ec) throw Error(ErrorCode::io, final_.string() + ": cannot move the export into place (" + ec.message() + ")");
    committed_ = true;
    sync_directory(final_.has_parent_path() ? final_.parent_path() : fs::path("."));
    return names_;
  }

 private:
  fs::path final_, tmp_;
  std::vector<std::string> names_;
  bool committed_ = false;
};

std::string numbered(const char* stem, std::size_t n, const char* ext) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s-%05zu.%s", stem, n, ext);
  return buf;
}

}  // namespace

void detail::check_collection_name(const std::string& name, const std::string& what) {
  const bool ok = !name.empty() && name.size() <= 63 && !std::isdigit(static_cast<unsigned char>(name[0])) &&
                  name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") ==
                      std::string::npos;
  if (!ok)
    throw Error(ErrorCode::invalid_argument, what + ": collection name \"" + name.substr(0, 80) +
                                                 "\" must be 1-63 letters, digits or _, not starting with a digit");
}

const char* to_string(ExternalFormat format) {
  switch (format) {
    case ExternalFormat::qdrant: return "qdrant";
    case ExternalFormat::milvus: return "milvus";
    case ExternalFormat::pgvector: return "pgvector";
  }
  return "?";
}

bool is_external_format(const std::string& text) {
  for (const ExternalFormat f : {ExternalFormat::qdrant, ExternalFormat::milvus, ExternalFormat::pgvector}) {
    if (text == to_string(f)) return true;
  }
  return false;
}

ExternalFormat parse_external_format(const std::string& text) {
  for (const ExternalFormat f : {ExternalFormat::qdrant, ExternalFormat::milvus, ExternalFormat::pgvector}) {
    if (text == to_string(f)) return f;
  }
  throw Error(ErrorCode::invalid_argument, "format \"" + text + "\": expected qdrant, milvus or pgvector");
}

ExternalExportReport VectorDatabase::export_external(const std::string& directory,
                                                     const ExternalExportOptions& options) const {
  detail::check_collection_name(options.collection, "export");
  if (options.points_per_file == 0) throw Error(ErrorCode::invalid_argument, "export: points_per_file must be >= 1");
  if (options.max_file_bytes < 4096) throw Error(ErrorCode::invalid_argument, "export: max_file_bytes must be >= 4096");
  // One snapshot: writers wait until the export is written.
  Impl::Shared guard(impl_->lock);
  const Index& index = *impl_->index;
  const std::size_t d = index.dimension();
  HnswParams hnsw;  // the database's graph parameters, or the defaults for a flat one
  if (const auto* h = dynamic_cast<const HnswIndex*>(&index)) hnsw = h->params();
  const std::vector<Id> ids = impl_->store.ids();
  ExportFolder folder(directory);
  ExternalExportReport report;
  const std::string name = options.collection;

  // Records and vectors a chunk at a time; `emit` gets each as (id, vector, record JSON text, the
  // source as that JSON writes it).
  auto for_each = [&](const std::function<void(Id, const std::vector<float>&, const std::string&, const std::string&)>& emit) {
    for (std::size_t first = 0; first < ids.size(); first += kChunk) {
      for (std::size_t i = first; i < std::min(ids.size(), first + kChunk); ++i) {
        const ImageRecord* r = impl_->store.get(ids[i]);
        emit(ids[i], index.get_vector(ids[i]), record_to_json(*r), escape_path(r->source));
      }
    }
  };

  std::string buf;
  if (options.format == ExternalFormat::qdrant) {
    folder.write_file("collection.json",
                      json{{"vectors", {{"size", d}, {"distance", "Cosine"}}},
                           {"hnsw_config", {{"m", hnsw.M}, {"ef_construct", hnsw.ef_construction}}}}
                              .dump(1) + "\n");
    std::unique_ptr<detail::AtomicFileWriter> out;
    std::size_t in_file = 0, files = 0;
    auto close = [&] {
      if (!out) return;
      buf += "\n]}\n";
      out->write(buf.data(), buf.size());
      buf.clear();
      out->commit();
      out.reset();
    };
    for_each([&](Id id, const std::vector<float>& v, const std::string& record, const std::string&) {
      if (!out) {
        out = folder.file(numbered("points", files++, "json"));
        buf = "{\"points\": [\n";
        in_file = 0;
      }
      if (in_file++) buf += ",\n";
      buf += "{\"id\": " + std::to_string(id) + ", \"vector\": ";
      append_vector(buf, v);
      buf += ", \"payload\": " + record + "}";
      if (buf.size() > (1u << 20)) {
        out->write(buf.data(), buf.size());
        buf.clear();
      }
      if (in_file == options.points_per_file) close();
    });
    close();
  } else if (options.format == ExternalFormat::milvus) {
    const json schema = {
        {"collection_name", name},
        {"fields",
         json::array({{{"name", "id"}, {"data_type", "Int64"}, {"is_primary", true}, {"auto_id", false}},
                      {{"name", "vector"}, {"data_type", "FloatVector"}, {"dim", d}},
                      {{"name", "source"}, {"data_type", "VarChar"}, {"max_length", 65535}},
                      {{"name", "record"}, {"data_type", "JSON"}}})},
        {"index",
         {{"field_name", "vector"},
          {"index_type", "HNSW"},
          {"metric_type", "COSINE"},
          {"params", {{"M", hnsw.M}, {"efConstruction", hnsw.ef_construction}}}}}};
    folder.write_file("schema.json", schema.dump(1) + "\n");
    std::unique_ptr<detail::AtomicFileWriter> out;
    std::size_t files = 0, rows = 0;
    auto close = [&] {
      if (!out) return;
      out->write("\n]\n", 3);
      out->commit();
      out.reset();
    };
    for_each([&](Id id, const std::vector<float>& v, const std::string& record, const std::string& source) {
      if (id > static_cast<Id>(INT64_MAX))
        throw Error(ErrorCode::invalid_argument, "export: id " + std::to_string(id) + " does not fit Milvus's Int64");
      buf = "{\"id\": " + std::to_string(id) + ", \"vector\": ";
      append_vector(buf, v);
      buf += ", \"source\": " + json(source).dump() + ", \"record\": " + record + "}";
      if (buf.size() + 4 > options.max_file_bytes)
        throw Error(ErrorCode::invalid_argument, "export: image " + std::to_string(id) + " takes " +
                                                     std::to_string(buf.size()) + " bytes as a Milvus row, more than "
                                                     "max_file_bytes (" + std::to_string(options.max_file_bytes) + ")");
      if (out && out->bytes_written() + buf.size() + 4 > options.max_file_bytes) close();
      if (!out) {
        out = folder.file(numbered("rows", files++, "json"));
        out->write("[\n", 2);
        rows = 0;
      }
      if (rows++) out->write(",\n", 2);
      out->write(buf.data(), buf.size());
    });
    close();
  } else {
    const std::string tsv = name + ".tsv";
    auto out = folder.file(tsv);
    for_each([&](Id id, const std::vector<float>& v, const std::string& record, const std::string& source) {
      buf = std::to_string(id) + "\t";
      append_vector(buf, v);
      buf += "\t" + copy_text(source);
      buf += "\t" + copy_text(jsonb_safe(record)) + "\n";
      out->write(buf.data(), buf.size());
    });
    out->commit();
    char sql[2048];
    std::snprintf(sql, sizeof sql,
                  "-- Made by imgvec export --format pgvector: %zu images, %zu-d vectors, cosine similarity.\n"
                  "-- Run from this folder: psql -d DATABASE -f load.sql\n"
                  "CREATE EXTENSION IF NOT EXISTS vector;\n"
                  "CREATE TABLE %s (id bigint PRIMARY KEY, embedding vector(%zu) NOT NULL, source text, record jsonb NOT NULL);\n"
                  "\\copy %s (id, embedding, source, record) FROM '%s' WITH (FORMAT text)\n"
                  "CREATE INDEX ON %s USING hnsw (embedding vector_cosine_ops) WITH (m = %zu, ef_construction = %zu);\n"
                  "ANALYZE %s;\n",
                  ids.size(), d, name.c_str(), d, name.c_str(), tsv.c_str(), name.c_str(), hnsw.M,
                  hnsw.ef_construction, name.c_str());
    folder.write_file("load.sql", sql);
  }
  const EncoderFingerprint& f = impl_->encoder.fingerprint();
  folder.write_file("imgvec-export.json",
                    json{{"format", to_string(options.format)},
                         {"collection", name},
                         {"images", ids.size()},
                         {"dimension", d},
                         {"metric", "cosine"},
                         {"encoder", wire::to_json(f)},
                         {"hnsw", {{"M", hnsw.M}, {"ef_construction", hnsw.ef_construction}}}}
                            .dump(1) + "\n");
  report.images = ids.size();
  report.files = folder.commit();
  return report;
}

}  // namespace imgvec
