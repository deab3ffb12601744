#pragma once
// The database's state, shared by its implementation files (database.cpp, duplicates.cpp,
// export.cpp).

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include "database/encoder_slot.hpp"
#include "database/failed_files.hpp"
#include "database/ingest.hpp"
#include "database/manifest.hpp"
#include "database/write_ahead_log.hpp"
#include "imgvec/database.hpp"
#include "imgvec/detail/rw_lock.hpp"
#include "imgvec/error.hpp"

namespace imgvec {
namespace detail {

/// What decides whether a file changed without reading it.
struct FileFacts {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
};

/// A regular file's size and modification time; Error(not_found, io, invalid_argument) naming it.
inline FileFacts stat_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw Error(errno == ENOENT ? ErrorCode::not_found : ErrorCode::io, path + ": cannot read: " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) throw Error(ErrorCode::invalid_argument, path + ": not a regular file");
  return {static_cast<std::uint64_t>(st.st_size),
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace detail

struct VectorDatabase::Impl {
  std::string dir;
  /// The database's files/ folder as records hold it in memory and as files and logs write it.
  SourcePrefix files_prefix;
  detail::EncoderSlot encoder;  // loaded when first needed (encoder_slot.hpp)
  std::unique_ptr<Index> index;
  MetadataStore store;
  detail::Manifest manifest;
  detail::FailedFiles failed;  // files index_directory could not index (failed_files.hpp)
  mutable detail::RwLock lock;  // index + store + failed + manifest.next_id; embedding runs outside it
  std::mutex save_mutex;
  std::shared_mutex files_mutex;  // imported files (imported_files.hpp): imports share it, a save's cleanup excludes them
  int lock_fd = -1;
  Durability durability = Durability::on_save;
  std::unique_ptr<detail::WriteAheadLog> log;  // always there: open() may have replayed one
  std::uint64_t logged = 0;  // log position after the last logged change (under the write lock)
  std::atomic<std::uint64_t> changes{0}, changes_at_save{0};
  std::size_t replayed = 0, dropped_log_bytes = 0;  // what open() found in the log

  ~Impl() {
    if (lock_fd >= 0) ::close(lock_fd);
  }

  // Under the write lock, before a change is applied: counts it and, with Durability::on_write,
  // logs it. A failed append throws before anything changed. The caller syncs to `logged` after
  // releasing the lock (sync_log), so a flush never holds up searches or other writers.
  void log_put(const ImageRecord& rec, const std::vector<float>* vector) {
    if (durability == Durability::on_write) {
      std::string bytes;
      ImageRecord moved;  // only an uploaded file's record is copied, to write "$DB/..." for it
      const ImageRecord* logged_record = &rec;
      if (files_prefix.applies(rec.source, true)) {
        moved = rec;
        moved.source = files_prefix.apply(rec.source, true);
        logged_record = &moved;
      }
      detail::encode_log_put(bytes, *logged_record, vector ? vector->data() : nullptr, vector ? vector->size() : 0);
      logged = log->append(bytes);
    }
    ++changes;
  }
  void log_remove(Id id) {
    if (durability == Durability::on_write) {
      std::string bytes;
      detail::encode_log_remove(bytes, id);
      logged = log->append(bytes);
    }
    ++changes;
  }
  // Under the write lock: the next image id. The counter never wraps: after an import of ids up
  // to kMaxId it stops there, and adds are refused rather than given id 0, 1, 2... which would
  // replace the images stored under them.
  Id take_id() {
    if (manifest.next_id == 0 || manifest.next_id > kMaxId) {
      throw Error(ErrorCode::invalid_argument,
                  dir + ": every image id up to 2^64-2 is taken (an import held ids that large), so "
                        "nothing more can be added; export the database and import it with new ids "
                        "(imgvec import --new-ids) to number its images from 1 again");
    }
    return manifest.next_id++;
  }
  // Outside the lock: returns once the changes up to `position` (a value of `logged` read under
  // the lock) are on the disk.
  void sync_log(std::uint64_t position) {
    if (position) log->sync(position);
  }

  struct Shared {
    const detail::RwLock& l;
    explicit Shared(const detail::RwLock& lk) : l(lk) { const_cast<detail::RwLock&>(l).lock_shared(); }
    ~Shared() { const_cast<detail::RwLock&>(l).unlock_shared(); }
  };

  // Under the write lock: stores one embedded image, reusing the id of its source if known.
  AddResult insert(const std::string& source, const detail::FileFacts* facts, std::uint64_t hash,
                   const detail::IngestedImage& image, const Metadata* metadata, const std::vector<std::string>* tags) {
    const ImageEmbedding& e = image.embedding;
    AddResult r;
    r.source = source;
    ImageRecord rec;
    const auto existing = facts ? store.find_source(source) : std::nullopt;
    if (existing) {
      rec = *store.get(*existing);
      r.status = AddStatus::updated;
    } else {
      rec.id = take_id();
      rec.added_ms = detail::now_ms();
      r.status = AddStatus::added;
    }
    rec.source = source;
    rec.content_hash = hash;
    rec.file_size = facts ? facts->size : 0;
    rec.mtime_ns = facts ? facts->mtime_ns : 0;
    rec.width = e.width;
    rec.height = e.height;
    rec.format = e.format;
    rec.photo = image.photo;
    rec.analysis = image.analysis;
    // No date in its EXIF: the file's modification time is the best guess left, and says so.
    if (!rec.photo.taken_ms && facts) set_taken_from_file_time(rec.photo, facts->mtime_ns);
    if (metadata) rec.metadata = *metadata;
    if (tags) rec.tags = *tags;
    log_put(rec, &e.vector);
    index->add(rec.id, VectorView(e.vector.data(), e.vector.size()));
    r.id = rec.id;
    store.put(std::move(rec));
    return r;
  }

  // Under the write lock: replaces a record's metadata and tags where given. False if nothing
  // changed.
  bool apply_metadata(const ImageRecord& rec, const Metadata* metadata, const std::vector<std::string>* tags) {
    if ((!metadata || *metadata == rec.metadata) && (!tags || *tags == rec.tags)) return false;
    ImageRecord copy = rec;
    if (metadata) copy.metadata = *metadata;
    if (tags) copy.tags = *tags;
    log_put(copy, nullptr);
    store.put(std::move(copy));
    return true;
  }

  // A new path whose bytes match an image whose own file is gone is that image, moved: its
  // record takes the new path (and the metadata and tags given, if any), and its vector stays.
  bool move_record(const std::string& path, const detail::FileFacts& facts, std::uint64_t hash,
                   const Metadata* metadata, const std::vector<std::string>* tags, AddResult& result) {
    std::lock_guard<detail::RwLock> guard(lock);
    if (store.find_source(path)) return false;
    for (Id id : store.find_hash(hash)) {
      const ImageRecord* rec = store.get(id);
      struct stat st {};
      if (rec->source.empty() || ::stat(rec->source.c_str(), &st) == 0) continue;
      ImageRecord moved = *rec;
      moved.source = path;
      moved.file_size = facts.size;
      moved.mtime_ns = facts.mtime_ns;
      if (moved.photo.taken_source == TakenSource::file_time) set_taken_from_file_time(moved.photo, facts.mtime_ns);
      if (metadata) moved.metadata = *metadata;
      if (tags) moved.tags = *tags;
      log_put(moved, nullptr);
      store.put(std::move(moved));
      result.status = AddStatus::renamed;
      result.id = id;
      return true;
    }
    return false;
  }

  // Results in score order, reordered as asked: by date, undated ones last in score order.
  static void sort_results(std::vector<SearchResult>& out, SortOrder order) {
    if (order == SortOrder::score) return;
    const bool newest = order == SortOrder::newest;
    std::stable_sort(out.begin(), out.end(), [newest](const SearchResult& a, const SearchResult& b) {
      const auto& x = a.record.photo.taken_ms;
      const auto& y = b.record.photo.taken_ms;
      if (!x || !y) return x.has_value() && !y.has_value();
      return newest ? *x > *y : *x < *y;
    });
  }

  // Every analysed record that passes the filter, scored by palette similarity: a scan, O(N).
  std::vector<SearchResult> search_colours(const std::vector<Rgb>& colours, const SearchOptions& options) const {
    if (options.k == 0) throw Error(ErrorCode::invalid_argument, "search: k must be at least 1");
    if (colours.empty()) throw Error(ErrorCode::invalid_argument, "search_by_colour: no colours given");
    Shared guard(lock);
    std::vector<std::pair<float, Id>> scored;
    const bool filtered = !options.where.matches_all();
    store.for_each([&](const ImageRecord& r) {
      if (!r.analysis.analysed() || (filtered && !options.where.matches(r))) return;
      const float s = palette_similarity(r.analysis, colours);
      if (!options.min_score || s >= *options.min_score) scored.emplace_back(s, r.id);
    });
    const std::size_t want = std::min(scored.size(), options.k + options.offset);
    // Best first; equal scores by id, so pages are stable.
    std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(want), scored.end(),
                      [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
    std::vector<SearchResult> out;
    for (std::size_t i = options.offset; i < want; ++i) out.push_back({scored[i].second, scored[i].first, *store.get(scored[i].second)});
    sort_results(out, options.sort);
    return out;
  }

  // The ids whose records match, read a chunk at a time, each chunk under its own shared lock: one
  // scan of every record under one lock let a filter of costly patterns hold it for the whole
  // scan, and a writer queued behind it (the lock lets writers in first) stalled every other
  // search until it ended (issue 19). A writer now waits for one chunk at most. A record changed
  // after its chunk is judged again with the results (search() below), so every result matches
  // the filter; one that came to match meanwhile may be missed, as if the search ran first.
  std::vector<Id> matching_ids(const Where& where) const {
    constexpr std::size_t kChunk = 4096;
    std::vector<Id> all, out;
    {
      Shared guard(lock);
      all = store.ids_unordered();
    }
    for (std::size_t start = 0; start < all.size(); start += kChunk) {
      Shared guard(lock);
      for (std::size_t i = start; i < std::min(all.size(), start + kChunk); ++i) {
        const ImageRecord* r = store.get(all[i]);
        if (r && where.matches(*r)) out.push_back(all[i]);
      }
    }
    return out;
  }

  std::vector<SearchResult> search(VectorView q, const SearchOptions& options) const {
    if (options.k == 0) throw Error(ErrorCode::invalid_argument, "search: k must be at least 1");
    if (options.offset > (std::size_t{1} << 32)) throw Error(ErrorCode::invalid_argument, "search: offset is too large");
    SearchParams params(options.k + options.offset);
    params.min_score = options.min_score;
    std::optional<Filter> filter;
    if (!options.where.matches_all()) {
      std::vector<Id> allow = matching_ids(options.where);
      if (allow.empty()) return {};
      filter = Filter::allow(std::move(allow));
      params.filter = &*filter;
    }
    Shared guard(lock);
    if (index->size() == 0) return {};
    std::vector<SearchResult> out;
    const auto hits = index->search(q, params);
    for (std::size_t i = options.offset; i < hits.size(); ++i) {
      const ImageRecord& record = *store.get(hits[i].id);
      // Changed since matching_ids judged it: a result always matches its filter as it now is.
      if (filter && !options.where.matches(record)) continue;
      // Unit vectors' cosine lies in [-1, 1], and a vector's with itself is 1; the float sum of
      // its squares lands a rounding step to either side (1.0000001 seen for a search by a
      // stored id), so the stored image that is the query scores exactly 1.
      float score = std::clamp(hits[i].score, -1.0f, 1.0f);
      if (score > 0.9999f && is_stored_vector(q, hits[i].id)) score = 1.0f;
      out.push_back({hits[i].id, score, record});
    }
    sort_results(out, options.sort);
    return out;
  }

  bool is_stored_vector(VectorView q, Id id) const {
    const std::vector<float> stored = index->get_vector(id);
    return stored.size() == q.size && std::equal(stored.begin(), stored.end(), q.data);
  }
};

}  // namespace imgvec
