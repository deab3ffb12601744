#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "imgvec/image/analysis.hpp"
#include "imgvec/image/image.hpp"
#include "imgvec/image/photo_facts.hpp"
#include "imgvec/metadata/label.hpp"
#include "imgvec/types.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

/// A user metadata value. Integers and doubles are kept apart (a filter on 3 matches 3 and 3.0).
using MetadataValue = std::variant<std::string, std::int64_t, double, bool, std::vector<std::string>>;
/// User metadata: typed values under string keys.
using Metadata = std::map<std::string, MetadataValue>;

/// What the database knows about one image besides its vector.
struct ImageRecord {
  Id id = 0;
  std::string source;              ///< the file it came from; empty when added from memory
  std::uint64_t content_hash = 0;  ///< XXH3-64 of the encoded file's bytes
  std::uint64_t file_size = 0;     ///< bytes
  std::int64_t mtime_ns = 0;       ///< the file's modification time, ns since the Unix epoch
  std::uint32_t width = 0, height = 0;  ///< as the image is seen (after EXIF orientation)
  ImageFormat format = ImageFormat::unknown;
  std::int64_t added_ms = 0;       ///< when it was added, ms since the Unix epoch
  Metadata metadata;
  std::vector<std::string> tags;
  /// Date taken, camera, lens and GPS from its EXIF data; the date may come from a camera's file
  /// name pattern instead (PhotoFacts::taken_source says which), never from the file's time.
  PhotoFacts photo;
  /// Dominant colours, brightness, saturation, colourfulness and tone, measured when it was
  /// added (empty for images added by imgvec before 0.2).
  ImageAnalysis analysis;
  /// Zero-shot content labels, most probable first (VectorDatabase::label_images).
  std::vector<Label> labels;
  /// The number format the model computed its vector in when not float32 ("bf16", "fp16";
  /// Encoder::precision). The vectors of every precision are interchangeable; this says which
  /// images to embed again should float32's be wanted.
  std::string precision;

  bool operator==(const ImageRecord& o) const;
};

/// How sources under one folder are written to disk: a record whose source starts with
/// `in_memory` is written with `on_disk` in its place, and read back the other way. The database
/// uses it for the images it keeps in its own files/ folder, written as "$DB/files/NAME", so a
/// database moved to another folder still finds them.
struct SourcePrefix {
  std::string in_memory, on_disk;
  /// Whether `source` starts with the prefix it has in memory (to_disk) or on disk (!to_disk).
  bool applies(const std::string& source, bool to_disk) const;
  /// `source` as written (to_disk) or as read (!to_disk).
  std::string apply(const std::string& source, bool to_disk) const;
};

/// Per-image records by id, with lookups by source path and by content hash, saved to a
/// versioned, checksummed file (docs/file-format.md) written atomically. Not thread-safe: the
/// database serializes access.
class MetadataStore {
 public:
  MetadataStore();
  MetadataStore(MetadataStore&&) noexcept;
  MetadataStore& operator=(MetadataStore&&) noexcept;
  ~MetadataStore();

  /// Inserts or replaces the record with record.id.
  void put(ImageRecord record);
  /// The record, or nullptr. The pointer lives until the next change to the store.
  const ImageRecord* get(Id id) const;
  bool contains(Id id) const { return get(id) != nullptr; }
  /// Removes a record; false if there was none.
  bool remove(Id id);
  std::size_t size() const;
  /// All ids, ascending.
  std::vector<Id> ids() const;
  /// All ids in no particular order (no sort: for a scan that sorts, or needs no order).
  std::vector<Id> ids_unordered() const;
  /// Every user metadata key some record holds, sorted; kept as records change, so asking costs
  /// the number of keys, not of records.
  std::vector<std::string> metadata_keys() const;
  /// Every tag some record holds, sorted.
  std::vector<std::string> tags() const;
  /// How many records hold zero-shot labels.
  std::size_t labelled_count() const;
  /// How many records there are of each image format, by the format's name; kept as records
  /// change.
  std::map<std::string, std::size_t> format_counts() const;
  /// The record added from `source` (a path), if any.
  std::optional<Id> find_source(const std::string& source) const;
  /// Records whose file had these bytes.
  std::vector<Id> find_hash(std::uint64_t content_hash) const;
  /// Calls fn(record) for every record in id order.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (Id id : ids()) fn(*get(id));
  }

  /// Writes the store to `path` atomically. Throws imgvec::Error (io) naming the path.
  void save(const std::string& path, const SourcePrefix* prefix = nullptr) const;
  /// Reads a store. Throws imgvec::Error naming the path: not_found, corrupt_file (damaged,
  /// truncated, not ours), unsupported (a newer format).
  static MetadataStore load(const std::string& path, const SourcePrefix* prefix = nullptr);
  /// The same file, its records read from it as they are asked for (format 3; older files are
  /// loaded): an open that reads the header, the counts of keys, tags and labels and an id table,
  /// for a one-shot command on a large database. Damage in a record is Error(corrupt_file) naming
  /// the path where it is read; the file's checksum is checked by save(). A lookup by source or
  /// hash reads every record the first time. The file may be replaced (imgvec saves by rename),
  /// not truncated in place, while the store is open.
  static MetadataStore open_mapped(const std::string& path, const SourcePrefix* prefix = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace imgvec
IMGVEC_API_END
