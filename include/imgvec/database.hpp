#pragma once

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imgvec/encoder/encoder.hpp"
#include "imgvec/index/hnsw_index.hpp"
#include "imgvec/index/index.hpp"
#include "imgvec/metadata/metadata_store.hpp"
#include "imgvec/metadata/where.hpp"
#include "imgvec/image/url_fetch.hpp"
#include "imgvec/labels.hpp"
#include "imgvec/query.hpp"

namespace imgvec {

/// When a change (add, update, remove, metadata) is safe from a crash.
enum class Durability {
  /// Once save() returns. The fastest, for bulk indexing with checkpoints.
  on_save,
  /// Before the call that made it returns: each change is appended to a write-ahead log in the
  /// database folder and flushed to the disk (fdatasync) first; calls on several threads share
  /// one flush (group commit). open() replays the log; save() starts a fresh one. For services
  /// that acknowledge each upload.
  on_write,
};

/// How a process uses a database it opens.
struct OpenOptions {
  Durability durability = Durability::on_save;
  /// A write-ahead log damaged in the middle (intact entries after a bad one), a log missing
  /// between two present ones, or a log cut short before the next: open() refuses these with
  /// Error(corrupt_file) naming the log, since replaying would lose acknowledged changes
  /// silently. With this set it replays up to the damage, drops the rest (counted in
  /// DatabaseStats::dropped_log_bytes), and the next save deletes the damaged logs (`imgvec
  /// repair`).
  bool accept_log_damage = false;
};

/// For open(directory, options, model), which chooses the encoder from the database's
/// fingerprint: the built-in encoder, or the CLIP bundle the database remembers, loaded the first
/// time something is embedded (a call that embeds nothing never loads libtorch or the model).
struct ModelChoice {
  /// A bundle to use instead of the remembered one (a moved file, another copy); it must have the
  /// database's fingerprint, which is checked when it loads (Error incompatible). A relative path
  /// is resolved against the current folder now.
  std::string bundle;
  /// Store `bundle` as the one the database remembers once it has loaded and matched. Done
  /// without asking when the remembered bundle is missing, so one command with the right --model
  /// repairs a database whose model file moved.
  bool remember = false;
  std::string device = "auto";  ///< where a CLIP model runs: "auto", "cpu", "cuda", "cuda:N"
  bool fast_decode = true;      ///< Encoder::set_fast_decode for the encoder it makes
};

struct DatabaseOptions {
  /// hnsw for large collections (approximate, fast), flat for exact search.
  IndexKind index_kind = IndexKind::hnsw;
  HnswParams hnsw;
  /// For the process that creates it (open() takes its own).
  Durability durability = Durability::on_save;
};

/// How search results are ordered.
enum class SortOrder {
  score,             ///< most similar first
  newest,  ///< the newest photo first (PhotoFacts::taken_ms); undated ones last
  oldest,  ///< the oldest photo first; undated ones last
};
/// "score", "newest", "oldest" (the CLI's and the server's names).
const char* to_string(SortOrder order);
/// The inverse of to_string, and "taken" for newest (as photo apps show them); throws
/// Error(invalid_argument) naming the text otherwise.
SortOrder parse_sort_order(const std::string& text);

struct SearchOptions {
  SearchOptions() = default;
  /// Just k, so that `db.search_by_image(path, 5)` reads naturally.
  SearchOptions(std::size_t k_) : k(k_) {}  // NOLINT: implicit by design

  /// How many results at most.
  std::size_t k = 10;
  /// Results to skip before the k returned, for paging (offset 10, k 10: results 11-20).
  std::size_t offset = 0;
  /// Only results at least this similar (cosine, -1..1).
  std::optional<float> min_score;
  /// Only images whose record matches; runs through the index's filtered search, so recall
  /// holds at any selectivity.
  Where where;
  /// The order of the results returned: the same results (the k most similar after `offset`,
  /// or all above min_score), sorted. To see a period's photos by date, filter on `taken` and
  /// ask for a large k.
  SortOrder sort = SortOrder::score;
};

struct SearchResult {
  Id id = 0;
  float score = 0;  ///< cosine similarity to the query
  ImageRecord record;
};

enum class AddStatus {
  added,      ///< new
  updated,    ///< the same source path with changed content: re-embedded under its old id
  unchanged,  ///< the same source path, size and modification time: skipped
  failed,     ///< not added; see error
  renamed,    ///< new path, same bytes as an image whose file is gone: moved, not re-embedded
  removed,    ///< (index_directory) its file vanished, so it was removed
  interrupted,  ///< not looked at: the run was cancelled before this file was embedded
};
const char* to_string(AddStatus status);

struct AddResult {
  std::string source;
  AddStatus status = AddStatus::failed;
  Id id = 0;  ///< the image's id unless failed
  ErrorCode code = ErrorCode::invalid_argument;
  std::string error;  ///< names the file and what is wrong, when failed
  /// (index_directory) Failed in an earlier run and unchanged since (same size and modification
  /// time), so not read again.
  bool remembered = false;
};

struct IndexDirectoryOptions {
  /// Descend into subdirectories.
  bool recursive = true;
  /// File name extensions to consider, lower case, without the dot. Empty: every file (the
  /// decoder then decides by content).
  std::vector<std::string> extensions = {"jpg", "jpeg", "jpe", "png", "bmp", "gif", "ppm", "pgm", "pnm", "pbm",
                                         "tga", "psd", "hdr", "webp", "tif", "tiff", "heic", "heif", "avif", "jfif"};
  /// Glob patterns (*, ?) matched against paths relative to the directory; matches are skipped.
  std::vector<std::string> exclude;
  /// Remove images whose files under this directory have vanished.
  bool remove_missing = false;
  /// Save after every chunk of files, so an interrupted run resumes where it stopped.
  bool checkpoint = true;
  /// Files embedded, inserted (and checkpointed) at a time; bounds memory and lost work.
  std::size_t chunk = 512;
  /// (done, total) after each chunk.
  std::function<void(std::size_t, std::size_t)> progress;
  /// Asked between batches of embedding; true stops the run there: what was embedded so far is
  /// stored (and checkpointed), the rest is not looked at, and the report says `interrupted`.
  /// For Ctrl-C: set a flag in the signal handler, return it here.
  std::function<bool()> cancel;
  /// Read the photo facts and analysis of unchanged files indexed by an older imgvec
  /// (refresh_photo_facts): their files are decoded again, not embedded again.
  bool refresh = false;
  /// Metadata for a file (given its path), stored with it whether it is new, changed, moved or
  /// unchanged; records whose metadata is already equal are left alone. Called once per file
  /// before any is read.
  std::function<Metadata(const std::string& path)> metadata;
};

struct IndexDirectoryReport {
  std::size_t added = 0, updated = 0, unchanged = 0, renamed = 0, removed = 0, failed = 0;
  /// Records of files under the directory that no longer exist (after any removal); they stay
  /// searchable until removed (IndexDirectoryOptions::remove_missing).
  std::size_t vanished = 0;
  /// The run was cancelled (IndexDirectoryOptions::cancel) before every file was looked at.
  bool interrupted = false;
  /// Of `failed`, how many failed in an earlier run and are unchanged since: they are counted and
  /// listed (with their earlier reason) but not read again until their size or time changes.
  std::size_t failed_unchanged = 0;
  /// The failed files, with their reasons.
  std::vector<AddResult> failures;
  /// Files not looked at because their extension is not in IndexDirectoryOptions::extensions
  /// (never dropped silently): how many, and how many per extension (lower case, without the
  /// dot; "" for none).
  std::size_t skipped = 0;
  std::map<std::string, std::size_t> skipped_extensions;
  /// Files not looked at because they match an IndexDirectoryOptions::exclude pattern.
  std::size_t excluded = 0;
  /// Unchanged files whose photo facts and analysis were read (IndexDirectoryOptions::refresh).
  std::size_t refreshed = 0;
  /// Without refresh: unchanged files indexed by an older imgvec, still without photo facts and
  /// analysis (refresh would read them).
  std::size_t without_facts = 0;
};

struct DuplicateOptions {
  /// Images at least this similar (cosine) are duplicates of each other. The default is the
  /// lowest threshold at which the built-in encoder kept precision >= 0.99 in the labelled
  /// benchmark (bench/bench_duplicates.cpp, docs/benchmarks.md): by vectors alone it finds
  /// resized, recompressed and brightened copies; verify adds cropped and written-on ones. A CLIP
  /// model needs its own thresholds, from the same benchmark with its bundle.
  float threshold = 0.945f;
  /// Neighbours examined per image.
  std::size_t neighbours = 16;
  /// Pairs less similar than threshold but at least candidate_threshold are verified on their
  /// pixels (match_photos in imgvec/image/photo_match.hpp): both files are read again, and the
  /// pair is a duplicate when one image is the other resized, recompressed, brightened, written
  /// on, turned by a multiple of 90 degrees or cropped by up to a fifth of each side. This finds
  /// cropped and captioned copies that vectors alone miss, without admitting other shots of the
  /// same scene. A file that is gone or changed since it was indexed, or an image added from
  /// memory, is not verified. Off, or in a build without OpenCV (photo_matching_available()),
  /// duplicates are found by vectors alone, in a fraction of the time.
  bool verify = true;
  /// The benchmark's choice for the built-in encoder: lower finds a few more copies for many more
  /// pairs to verify (docs/benchmarks.md has the trade-off).
  float candidate_threshold = 0.55f;
  /// Called from the calling thread as pairs are verified: (pairs verified, pairs to verify).
  std::function<void(std::size_t, std::size_t)> progress;
};

/// How a member joined its duplicate group: the strongest evidence linking it to another member.
enum class DuplicateMatch : std::uint8_t {
  identical,  ///< identical bytes
  similar,    ///< vectors at least DuplicateOptions::threshold alike
  verified,   ///< verified on the pixels (DuplicateOptions::verify)
};
/// "identical", "similar", "verified".
const char* to_string(DuplicateMatch match);

struct DuplicateGroup {
  std::vector<Id> ids;  ///< ascending
  Id keeper = 0;        ///< the one to keep: largest resolution, then largest file, then lowest id
  std::vector<float> scores;  ///< each member's cosine similarity to the keeper, as ids
  std::vector<DuplicateMatch> matched_by;  ///< as ids
  bool exact = false;   ///< all members have identical bytes
};

enum class ExportFormat { json, jsonl };

/// An image file embedded outside any database: its vector and the record index_directory would
/// give it (id 0 until imported), or why it failed.
struct EmbeddedFile {
  ImageRecord record;
  std::vector<float> vector;
  ErrorCode code = ErrorCode::invalid_argument;
  std::string error;  ///< names the file and what is wrong; empty on success
  bool ok() const noexcept { return error.empty(); }
};

/// Embeds image files as a database would (the same decoding, vectors, photo facts and
/// analysis, content hash and file facts), for embedding on other machines and importing the
/// results (imgvec.dask in Python writes them as shards that import_vectors reads with new ids).
std::vector<EmbeddedFile> embed_files_as_records(Encoder& encoder, const std::vector<std::string>& paths);

/// Vector databases that imgvec exports to (docs/scale-out.md says when and how to move).
enum class ExternalFormat {
  qdrant,    ///< JSON batches for PUT /collections/{name}/points, and the collection's settings
  milvus,    ///< bulk-insert JSON row files and the collection schema
  pgvector,  ///< a COPY text file and the SQL that creates the table, loads it and indexes it
};
/// "qdrant", "milvus", "pgvector".
const char* to_string(ExternalFormat format);

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

struct DatabaseStats {
  std::string directory;
  std::size_t count = 0;
  std::size_t dimension = 0;
  EncoderFingerprint encoder;
  IndexKind index_kind = IndexKind::hnsw;
  VectorStorage storage = VectorStorage::float32;  ///< how the index holds vectors
  std::size_t memory_bytes = 0;  ///< index and records, approximate
  std::size_t disk_bytes = 0;    ///< the saved files
  std::uint64_t generation = 0;  ///< how many times it has been saved
  std::size_t unsaved_changes = 0;  ///< changes since the last save (in the log, or in memory only)
  std::size_t log_bytes = 0;        ///< the write-ahead log's size since the last save
  /// Flushes of the log since open: with several writers at once (group commit), fewer than the
  /// changes they made durable.
  std::size_t log_syncs = 0;
  /// What open() found in the write-ahead log: changes replayed, and bytes of an incomplete last
  /// entry (a write a crash cut short, never acknowledged) that were ignored.
  std::size_t replayed_changes = 0;
  std::size_t dropped_log_bytes = 0;
  /// Images per container format ("jpeg": 120, "heic": 40, ...).
  std::map<std::string, std::size_t> formats;
  /// The formats this build decodes (supported_image_formats()).
  std::vector<std::string> decodable_formats;
};

/// A folder of images made searchable: an Encoder turns images (and texts, for CLIP) into
/// vectors, an Index finds neighbours, a MetadataStore keeps what is known about each image.
///
/// Changes live in memory until save(), which writes a new generation of the index and records
/// and then switches a manifest to it atomically: a crash at any moment leaves the previous save
/// or the new one, never a mix. With Durability::on_write each change is also logged before it
/// is acknowledged, so a crash loses nothing that was acknowledged. One process at a time may
/// have a database open (a lock file).
///
/// Thread safety: searches run concurrently with each other and with adds; adds, removes and
/// saves are serialized. Embedding happens outside the lock.
class VectorDatabase {
 public:
  /// Creates a database in `directory` and saves it empty. The directory must be new or empty:
  /// a database folder belongs to imgvec alone, so a folder that holds other files (a photo
  /// folder, say) is refused with Error(invalid_argument) naming one of them; put the database
  /// in a subfolder instead. Throws imgvec::Error.
  static std::unique_ptr<VectorDatabase> create(const std::string& directory,
                                                std::shared_ptr<Encoder> encoder,
                                                const DatabaseOptions& options = {});
  /// Opens a saved database. The encoder must have the fingerprint the database was built with
  /// (Error incompatible, naming both). Damaged files give Error(corrupt_file) naming the file.
  /// Changes left in the write-ahead log by a process that did not save are replayed (whatever
  /// the durability asked for now).
  static std::unique_ptr<VectorDatabase> open(const std::string& directory, std::shared_ptr<Encoder> encoder,
                                              const OpenOptions& options = {});
  /// Opens a saved database with the encoder it was built with, chosen by the library
  /// (ModelChoice says how): the built-in encoder, or its CLIP model, loaded when first needed. A CLIP database whose bundle is unknown or gone opens, and every call that embeds
  /// nothing works; one that must embed throws Error(not_found) saying to give the bundle. A
  /// database built with an encoder of the caller's own can only be opened with that encoder.
  static std::unique_ptr<VectorDatabase> open(const std::string& directory, const OpenOptions& options = {},
                                              const ModelChoice& model = {});
  /// Opens the database in `directory` if there is one, else creates it (with `options`).
  static std::unique_ptr<VectorDatabase> open_or_create(const std::string& directory,
                                                        std::shared_ptr<Encoder> encoder,
                                                        const DatabaseOptions& options = {});
  /// Whether `directory` holds an imgvec database (its MANIFEST). Opens nothing.
  static bool exists(const std::string& directory);
  /// Deletes the database in `directory`: its own files only (the manifest, the lock, each
  /// generation's files and leftovers of interrupted saves), never anything else there, then the
  /// folder if that left it empty. Throws Error(not_found) if there is no database, Error(io) if
  /// a process has it open.
  static void destroy(const std::string& directory);
  /// The CLIP bundle the database in `directory` remembers as its model (MODEL in its folder,
  /// written by remember_model_bundle), or empty for none. Opens nothing and loads no model.
  static std::string remembered_model_bundle(const std::string& directory);
  /// Remembers `bundle` as this database's model, as an absolute path (a relative one is
  /// resolved against the current folder now, so later commands from other folders find it),
  /// written atomically; empty forgets it. destroy() removes it. Throws Error(io).
  void remember_model_bundle(const std::string& bundle);
  ~VectorDatabase();
  VectorDatabase(const VectorDatabase&) = delete;
  VectorDatabase& operator=(const VectorDatabase&) = delete;

  /// Adds the image at `path` (or re-embeds it if its content changed since it was added) and
  /// returns its id. Throws imgvec::Error naming the file if it cannot be read or decoded.
  Id add_image(const std::string& path, const Metadata& metadata = {},
               const std::vector<std::string>& tags = {});
  /// Adds an image from memory. It has no source path; `name`, if given, is stored as the
  /// metadata value "name" (unless `metadata` sets one).
  Id add_image_bytes(const void* data, std::size_t size, const std::string& name,
                     const Metadata& metadata = {}, const std::vector<std::string>& tags = {});
  /// Adds an image from memory and keeps a copy of its bytes in the database's folder
  /// (`files/`, written and synced before the image is added), so that it has a file, as an
  /// upload to a service should. The same bytes again are the same image: status unchanged and
  /// its id (or updated, when the metadata or tags given differ from its own; none given keeps
  /// them). `name` is stored as the metadata value "name" of a new image. Files no record uses
  /// any more (removed images) are deleted by the next save(). Errors name `name`. `limits`
  /// (pixels, bytes) apply to its one decode: a service passes its own, and need not decode the
  /// upload first to check them (the file is removed again when they refuse it).
  AddResult import_image_bytes(const void* data, std::size_t size, const std::string& name,
                               const Metadata& metadata = {}, const std::vector<std::string>& tags = {},
                               const DecodeOptions& limits = {});
  /// Downloads the image at an http(s) URL (fetch_url: size cap, timeouts, redirects limited) and
  /// imports it as import_image_bytes does: its bytes are kept under files/, the URL is stored as
  /// the metadata values "url" and "name". Whether it is an image is judged by its bytes, not by
  /// the server's Content-Type. Errors name the URL.
  AddResult add_image_url(const std::string& url, const Metadata& metadata = {},
                          const std::vector<std::string>& tags = {}, const UrlFetchOptions& fetch = {});
  /// Adds many files, embedding them in batches while later files decode. One result per path,
  /// in order; a file that fails is reported and the others are added. `metadata`, if not
  /// empty, has one entry per path. `progress(done, total)` is called after each batch.
  std::vector<AddResult> add_images_batch(const std::vector<std::string>& paths,
                                          const std::vector<Metadata>& metadata = {},
                                          const std::function<void(std::size_t, std::size_t)>& progress = {});

  /// Brings the database up to date with a directory: new files are added, changed ones
  /// re-embedded, unchanged ones skipped without reading them, moved or renamed ones recognised by
  /// their bytes and kept without re-embedding, vanished ones removed if asked. With checkpoints
  /// an interrupted run loses at most one chunk. Throws Error(not_found) if `dir` is missing.
  IndexDirectoryReport index_directory(const std::string& dir, const IndexDirectoryOptions& options = {});

  std::vector<SearchResult> search_by_image(const std::string& path, const SearchOptions& options = {}) const;
  std::vector<SearchResult> search_by_image(const Image& image, const SearchOptions& options = {}) const;
  std::vector<SearchResult> search_by_image_bytes(const void* data, std::size_t size,
                                                  const SearchOptions& options = {}) const;
  std::vector<SearchResult> search_by_image_base64(std::string_view base64, const SearchOptions& options = {}) const;
  /// Downloads the image (fetch_url) and searches by it. Errors name the URL.
  std::vector<SearchResult> search_by_image_url(const std::string& url, const SearchOptions& options = {},
                                                const UrlFetchOptions& fetch = {}) const;
  /// Throws Error(unsupported) when the encoder has no text model.
  std::vector<SearchResult> search_by_text(const std::string& text, const SearchOptions& options = {}) const;
  /// The query vector search_by_text would use (for caching it, or searching it several ways).
  /// Throws Error(unsupported) when the encoder has no text model.
  std::vector<float> embed_text(const std::string& text) const;
  /// The query vector search_by_image would use for a decoded image (to combine several examples
  /// without holding their pixels at once).
  std::vector<float> embed_image(const Image& image) const;
  /// Any number of positive and negative examples (texts, images, stored ids, vectors) with
  /// weights, combined into one vector as Query says; the stored images used as examples are left
  /// out of the results. Throws Error(invalid_argument) with no positive example, a weight that
  /// is not > 0, or examples that cancel out; Error(not_found) for an unknown id;
  /// Error(unsupported) for a text when the encoder has no text model; decoding errors name the
  /// file.
  std::vector<SearchResult> search(const Query& query, const SearchOptions& options = {}) const;
  /// The vector search(query) searches with (dimension() floats, unit length).
  std::vector<float> query_vector(const Query& query) const;
  /// Images whose dominant colours are closest to `colours` (one or more), best first; the score
  /// is palette_similarity (0..1: with one colour, the share of the image that looks like it).
  /// k, offset, min_score, where and sort apply as for other searches. A scan of every record,
  /// O(N) (about 20 ms at 100k images); images not analysed are left out.
  std::vector<SearchResult> search_by_colour(const std::vector<Rgb>& colours, const SearchOptions& options = {}) const;
  /// A vector from the same encoder (dimension() floats).
  std::vector<SearchResult> search_by_vector(VectorView vector, const SearchOptions& options = {}) const;

  /// Groups of near-duplicate images, found through the index's k-NN (no N x N comparison);
  /// identical files (same bytes) are grouped first, whatever the threshold. Groups are ordered
  /// by their lowest id.
  std::vector<DuplicateGroup> find_duplicates(const DuplicateOptions& options = {}) const;
  /// "Is this already in the database?": the most similar image if it scores at least
  /// `threshold`.
  std::optional<SearchResult> find_duplicate_of(const Image& image, float threshold = 0.945f) const;
  std::optional<SearchResult> find_duplicate_of(const std::string& path, float threshold = 0.945f) const;

  /// Writes every record (id, source, size, format, hash, times, metadata, tags) as one JSON
  /// array or as JSON lines, atomically. For moving data to Python, Qdrant, Milvus or pgvector.
  void export_metadata(const std::string& path, ExportFormat format = ExportFormat::jsonl) const;
  /// Writes the vectors as a float32 .npy matrix (one row per image, ascending id) and the ids
  /// as a uint64 .npy vector alongside, atomically (numpy.load reads both).
  void export_vectors(const std::string& vectors_npy, const std::string& ids_npy) const;
  /// The same, written to streams as they are produced (standard output, a pipe, a device):
  /// nothing is atomic about a stream. Throws Error(io) when a write fails.
  void export_metadata(std::ostream& out, ExportFormat format = ExportFormat::jsonl) const;
  void export_vectors(std::ostream& vectors_npy, std::ostream& ids_npy) const;
  /// Writes every image (id, vector, record) for another vector database into `directory`,
  /// which must not exist: the files are written into a temporary folder beside it, flushed, and
  /// the folder renamed into place, so a failure or a crash leaves no partial export. Records go
  /// out as export_metadata writes them, vectors with the shortest digits that read back as the
  /// same float32, so an import gives back the same bits. Memory stays bounded at any size (a
  /// chunk of records at a time, plus the list of ids). Also writes imgvec-export.json (the
  /// encoder's fingerprint, dimension, count), which imgvec import checks.
  ExternalExportReport export_external(const std::string& directory, const ExternalExportOptions& options = {}) const;
  /// Reads an export_external folder (Qdrant, Milvus or pgvector) back: ids, vectors (to the
  /// bit) and records, checked to come from this database's encoder (imgvec-export.json). So a
  /// database can be moved, merged, or rebuilt with other index parameters. Images whose source
  /// file is already here are skipped. Streams, a batch at a time; the changes are saved by the
  /// next save() (or logged as they go with Durability::on_write). Throws Error(incompatible)
  /// for another encoder, Error(corrupt_file) naming the file and line for damaged data.
  ImportReport import_export(const std::string& directory, const ImportOptions& options = {});
  /// The same from export_vectors' two .npy files and export_metadata's JSON lines (records in
  /// the vectors' order). These carry no encoder fingerprint: only the dimension is checked.
  ImportReport import_vectors(const std::string& vectors_npy, const std::string& ids_npy,
                              const std::string& records_jsonl, const ImportOptions& options = {});

  std::optional<ImageRecord> get(Id id) const;
  /// The stored (normalized) vector of an image. Throws Error(not_found).
  std::vector<float> get_vector(Id id) const;
  /// All ids, ascending.
  std::vector<Id> ids() const;
  /// The image added from this file path (as stored: index_directory stores absolute paths).
  std::optional<Id> find_source(const std::string& path) const;
  /// Every user metadata key that some record has, sorted (for checking filters).
  std::vector<std::string> metadata_keys() const;
  /// What a filter asks for that no image has: one message per key that is neither a record
  /// field nor any record's metadata key (`no image has the key "camra"; did you mean
  /// "camera"?`), for the CLI's warnings and the server's "warnings". Costs the number of keys.
  std::vector<std::string> filter_warnings(const Where& where) const;
  bool remove(Id id);
  /// Replaces an image's user metadata, and its tags when `tags` is given. Throws Error(not_found).
  void update_metadata(Id id, const Metadata& metadata, const std::vector<std::string>* tags = nullptr);
  /// Changes some metadata keys in one step (no other writer can come between the read and the
  /// write): sets the entries of `set`, removes the keys in `unset`, and replaces the tags when
  /// `tags` is given. Returns the record as it now is. Throws Error(not_found).
  ImageRecord patch_metadata(Id id, const Metadata& set, const std::vector<std::string>& unset,
                             const std::vector<std::string>* tags = nullptr);

  /// Reads the photo facts and the image analysis of images indexed by an imgvec that did not
  /// have them (their record has no analysis), from their files, without embedding them again.
  /// Images without a file, or whose file cannot be read now, are skipped. Returns how many were
  /// refreshed. index_directory does this for the files it finds unchanged when
  /// IndexDirectoryOptions::refresh is set.
  std::size_t refresh_photo_facts(const std::vector<Id>& ids);
  /// Zero-shot content labels (CLIP): each image's stored vector is compared with every label's
  /// prompt, and the most probable labels (LabelOptions: top, min_score) are stored in its record
  /// (ImageRecord::labels; filter with label=NAME), replacing earlier ones. Returns how many
  /// images were labelled. Throws Error(unsupported) when the encoder has no text model (the
  /// built-in one), Error(not_found) for an unknown id in options.ids.
  std::size_t label_images(const LabelOptions& options = {});
  /// Everything above; it counts formats over every record, O(N).
  DatabaseStats get_stats() const;
  /// Changes since the last save (as DatabaseStats::unsaved_changes), in O(1).
  std::size_t unsaved_changes() const;
  std::size_t size() const;
  std::size_t dimension() const;
  const std::string& directory() const;
  /// The encoder; a CLIP model that open(directory, options, model) deferred is loaded now.
  const Encoder& encoder() const;
  /// encoder(), shared with the caller (it outlives the database while held).
  std::shared_ptr<Encoder> shared_encoder() const;
  /// The encoder's fingerprint, from the manifest: never loads a model.
  const EncoderFingerprint& encoder_fingerprint() const;
  /// Whether the encoder is loaded (false after open(directory, options, model) until something is
  /// embedded).
  bool encoder_loaded() const;

  /// The bytes of an image's file, checked against its record: the same size and content hash
  /// as when it was added, so a file replaced since is never handed out as that image. Throws
  /// Error: not_found (no such image, added without a file, the file gone), incompatible (changed
  /// since), too_large (over max_bytes).
  std::vector<std::uint8_t> image_file_bytes(Id id, std::uint64_t max_bytes) const;
  /// A source as the database writes it down: a file in its own files/ folder as
  /// "$DB/files/NAME", any other unchanged. For answers that should not say where the database
  /// lives (imgvec serve).
  std::string portable_source(const std::string& source) const;

  /// Writes the current state as a new generation (see the class comment). Throws Error(io).
  void save();

  struct Impl;

 private:
  explicit VectorDatabase(std::unique_ptr<Impl> impl);
  static std::unique_ptr<VectorDatabase> open_with(const std::string& directory, const OpenOptions& options,
                                                   const std::function<void(Impl&)>& attach);
  struct AddInputs {
    const std::vector<Metadata>* metadata = nullptr;  // one per path, or none
    const std::vector<std::vector<std::string>>* tags = nullptr;
    const std::function<void(std::size_t, std::size_t)>* progress = nullptr;
    const std::function<bool()>* cancelled = nullptr;
    bool detect_renames = true;
    bool checkpoint = false;
    bool remember_failures = false;  // skip files that failed before and have not changed
    std::size_t chunk = 512;
    const void* held_data = nullptr;  // the one path's bytes, in memory: not read from the file
    std::size_t held_size = 0;
    DecodeOptions limits;  // for reading and decoding (min_side: the encoder's)
  };
  std::vector<AddResult> add_paths(const std::vector<std::string>& paths, const AddInputs& inputs);
  std::unique_ptr<Impl> impl_;
};

}  // namespace imgvec
