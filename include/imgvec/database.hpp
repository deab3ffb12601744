#pragma once
// VectorDatabase, the library's facade. Its option and result types live in imgvec/database/,
// one header per feature, all included here.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imgvec/database/adding.hpp"
#include "imgvec/database/duplicates.hpp"
#include "imgvec/database/exchange.hpp"
#include "imgvec/database/library.hpp"
#include "imgvec/database/options.hpp"
#include "imgvec/database/search_options.hpp"
#include "imgvec/database/stats.hpp"
#include "imgvec/encoder/encoder.hpp"
#include "imgvec/image/url_fetch.hpp"
#include "imgvec/index/index.hpp"
#include "imgvec/labels.hpp"
#include "imgvec/metadata/metadata_store.hpp"
#include "imgvec/metadata/where.hpp"
#include "imgvec/query.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

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
  /// Says what holds the database open ("imgvec serve at http://127.0.0.1:8080/"), for the
  /// message another process gets when it finds the database locked. Throws Error(io).
  void describe_holder(const std::string& text);
  /// Whether this handle was opened with OpenOptions::read_only.
  bool read_only() const;
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
  /// Throws Error(unsupported) when the encoder has no text model. The text's embedding comes
  /// from the text cache when it is there (see text_cache_counts).
  std::vector<SearchResult> search_by_text(const std::string& text, const SearchOptions& options = {}) const;
  /// The query vector search_by_text would use (to search it several ways), through the text
  /// cache. Throws Error(unsupported) when the encoder has no text model.
  std::vector<float> embed_text(const std::string& text) const;
  /// Text queries' embeddings are kept, so that a repeated text costs a lookup instead of the
  /// text model (and, in a new process, instead of loading it): the last 1024 texts in memory
  /// (set_text_cache_entries), and the most recent 256 in the folder's text-cache.imgvtext,
  /// written at save() and when the database closes (not by a read-only open), read by the first
  /// text query of a later open. Entries belong to the database's encoder; texts over 4096 bytes
  /// are not kept.
  struct TextCacheCounts {
    std::size_t entries = 0, capacity = 0;
    std::uint64_t hits = 0, misses = 0;
  };
  TextCacheCounts text_cache_counts() const;
  /// How many texts the cache keeps in memory (0: none; the file then stops growing too).
  void set_text_cache_entries(std::size_t entries);
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
  /// array, as JSON lines or as CSV (ExportFormat), atomically. For moving data to Python,
  /// Qdrant, Milvus or pgvector, or to a spreadsheet. export_format_for_path(path) chooses the
  /// format from a file's name.
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
  /// "camera"?`), per tag no image has (with "did you mean"), and for `label` while no image is
  /// labelled; for the CLI's warnings and the server's "warnings". Costs the number of keys and
  /// tags.
  std::vector<std::string> filter_warnings(const Where& where) const;
  /// The images matching options.where in date order, a page at a time (ListOptions), with how
  /// many match in all: a photo library's view, no query needed. O(N log N) in the matches.
  ImageList list_images(const ListOptions& options = {}) const;
  /// The cameras, labels, tags, colours and date range of the whole library. O(N).
  LibraryFacets facets() const;
  /// Remembers that the images `ids` are not duplicates of each other (a person looked): every
  /// pair among them is left out of find_duplicates from now on. Kept in each record's metadata
  /// as "not_duplicates" (the other ids, as text), so it is saved, logged, exported and
  /// imported as metadata is. Throws Error(not_found) for an unknown id, (invalid_argument) for
  /// fewer than two.
  void mark_not_duplicates(const std::vector<Id>& ids);
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
  /// Does nothing on a database opened read-only (it cannot have changed).
  void save();

  struct Impl;

 private:
  explicit VectorDatabase(std::unique_ptr<Impl> impl);
  static std::unique_ptr<VectorDatabase> open_read_only(const std::string& directory, const OpenOptions& options,
                                                        const std::function<void(Impl&)>& attach);
  static std::unique_ptr<VectorDatabase> open_with(const std::string& directory, const OpenOptions& options,
                                                   const std::function<void(Impl&)>& attach);
  struct AddInputs;  // src/database/add_inputs.hpp
  std::vector<AddResult> add_paths(const std::vector<std::string>& paths, const AddInputs& inputs);
  std::unique_ptr<Impl> impl_;
};

}  // namespace imgvec
IMGVEC_API_END
