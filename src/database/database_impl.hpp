#pragma once
// The database's state, shared by the files that implement VectorDatabase, one job each:
// lifecycle.cpp (create, open, save, destroy; log_replay.cpp), adding.cpp (files and bytes in),
// directory_sync.cpp (index_directory), search.cpp, mutations.cpp, database_info.cpp, and the
// exchanges (export.cpp, external_export.cpp, import.cpp, imported_files.cpp). Declarations only:
// the write helpers are defined in database_impl.cpp, the search helpers in search.cpp, and every
// change goes through a WriteTransaction (write_transaction.hpp).

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "database/encoder_slot.hpp"
#include "database/failed_files.hpp"
#include "database/file_facts.hpp"
#include "database/ingest.hpp"
#include "database/manifest.hpp"
#include "database/text_cache.hpp"
#include "database/write_ahead_log.hpp"
#include "imgvec/database.hpp"
#include "imgvec/detail/rw_lock.hpp"

namespace imgvec {
namespace detail {
class WriteTransaction;
/// Whether a person said `a` is not a duplicate of image `b` (VectorDatabase::mark_not_duplicates).
bool marked_not_duplicates(const ImageRecord& a, Id b);
}

struct VectorDatabase::Impl {
  std::string dir;
  /// The database's files/ folder as records hold it in memory and as files and logs write it.
  SourcePrefix files_prefix;
  detail::EncoderSlot encoder;  // loaded when first needed (encoder_slot.hpp)
  std::unique_ptr<detail::TextCache> text_cache;  // made once the encoder's fingerprint is known
  std::unique_ptr<Index> index;
  MetadataStore store;
  detail::Manifest manifest;
  detail::FailedFiles failed;  // files index_directory could not index (failed_files.hpp)
  mutable detail::RwLock lock;  // index + store + failed + manifest.next_id; embedding runs outside it
  std::mutex save_mutex;
  std::shared_mutex files_mutex;  // imported files (imported_files.hpp): imports share it, a save's cleanup excludes them
  int lock_fd = -1;
  bool read_only = false;  // OpenOptions::read_only: no lock held, every write refused
  Durability durability = Durability::on_save;
  std::unique_ptr<detail::WriteAheadLog> log;  // always there: open() may have replayed one
  std::uint64_t logged = 0;  // log position after the last logged change (under the write lock)
  std::atomic<std::uint64_t> changes{0}, changes_at_save{0};
  std::size_t replayed = 0, dropped_log_bytes = 0;  // what open() found in the log

  ~Impl();

  /// Throws Error(invalid_argument) naming `what` when the database was opened read-only.
  void refuse_if_read_only(const char* what) const;

  /// A shared (read) hold of `lock`, for code that only reads.
  struct Shared {
    const detail::RwLock& l;
    explicit Shared(const detail::RwLock& lk) : l(lk) { const_cast<detail::RwLock&>(l).lock_shared(); }
    ~Shared() { const_cast<detail::RwLock&>(l).unlock_shared(); }
  };

  // --- changes (database_impl.cpp); the WriteTransaction proves the write lock is held -------
  /// Counts a change and, with Durability::on_write, logs it (for WriteTransaction).
  void log_put(const ImageRecord& rec, const std::vector<float>* vector);
  void log_remove(Id id);
  /// Returns once the log is on the disk up to `position` (outside the lock).
  void sync_log(std::uint64_t position);
  /// The next image id (refused once every id is taken).
  Id take_id();
  /// Stores one ingested image, reusing the id of its source if known.
  AddResult insert(detail::WriteTransaction& tx, const std::string& source, const detail::FileFacts* facts,
                   std::uint64_t hash, const detail::IngestedImage& image, const Metadata* metadata,
                   const std::vector<std::string>* tags);
  /// Replaces a record's metadata and tags where given. False if nothing changed.
  bool apply_metadata(detail::WriteTransaction& tx, const ImageRecord& rec, const Metadata* metadata,
                      const std::vector<std::string>* tags);
  /// The image that `path`, a path no record has, with bytes hashing to `hash`, is: one with those
  /// bytes whose own file is gone (the file moved). Under the lock, shared or not.
  std::optional<Id> moved_image(const std::string& path, std::uint64_t hash) const;
  /// A new path whose bytes match an image whose own file is gone is that image, moved: its
  /// record takes the new path (and the metadata and tags given, if any), and its vector stays.
  bool move_record(detail::WriteTransaction& tx, const std::string& path, const detail::FileFacts& facts,
                   std::uint64_t hash, const Metadata* metadata, const std::vector<std::string>* tags,
                   AddResult& result);

  /// Makes text_cache, for the encoder's fingerprint (after the encoder is chosen).
  void make_text_cache();
  // --- searches (search.cpp) -----------------------------------------------------------------
  /// The embedding of a text query: from the text cache, or the encoder's (then cached).
  std::vector<float> embed_text(const std::string& text) const;
  // The ids in `excluded` (a query's stored examples) are left out of the results, which are the
  // rest's ranks [offset, offset + k).
  std::vector<SearchResult> search(VectorView q, const SearchOptions& options,
                                   const std::vector<Id>& excluded = {}) const;
  /// The ids whose records match, judged a chunk at a time, each chunk under its own shared lock.
  std::vector<Id> matching_ids(const Where& where) const;
  /// Every analysed record that passes the filter, scored by palette similarity: a scan, O(N).
  std::vector<SearchResult> search_colours(const std::vector<Rgb>& colours, const SearchOptions& options) const;
};

}  // namespace imgvec
