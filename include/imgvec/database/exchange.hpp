#pragma once
// Moving a database's images out and in: exports (JSON, .npy, Qdrant, Milvus, pgvector),
// imports, and a record as JSON. Part of imgvec/database.hpp.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "imgvec/metadata/metadata_store.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

enum class ExportFormat {
  json,   ///< one JSON array of records
  jsonl,  ///< one JSON record per line
  csv,    ///< one row per record, flattened columns (a spreadsheet's; lists joined by ';')
};
/// "json", "jsonl", "csv".
const char* to_string(ExportFormat format);
/// The inverse of to_string; Error(invalid_argument) naming the text otherwise.
ExportFormat parse_export_format(const std::string& text);
/// The format a file's name asks for: .json, .jsonl (or .ndjson), .csv; JSON lines for a name
/// without an extension ("-", /dev/stdout). Error(invalid_argument) naming the file for any other
/// extension, rather than JSON lines under a name that says otherwise.
ExportFormat export_format_for_path(const std::string& path);

/// Vector databases that imgvec exports to (docs/scale-out.md says when and how to move).
enum class ExternalFormat {
  qdrant,    ///< JSON batches for PUT /collections/{name}/points, and the collection's settings
  milvus,    ///< bulk-insert JSON row files and the collection schema
  pgvector,  ///< a COPY text file and the SQL that creates the table, loads it and indexes it
};
/// "qdrant", "milvus", "pgvector".
const char* to_string(ExternalFormat format);
/// The inverse of to_string; Error(invalid_argument) naming the text otherwise.
ExternalFormat parse_external_format(const std::string& text);
/// Whether `text` names an ExternalFormat.
bool is_external_format(const std::string& text);

struct ExternalExportOptions {
  ExternalFormat format = ExternalFormat::qdrant;
  /// The Qdrant or Milvus collection, or the PostgreSQL table (letters, digits, _; not starting
  /// with a digit).
  std::string collection = "images";
  /// Qdrant: points per file, each file one PUT request body.
  std::size_t points_per_file = 1000;
  /// Milvus: the largest row file (bulk insert limits a file's size); rows never straddle files.
  std::uint64_t max_file_bytes = std::uint64_t{1} << 30;
};

struct ExternalExportReport {
  std::size_t images = 0;
  std::vector<std::string> files;  ///< every file written, relative to the export folder
};

struct ImportOptions {
  /// Give each image a new id instead of its own (to merge databases whose ids overlap). With
  /// its own ids, an id already in this database stops the import before that batch is stored.
  bool new_ids = false;
  /// Where the imported images' files may be. An export names each image's source file, and a
  /// database serves and reads the files its records name (imgvec serve's /file, thumbnails,
  /// duplicate verification), so a crafted export could name any file on the machine. A source
  /// that lies under this folder is kept; any other (and every one when this is empty) is kept
  /// as the metadata key "imported_source" only, and the image has no file.
  std::string source_root;
  /// (images read, images in all when known, else 0) after each batch.
  std::function<void(std::size_t, std::size_t)> progress;
};

struct ImportReport {
  std::string format;        ///< "qdrant", "milvus", "pgvector" or "npy"
  std::size_t imported = 0;  ///< images stored
  std::size_t skipped = 0;   ///< images whose source file this database already holds
};

/// A record as one JSON object: id, source, content_hash (hex), file_size, mtime_ns, width,
/// height, format, added_ms, metadata, tags, and photo: the PhotoFacts that are known (taken as
/// ISO 8601, taken_ms, taken_source, camera, camera_make, camera_model, lens, latitude,
/// longitude), and analysis when measured (colours as hex, share and name; brightness,
/// saturation, colourfulness, warmth, tone). A source path that is not valid UTF-8 is written
/// escaped (escape_path in imgvec/path_text.hpp) with "source_escaped": true; metadata strings
/// that are not valid UTF-8 are escaped the same way. Non-finite numbers become null. Stored floats
/// (analysis, label scores) are written with the shortest digits that read back as the same float.
std::string record_to_json(const ImageRecord& record);
/// The inverse of record_to_json: the same record back, its floats to the bit (they are written
/// with the shortest digits that read back as the same float). What cannot come back exactly:
/// metadata strings and tags that were not valid UTF-8 come back escaped, and non-finite numbers
/// as missing. Throws Error(corrupt_file) naming `what` and the field when the text is not such a
/// record.
ImageRecord record_from_json(std::string_view json_text, const std::string& what = "record");

}  // namespace imgvec
IMGVEC_API_END
