// The CLI's exports and imports: JSON records, .npy vectors, Qdrant, Milvus and pgvector.
#include "cli/commands.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <system_error>
#include <tuple>

#include "cli/command_support.hpp"
#include "cli/interrupt.hpp"
#include "cli/output.hpp"
#include "cli/progress.hpp"
#include "wire/wire.hpp"

namespace imgvec::cli {

using nlohmann::json;
namespace fs = std::filesystem;

int run_export(const ExportOptions& o) {
  const bool external = is_external_format(o.format);
  if (external != !o.out.empty()) throw UsageError("--out and --format qdrant|milvus|pgvector go together");
  if (external) {
    if (!o.metadata.empty() || !o.vectors.empty()) throw UsageError("--out writes everything: no --metadata or --vectors");
    ExternalExportOptions options;
    options.format = parse_external_format(o.format);
    options.collection = o.collection;
    options.points_per_file = o.points_per_file;
    options.max_file_bytes = std::uint64_t{o.max_file_mb} << 20;
    const auto db = open_database_to_read(o, true);
    const ExternalExportReport r = db->export_external(o.out, options);
    std::printf("wrote %zu images for %s to %s (%zu files); docs/scale-out.md says how to load them\n", r.images,
                o.format.c_str(), o.out.c_str(), r.files.size());
    return kOk;
  }
  if (o.metadata.empty() && o.vectors.empty())
    throw UsageError("export needs --metadata or --vectors (or --format qdrant|milvus|pgvector --out DIR)");
  if (o.vectors.empty() != o.ids.empty()) throw UsageError("--vectors and --ids go together");
  if (!o.vectors.empty() && o.vectors == "-" && o.ids == "-")
    throw UsageError("--vectors and --ids cannot both be -");
  const auto db = open_database_to_read(o, true);
  // Messages go to stderr when data goes to standard output.
  FILE* info = (o.metadata == "-" || o.vectors == "-" || o.ids == "-") ? stderr : stdout;
  if (!o.metadata.empty()) {
    const ExportFormat format = o.format.empty() ? export_format_for_path(o.metadata) : parse_export_format(o.format);
    Output out(o.metadata);
    if (out.atomic)
      db->export_metadata(o.metadata, format);
    else
      db->export_metadata(out.stream(), format);
    std::fprintf(info, "wrote %zu records to %s\n", db->size(), o.metadata.c_str());
  }
  if (!o.vectors.empty()) {
    Output v(o.vectors), i(o.ids);
    if (v.atomic && i.atomic)
      db->export_vectors(o.vectors, o.ids);
    else
      db->export_vectors(v.stream(), i.stream());
    std::fprintf(info, "wrote %zu x %zu vectors to %s, ids to %s\n", db->size(), db->dimension(),
                 o.vectors.c_str(), o.ids.c_str());
  }
  return kOk;
}

int run_import(const ImportCommand& o) {
  const bool pair = !o.vectors.empty() || !o.ids.empty() || !o.metadata.empty();
  if (pair == !o.from.empty()) throw UsageError("import reads an export FOLDER, or --vectors, --ids and --metadata");
  if (pair && (o.vectors.empty() || o.ids.empty() || o.metadata.empty()))
    throw UsageError("--vectors, --ids and --metadata go together");
  std::unique_ptr<VectorDatabase> db;
  const bool created = !VectorDatabase::exists(o.db);
  std::error_code ec;
  const bool folder_existed = fs::exists(o.db, ec);
  std::string model;
  if (!created) {
    db = open_database(o);
  } else {
    // A new database: the encoder must be the export's (checked against imgvec-export.json).
    DatabaseOptions options;
    options.index_kind = o.flat ? IndexKind::flat : IndexKind::hnsw;
    if (o.float16) options.hnsw.storage = VectorStorage::float16;
    if (o.sq8) options.hnsw.storage = VectorStorage::sq8;
    if (o.sq4) options.hnsw.storage = VectorStorage::sq4;
    model = choose_model(o, true);
    db = VectorDatabase::create(o.db, make_encoder(model, o), options);
  }
  ImportOptions options;
  options.new_ids = o.new_ids;
  options.source_root = o.source_root;
  ProgressBar bar("importing");
  options.progress = [&](std::size_t done, std::size_t total) { bar.update(done, total); };
  ImportReport r;
  try {
    r = pair ? db->import_vectors(o.vectors, o.ids, o.metadata, options) : db->import_export(o.from, options);
  } catch (...) {
    // Nothing was saved: an existing database is as it was; a database made for this import goes.
    db.reset();
    if (created) {
      VectorDatabase::destroy(o.db);
      if (!folder_existed) fs::remove(o.db, ec);  // the folder too, when this command made it (and it is empty)
    }
    throw;
  }
  db->save();
  if (created) db->remember_model_bundle(model);
  if (o.json) {
    print_json({{"format", r.format}, {"imported", r.imported}, {"skipped", r.skipped}, {"count", db->size()}});
  } else {
    std::printf("imported %zu images (%s)%s; %zu images in %s\n", r.imported, r.format.c_str(),
                r.skipped ? (", skipped " + std::to_string(r.skipped) + " whose files it already had").c_str() : "",
                db->size(), o.db.c_str());
  }
  return kOk;
}

}  // namespace imgvec::cli
