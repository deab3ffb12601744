// Exports read back into a database: Qdrant, Milvus and pgvector folders (export_external), and
// the .npy + JSON lines pair (export_vectors, export_metadata).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "database/collection_name.hpp"
#include "database/database_impl.hpp"
#include "database/write_transaction.hpp"
#include "wire/wire.hpp"
#include "imgvec/detail/json_nesting.hpp"

namespace imgvec {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::size_t kBatch = 256;

struct Pending {
  ImageRecord record;
  std::vector<float> vector;
};

json read_json_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::not_found, path.string() + ": cannot be read");
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  detail::check_json_nesting(text, path.string(), ErrorCode::corrupt_file);
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw Error(ErrorCode::corrupt_file, path.string() + ": not valid JSON");
  return j;
}

std::vector<float> vector_from_json(const json& v, const std::string& what) {
  if (!v.is_array()) throw Error(ErrorCode::corrupt_file, what + ": the vector is not a list of numbers");
  std::vector<float> out;
  out.reserve(v.size());
  for (const json& x : v) {
    if (!x.is_number()) throw Error(ErrorCode::corrupt_file, what + ": the vector holds something other than numbers");
    out.push_back(static_cast<float>(x.get<double>()));
  }
  return out;
}

// "[1,2.5,-3e-05]" (pgvector's literal): strtof per value, so the shortest digits give back the bits.
std::vector<float> vector_from_literal(const std::string& text, const std::string& what) {
  if (text.size() < 2 || text.front() != '[' || text.back() != ']')
    throw Error(ErrorCode::corrupt_file, what + ": the vector is not a [..] literal");
  std::vector<float> out;
  const char* p = text.c_str() + 1;
  const char* end = text.c_str() + text.size() - 1;
  while (p < end) {
    char* next = nullptr;
    out.push_back(std::strtof(p, &next));
    if (next == p || (next < end && *next != ',')) throw Error(ErrorCode::corrupt_file, what + ": a bad number in the vector");
    p = next + (next < end ? 1 : 0);
  }
  return out;
}

// One row of COPY's text format: columns split at tabs, \\ \t \n \r and \N undone.
std::vector<std::string> copy_columns(const std::string& line, bool& null_source) {
  std::vector<std::string> cols(1);
  null_source = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '\t') {
      cols.emplace_back();
    } else if (c == '\\' && i + 1 < line.size()) {
      const char e = line[++i];
      if (e == 'N' && cols.size() == 3) null_source = true;
      cols.back() += e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e == 'N' ? '\0' : e;
    } else {
      cols.back() += c;
    }
  }
  return cols;
}

// A .npy file's header (format 1.0 or 2.0): its dtype and shape; the stream is left at the data.
struct NpyHeader {
  std::string descr;
  std::vector<std::size_t> shape;
};

NpyHeader read_npy_header(std::ifstream& in, const std::string& path) {
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    throw Error(ErrorCode::corrupt_file, path + ": not a .npy file");
  std::uint32_t len = 0;
  if (magic[6] == 1) {
    unsigned char b[2];
    if (!in.read(reinterpret_cast<char*>(b), 2)) throw Error(ErrorCode::corrupt_file, path + ": truncated header");
    len = b[0] | (b[1] << 8);
  } else if (magic[6] == 2 || magic[6] == 3) {
    unsigned char b[4];
    if (!in.read(reinterpret_cast<char*>(b), 4)) throw Error(ErrorCode::corrupt_file, path + ": truncated header");
    len = b[0] | (b[1] << 8) | (b[2] << 16) | (std::uint32_t{b[3]} << 24);
  } else {
    throw Error(ErrorCode::unsupported, path + ": .npy format version " + std::to_string(magic[6]));
  }
  if (len > (1u << 16)) throw Error(ErrorCode::corrupt_file, path + ": a header of " + std::to_string(len) + " bytes");
  std::string dict(len, '\0');
  if (!in.read(dict.data(), len)) throw Error(ErrorCode::corrupt_file, path + ": truncated header");
  NpyHeader h;
  auto value_of = [&](const char* key) -> std::string {
    const auto at = dict.find(std::string("'") + key + "'");
    if (at == std::string::npos) throw Error(ErrorCode::corrupt_file, path + ": the header has no " + key);
    const auto colon = dict.find(':', at);
    return colon == std::string::npos ? "" : dict.substr(colon + 1);
  };
  const std::string descr = value_of("descr");
  const auto q1 = descr.find('\''), q2 = descr.find('\'', q1 + 1);
  if (q1 == std::string::npos || q2 == std::string::npos) throw Error(ErrorCode::corrupt_file, path + ": a bad descr");
  h.descr = descr.substr(q1 + 1, q2 - q1 - 1);
  const std::string order = value_of("fortran_order");
  if (order.compare(order.find_first_not_of(' ') == std::string::npos ? 0 : order.find_first_not_of(' '), 5, "False") != 0)
    throw Error(ErrorCode::unsupported, path + ": Fortran-ordered arrays are not read");
  const std::string shape = value_of("shape");
  const auto open = shape.find('('), close = shape.find(')');
  if (open == std::string::npos || close == std::string::npos) throw Error(ErrorCode::corrupt_file, path + ": a bad shape");
  for (std::size_t p = open + 1; p < close;) {
    while (p < close && (shape[p] == ' ' || shape[p] == ',')) ++p;
    if (p >= close) break;
    char* end = nullptr;
    h.shape.push_back(std::strtoull(shape.c_str() + p, &end, 10));
    if (end == shape.c_str() + p) throw Error(ErrorCode::corrupt_file, path + ": a bad shape");
    p = static_cast<std::size_t>(end - shape.c_str());
  }
  return h;
}

}  // namespace

// One import, all or nothing: the ids it stored, so that a failure part way (a damaged row, an
// id seen twice, a full disk) removes them again and leaves the database as it was. Without it a
// failed import left the rows before the failure, which the next save kept.
struct ImportTransaction {
  explicit ImportTransaction(VectorDatabase::Impl& db) : impl(db) {
    std::lock_guard<detail::RwLock> guard(impl.lock);
    next_id = impl.manifest.next_id;
  }
  ImportTransaction(const ImportTransaction&) = delete;
  ImportTransaction& operator=(const ImportTransaction&) = delete;
  ~ImportTransaction() {
    if (!committed) rollback();
  }

  void rollback() noexcept {
    std::uint64_t logged = 0;
    {
      detail::WriteTransaction tx(impl);
      for (auto it = stored.rbegin(); it != stored.rend(); ++it) {
        try {
          tx.remove(*it);
        } catch (const Error&) {
          // The log refuses appends after a failed sync until the next save, which then writes
          // the state restored here: removed all the same.
          impl.store.remove(*it);
          impl.index->remove(*it);
        }
      }
      impl.manifest.next_id = next_id;
      logged = tx.commit_unsynced();
    }
    try {
      impl.sync_log(logged);
    } catch (const Error&) {
    }
  }

  VectorDatabase::Impl& impl;
  Id next_id = 1;
  std::vector<Id> stored;
  std::unordered_set<Id> seen;  // the export's ids, each allowed once
  bool committed = false;
  fs::path source_root;  // absolute and normal; empty: no source is kept
};

// Whether `source` names a file inside `root` (both absolute once normalized; ".." resolved
// lexically first, so "/photos/../etc/passwd" is not under /photos).
static bool lies_under(const std::string& source, const fs::path& root) {
  if (root.empty()) return false;
  const fs::path p = fs::path(source).lexically_normal();
  if (!p.is_absolute()) return false;
  auto a = root.begin(), b = p.begin();
  for (; a != root.end(); ++a, ++b) {
    if (a->empty()) continue;  // the trailing "" of a root written with a final "/"
    if (b == p.end() || *a != *b) return false;
  }
  return b != p.end();
}

static fs::path source_root_of(const ImportOptions& options) {
  if (options.source_root.empty()) return {};
  std::error_code ec;
  if (!fs::is_directory(options.source_root, ec))
    throw Error(ErrorCode::not_found, "import: the source root " + options.source_root + " is not a folder");
  return fs::absolute(options.source_root).lexically_normal();
}

// Stores a batch under the write lock.
static std::size_t store_batch(ImportTransaction& tx, std::vector<Pending>& batch, const ImportOptions& options,
                               std::size_t& skipped) {
  VectorDatabase::Impl& impl = tx.impl;
  std::size_t stored = 0;
  {
    detail::WriteTransaction write(impl);
    const std::size_t d = impl.index->dimension();
    for (const Pending& p : batch) {
      const std::string id = std::to_string(p.record.id);
      if (p.vector.size() != d)
        throw Error(ErrorCode::incompatible, "import: image " + id + " has a " +
                                                 std::to_string(p.vector.size()) + "-d vector; this database holds " +
                                                 std::to_string(d) + "-d vectors; nothing was imported");
      if (!options.new_ids && p.record.id > kMaxId)
        throw Error(ErrorCode::invalid_argument, "import: image id " + id +
                                                     " is larger than any id imgvec gives (2^64-2); nothing was "
                                                     "imported (import with new ids, --new-ids, to renumber)");
      if (!options.new_ids && !tx.seen.insert(p.record.id).second)
        throw Error(ErrorCode::invalid_argument, "import: id " + id +
                                                     " appears twice in the export; nothing was imported (import "
                                                     "with new ids, --new-ids, to number them afresh)");
      if (!options.new_ids && impl.store.get(p.record.id))
        throw Error(ErrorCode::invalid_argument, "import: id " + id +
                                                     " is already in this database; nothing was imported (import "
                                                     "with new ids, --new-ids, to merge)");
    }
    std::vector<ImageRecord> records;
    std::vector<std::vector<float>> vectors;
    std::unordered_set<std::string> sources;  // this batch's, stored together at its end
    for (Pending& p : batch) {
      if (!p.record.source.empty() && !lies_under(p.record.source, tx.source_root)) {
        p.record.metadata.emplace("imported_source", p.record.source);
        p.record.source.clear();
      }
      if (!p.record.source.empty() &&
          (impl.store.find_source(p.record.source) || !sources.insert(p.record.source).second)) {
        ++skipped;
        continue;
      }
      if (options.new_ids) p.record.id = impl.take_id();
      const Id id = p.record.id;
      records.push_back(std::move(p.record));
      vectors.push_back(std::move(p.vector));
      impl.manifest.next_id = std::max(impl.manifest.next_id, id + 1);
      tx.stored.push_back(id);
      ++stored;
    }
    write.put_batch(records, vectors);
    write.commit();
  }
  batch.clear();
  return stored;
}

ImportReport VectorDatabase::import_export(const std::string& directory, const ImportOptions& options) {
  const fs::path dir(directory);
  const json manifest = read_json_file(dir / "imgvec-export.json");
  ImportReport report;
  report.format = manifest.value("format", "");
  const EncoderFingerprint& mine = impl_->encoder.fingerprint();
  const auto e = manifest.find("encoder");
  const EncoderFingerprint theirs =
      wire::fingerprint_from_json(e == manifest.end() ? json() : *e, (dir / "imgvec-export.json").string());
  if (theirs != mine) {
    // Said as what to do: the usual cause is a CLIP export imported without its model.
    auto name = [](const EncoderFingerprint& f) {
      if (f.kind == "clip") return "the CLIP model " + f.model;
      if (f.kind == "descriptor") return std::string("the built-in encoder");
      return "the encoder " + f.kind;
    };
    const std::string fix =
        theirs.kind == "clip"
            ? "import it with that model's bundle (--model BUNDLE, or model= in Python) into a new database or one "
              "made with that model"
            : theirs.kind == "descriptor" ? "import it into a database of the built-in encoder (without --model)"
                                          : "import it into a database of that encoder";
    throw Error(ErrorCode::incompatible, directory + ": exported with " + name(theirs) + ", but this database uses " +
                                             name(mine) + "; " + fix + ". (Exported: " + theirs.to_string() +
                                             "; here: " + mine.to_string() + ")");
  }
  const std::size_t total = manifest.value("images", std::size_t{0});
  std::vector<Pending> batch;
  ImportTransaction tx(*impl_);
  tx.source_root = source_root_of(options);
  auto flush = [&] {
    report.imported += store_batch(tx, batch, options, report.skipped);
    if (options.progress) options.progress(report.imported + report.skipped, total);
  };
  auto add = [&](Pending p) {
    batch.push_back(std::move(p));
    if (batch.size() == kBatch) flush();
  };
  auto files_named = [&](const char* prefix) {
    std::vector<fs::path> out;
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind(prefix, 0) == 0 && name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0)
        out.push_back(entry.path());
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  if (report.format == "qdrant") {
    for (const fs::path& file : files_named("points-")) {
      const json batch_json = read_json_file(file);
      const auto points = batch_json.find("points");
      if (points == batch_json.end() || !points->is_array())
        throw Error(ErrorCode::corrupt_file, file.string() + ": no \"points\" list");
      std::size_t n = 0;
      for (const json& p : *points) {
        const std::string what = file.string() + ": point " + std::to_string(++n);
        if (!p.is_object() || !p.contains("payload") || !p.contains("vector"))
          throw Error(ErrorCode::corrupt_file, what + ": not a point with a vector and a payload");
        add({wire::record_from_json(p["payload"], what), vector_from_json(p["vector"], what)});
      }
    }
  } else if (report.format == "milvus") {
    for (const fs::path& file : files_named("rows-")) {
      const json rows = read_json_file(file);
      if (!rows.is_array()) throw Error(ErrorCode::corrupt_file, file.string() + ": not a list of rows");
      std::size_t n = 0;
      for (const json& row : rows) {
        const std::string what = file.string() + ": row " + std::to_string(++n);
        if (!row.is_object() || !row.contains("record") || !row.contains("vector"))
          throw Error(ErrorCode::corrupt_file, what + ": not a row with a vector and a record");
        add({wire::record_from_json(row["record"], what), vector_from_json(row["vector"], what)});
      }
    }
  } else if (report.format == "pgvector") {
    const std::string collection = manifest.value("collection", "images");
    detail::check_collection_name(collection, (dir / "imgvec-export.json").string());  // joined into a path
    const fs::path file = dir / (collection + ".tsv");
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(ErrorCode::not_found, file.string() + ": cannot be read");
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
      const std::string what = file.string() + ": line " + std::to_string(n);
      bool null_source = false;
      const std::vector<std::string> cols = copy_columns(line, null_source);
      if (cols.size() != 4) throw Error(ErrorCode::corrupt_file, what + ": " + std::to_string(cols.size()) + " columns, not 4");
      add({record_from_json(cols[3], what), vector_from_literal(cols[1], what)});
    }
  } else {
    throw Error(ErrorCode::unsupported, directory + ": an export of format \"" + report.format + "\", which imgvec does not read");
  }
  flush();
  tx.committed = true;
  return report;
}

ImportReport VectorDatabase::import_vectors(const std::string& vectors_npy, const std::string& ids_npy,
                                            const std::string& records_jsonl, const ImportOptions& options) {
  std::ifstream vin(vectors_npy, std::ios::binary), iin(ids_npy, std::ios::binary), rin(records_jsonl, std::ios::binary);
  for (const auto& [stream, path] : {std::pair<std::ifstream*, const std::string*>{&vin, &vectors_npy}, {&iin, &ids_npy},
                                     {&rin, &records_jsonl}}) {
    if (!*stream) throw Error(ErrorCode::not_found, *path + ": cannot be read");
  }
  const NpyHeader vh = read_npy_header(vin, vectors_npy), ih = read_npy_header(iin, ids_npy);
  if (vh.descr != "<f4" || vh.shape.size() != 2)
    throw Error(ErrorCode::unsupported, vectors_npy + ": float32 (n, d) vectors are needed, not " + vh.descr);
  if ((ih.descr != "<u8" && ih.descr != "<i8") || ih.shape.size() != 1 || ih.shape[0] != vh.shape[0])
    throw Error(ErrorCode::corrupt_file, ids_npy + ": " + std::to_string(vh.shape[0]) + " 64-bit ids are needed");
  const std::size_t n = vh.shape[0], d = vh.shape[1];
  if (d != impl_->index->dimension())
    throw Error(ErrorCode::incompatible, vectors_npy + ": " + std::to_string(d) + "-d vectors; this database holds " +
                                             std::to_string(impl_->index->dimension()) + "-d vectors");
  ImportReport report;
  report.format = "npy";
  std::vector<Pending> batch;
  ImportTransaction tx(*impl_);
  tx.source_root = source_root_of(options);
  std::string line;
  for (std::size_t i = 0; i < n; ++i) {
    Pending p;
    p.vector.resize(d);
    Id id = 0;
    if (!vin.read(reinterpret_cast<char*>(p.vector.data()), static_cast<std::streamsize>(d * sizeof(float))))
      throw Error(ErrorCode::corrupt_file, vectors_npy + ": ends after " + std::to_string(i) + " of " + std::to_string(n) + " vectors");
    if (!iin.read(reinterpret_cast<char*>(&id), sizeof id))
      throw Error(ErrorCode::corrupt_file, ids_npy + ": ends after " + std::to_string(i) + " ids");
    do {
      if (!std::getline(rin, line))
        throw Error(ErrorCode::corrupt_file, records_jsonl + ": " + std::to_string(i) + " records for " + std::to_string(n) + " vectors");
    } while (line.empty());
    p.record = record_from_json(line, records_jsonl + ": record " + std::to_string(i + 1));
    if (p.record.id != id)
      throw Error(ErrorCode::corrupt_file, records_jsonl + ": record " + std::to_string(i + 1) + " has id " +
                                               std::to_string(p.record.id) + ", the vectors' row has id " + std::to_string(id));
    batch.push_back(std::move(p));
    if (batch.size() == kBatch || i + 1 == n) {
      report.imported += store_batch(tx, batch, options, report.skipped);
      if (options.progress) options.progress(i + 1, n);
    }
  }
  tx.committed = true;
  return report;
}

}  // namespace imgvec
