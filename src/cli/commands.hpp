#pragma once
// The imgvec commands: options as parsed by main.cpp (CLI11), and what each one does. Every
// command returns its exit code (cli/output.hpp) and throws imgvec::Error or UsageError.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace imgvec {
class VectorDatabase;
struct OpenOptions;
}

namespace imgvec::cli {

struct DbOptions {
  std::string db;
  std::string model;  ///< empty: the one the database remembers, else none
  bool json = false;
  bool exact_decode = false;  ///< every pixel of big JPEGs (Encoder::set_fast_decode(false))
  std::string device = "auto";        ///< where a CLIP model runs
  std::string precision = "float32";  ///< what it computes in
};

struct IndexOptions : DbOptions {
  std::string dir;
  bool flat = false, float16 = false, sq8 = false, sq4 = false, no_recursive = false, remove_missing = false,
       all_files = false;
  bool keep_empty = false;
  std::vector<std::string> exclude;
  std::string labels;  ///< "default" or a label file: label new images (CLIP)
  bool refresh = false;  ///< read photo facts and analysis of images indexed by an older imgvec
  bool strict = false;   ///< exit 3 for files that failed before too
};
int run_index(const IndexOptions& o);

struct SearchCommand : DbOptions {
  // Examples: image files and stored images (id or indexed path) may end in :WEIGHT.
  std::vector<std::string> images, texts, likes, minus_images, minus_texts, minus_likes, image_urls;
  bool allow_private_urls = false;  ///< --image-url may lead to loopback and private addresses
  std::int64_t k = 10;
  std::int64_t offset = 0;
  std::vector<std::string> where;
  std::optional<double> min_score;
  std::string sort = "score";
  std::vector<std::string> colours;  ///< --colour: search by palette
};
int run_search(const SearchCommand& o);

struct DupsOptions : DbOptions {
  double threshold = 0.945;            ///< DuplicateOptions' default
  double candidate_threshold = 0.55;   ///< DuplicateOptions' default
  bool no_verify = false;
};
int run_dups(const DupsOptions& o);

struct ExportOptions : DbOptions {
  std::string metadata, vectors, ids;
  std::string format;  ///< json or jsonl; empty: from the file name (.json: one array); or an external format
  std::string out;     ///< the folder for qdrant, milvus, pgvector
  std::string collection = "images";
  std::size_t points_per_file = 1000;
  std::size_t max_file_mb = 1024;
};
int run_export(const ExportOptions& o);

struct ImportCommand : DbOptions {
  std::string from;                       ///< an export folder (qdrant, milvus, pgvector)
  std::string vectors, ids, metadata;     ///< or the .npy + JSON lines pair
  bool new_ids = false, flat = false, float16 = false, sq8 = false, sq4 = false;
  std::string source_root;  ///< imported sources under it keep their file
};
int run_import(const ImportCommand& o);

int run_stats(const DbOptions& o);
/// Opens a database whose write-ahead log is damaged, keeping the changes before the damage, and
/// saves it (OpenOptions::accept_log_damage).
int run_repair(const DbOptions& o);

/// Images named by id or by file path.
struct TargetsOptions : DbOptions {
  std::vector<std::string> targets;
};
int run_remove(const TargetsOptions& o);
/// Prints each image's whole record (a table, or JSON: the record, or a list for several).
int run_show(const TargetsOptions& o);

struct TagOptions : TargetsOptions {
  std::vector<std::string> add, remove;
  std::string labels;  ///< "default" or a label file: zero-shot labels (CLIP)
  std::size_t top = 3;
  double min_score = 0.1;
};
int run_tag(const TagOptions& o);

struct MetaOptions : TargetsOptions {
  std::vector<std::string> set;    ///< KEY=VALUE
  std::vector<std::string> unset;  ///< KEY
};
int run_meta(const MetaOptions& o);

struct ServeOptions : DbOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::size_t threads = 8;
  std::size_t max_upload_mb = 32;
  std::size_t max_megapixels = 50;
  std::string api_key;  ///< else $IMGVEC_API_KEY
  bool read_only = false;
  std::vector<std::string> cors, allowed_hosts;
  bool open_reads = false;
  std::size_t text_cache = 1024;
  std::size_t save_every = 1000;
  double save_interval = 60;
};
int run_serve(const ServeOptions& o);

/// Opens the database named by --db with its model (shared by the commands and the server).
std::unique_ptr<VectorDatabase> open_database(const DbOptions& o, const OpenOptions& open);
std::unique_ptr<VectorDatabase> open_database(const DbOptions& o);
/// Opens it read-only (OpenOptions::read_only) if another process holds it, for the commands that
/// only read; with `map_index`, the index is mapped (OpenOptions::map_index), for a few searches.
std::unique_ptr<VectorDatabase> open_database_to_read(const DbOptions& o, bool map_index);

struct EmbedOptions {
  std::string model, text, device = "auto", precision = "float32";
  std::vector<std::string> images;
};
int run_embed(const EmbedOptions& o);

struct TokenizeOptions {
  std::string model, vocab, text;
};
int run_tokenize(const TokenizeOptions& o);

}  // namespace imgvec::cli
