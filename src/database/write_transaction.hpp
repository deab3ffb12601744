#pragma once
// The one way a database changes: every writer (adds, renames, metadata, removals, labels,
// imports) goes through a WriteTransaction, which owns the sequence that was written out by hand
// at eight places before (issue 20): under the write lock, each change is counted, logged when
// Durability::on_write asks for it (a failed append throws before anything changed), and applied
// to the index and the records; then the lock is released and the caller waits until the log is
// on the disk, so a flush never holds up searches or other writers (the log's group commit lets
// several writers share one flush).

#include <cstdint>
#include <mutex>
#include <vector>

#include "database/database_impl.hpp"

namespace imgvec::detail {

class WriteTransaction {
 public:
  /// Takes the database's write lock.
  explicit WriteTransaction(VectorDatabase::Impl& db);
  /// Releases the lock if commit() did not (an exception): the changes applied stay, and reach
  /// the disk with the next sync or save.
  ~WriteTransaction();
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;

  /// Stores `record`, replacing the one of its id; with `vector`, its vector is new or changed
  /// and goes into the index too.
  void put(ImageRecord record, const std::vector<float>* vector = nullptr);
  /// Stores records that all come with a vector (vectors[i] is records[i]'s), the vectors added
  /// to the index in one batch, on the index's threads: an import of 100k vectors ran on one
  /// core when each went in alone. Every vector is checked before any is stored.
  void put_batch(std::vector<ImageRecord>& records, const std::vector<std::vector<float>>& vectors);
  /// Removes the image `id` from the records and the index.
  void remove(Id id);
  /// Ends the transaction: releases the lock, then returns once its changes are durable.
  void commit();
  /// Releases the lock without waiting for the disk: for a change made durable by the caller's
  /// next commit (one sync for a chunk of renames, not one each). Returns the log position that
  /// covers it.
  std::uint64_t commit_unsynced();

  /// The database, to read (under this transaction's lock) what the change depends on.
  VectorDatabase::Impl& db;

 private:
  std::unique_lock<RwLock> lock_;
};

}  // namespace imgvec::detail
