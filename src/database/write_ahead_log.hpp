#pragma once
// The database's write-ahead log (docs/file-format.md, "Write-ahead log"): every change since the
// last save, appended and synced before the change is acknowledged, replayed by open().
//
// Logs are numbered files `log-<n>.imgvlog`. The manifest names the first one whose changes are
// not in the saved generation (Manifest::log_start); open() replays that one and every next
// number present, in order. A save rotates to a new number while writers are held off, so each
// log holds exactly the changes between two snapshots, and deletes the logs the new generation
// covers once the manifest has switched to it.
//
// An entry is framed by its length and an XXH3-64 of its bytes. Appends are ordered by the
// database's write lock; durability is separate: sync(lsn) returns once every byte up to `lsn` is
// on the disk, and concurrent callers share one fdatasync (group commit).

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imgvec/metadata/metadata_store.hpp"

namespace imgvec::detail {

std::string log_path(const std::string& dir, std::uint64_t number);

/// One change, as logged.
struct LogEntry {
  enum class Kind : std::uint8_t { put = 1, remove = 2 };
  Kind kind = Kind::put;
  ImageRecord record;         // put: the record as it now is; remove: only the id
  std::vector<float> vector;  // put: the new vector, or empty when only the record changed
};

/// Appends a put entry's encoded bytes (frame included) to `out`: the record as it now is and,
/// when its vector changed, the new vector (`dimension` floats; none when `vector` is null).
/// Throws Error(invalid_argument) for an entry over 64 MiB (a record with that much metadata).
void encode_log_put(std::string& out, const ImageRecord& record, const float* vector,
                    std::size_t dimension);
/// Appends a remove entry's encoded bytes to `out`.
void encode_log_remove(std::string& out, Id id);

/// What reading a log found.
struct LogContents {
  std::vector<LogEntry> entries;
  std::uint64_t valid_bytes = 0;    // the header and the complete entries
  std::uint64_t dropped_bytes = 0;  // an incomplete tail, or (accepted) damage and all after it
  bool damaged = false;             // intact entries followed the bad one (accepted damage)
};

/// What a log must be to be replayed into a database.
struct LogExpectation {
  /// The log's number, as its file name says (a header that says another is refused); 0: any.
  std::uint64_t number = 0;
  /// The database's identity (Manifest::database_id); a log that names another is refused. 0
  /// (a database made before identities, or a log written before them): not checked.
  std::uint64_t database_id = 0;
  /// Damage followed by intact entries is accepted: replay stops at it and the rest is counted
  /// as dropped (`imgvec repair`). Otherwise it is refused.
  bool accept_damage = false;
};

/// Reads a log file. An entry that is incomplete or fails its checksum ends the log. If nothing
/// intact follows it, it is a write the crash cut short, never acknowledged (acknowledged bytes
/// were synced, and are a prefix): counted as dropped. If an intact entry follows it, the log
/// was damaged after the fact, and acknowledged changes would be lost: Error(corrupt_file)
/// naming the file, the offset and `imgvec repair`, unless `expect.accept_damage`. Also throws
/// corrupt_file for a damaged header followed by entries or a header naming another log number,
/// and incompatible for a log of another dimension or another database; a header cut short with
/// nothing after it is an empty log.
LogContents read_log(const std::string& path, std::uint32_t dimension, const LogExpectation& expect = {});

/// Parses a log held in memory (the fuzz target's entry point); `path` names it in errors.
LogContents parse_log(std::string_view bytes, const std::string& path, std::uint32_t dimension,
                      const LogExpectation& expect = {});

/// The number of a file named exactly log-<number>.imgvlog (no leading zeros), else nullopt.
std::optional<std::uint64_t> log_number_of(const std::string& file_name);

class WriteAheadLog {
 public:
  /// Appends go to `log-<number>` in `dir`, created on the first append; its header names the
  /// database (`database_id`).
  WriteAheadLog(std::string dir, std::uint64_t number, std::uint32_t dimension, std::uint64_t database_id);
  ~WriteAheadLog();
  WriteAheadLog(const WriteAheadLog&) = delete;
  WriteAheadLog& operator=(const WriteAheadLog&) = delete;

  /// Writes one encoded entry (the caller holds the database's write lock, which orders entries
  /// like the changes they describe) and returns the log position after it, for sync(). A failed
  /// write is cut back off the file and throws Error(io); the change must then not be applied.
  std::uint64_t append(std::string_view encoded);
  /// Returns once every appended byte up to `position` is on the disk. One caller syncs for all
  /// who wait meanwhile. Throws Error(io) if the sync failed; the log then refuses appends until
  /// the next save has made everything durable another way.
  void sync(std::uint64_t position);
  /// Number of the log appends go to. Under the database's write lock (or its shared lock, which
  /// keeps appends out), for a save: syncs and closes the current file and moves to `number + 1`.
  /// Returns the new number: the first log the snapshot being saved does not cover.
  std::uint64_t rotate();
  /// Bytes appended since the last rotation (or construction).
  std::uint64_t pending_bytes() const;
  std::uint64_t number() const;
  /// How many flushes (fdatasync) appends have waited for so far: with group commit, fewer than
  /// the changes synced.
  std::uint64_t syncs() const;
  /// A save has made every appended change durable (after the manifest switched): clears a sync
  /// failure.
  void saved();

 private:
  void open_file();
  void fail_locked(const std::string& what);
  std::string dir_;
  std::uint32_t dimension_;
  std::uint64_t database_id_;
  mutable std::mutex mutex_;
  std::condition_variable synced_cv_;
  std::uint64_t number_;
  int fd_ = -1;
  std::uint64_t file_bytes_ = 0;  // bytes in the current file
  std::uint64_t base_ = 0;        // log position where the current file's entries start
  std::uint64_t written_ = 0;     // log positions are cumulative over files, so waiters can compare
  std::uint64_t synced_ = 0;
  bool syncing_ = false;
  std::uint64_t syncs_ = 0;
  std::string broken_;  // why appends are refused, after a failed sync
};

}  // namespace imgvec::detail
