#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "imgvec/index/filter.hpp"
#include "imgvec/types.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

namespace detail {
class AtomicFileWriter;
class RwLock;
}

/// Which index implementation a file or object holds. Values are written to disk.
enum class IndexKind : std::uint8_t {
  flat = 1,  ///< exact search, FlatIndex
  hnsw = 2,  ///< approximate graph search, HnswIndex
};

/// The index's name: "flat" or "hnsw".
const char* to_string(IndexKind kind);
/// The inverse of to_string; Error(invalid_argument) naming the text otherwise.
IndexKind parse_index_kind(const std::string& text);

/// A set of vectors under 64-bit ids, searchable by similarity.
///
/// Thread safety: every method may be called from any thread. Searches share a read lock and run
/// concurrently; writes (add, remove, compact, load) take the write lock. A batch add releases the
/// lock between chunks of a few hundred vectors, so searches running alongside a long build wait at
/// most one chunk. Reads see each write complete or not at all.
///
/// Errors: methods throw imgvec::Error for a wrong dimension, an empty or non-finite vector,
/// k == 0 and file problems; nothing already stored is changed by a call that throws.
class Index {
 public:
  virtual ~Index();
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  /// The implementation kind.
  virtual IndexKind kind() const = 0;
  /// The dimension every vector must have.
  std::size_t dimension() const;
  /// The similarity metric.
  Metric metric() const;
  /// How vectors are stored (HnswParams::storage; FlatIndex stores float32).
  virtual VectorStorage storage() const { return VectorStorage::float32; }
  /// How many ids are stored (removed ids excluded).
  std::size_t size() const;
  /// True if `id` is stored.
  bool contains(Id id) const;
  /// All stored ids, in ascending order.
  std::vector<Id> ids() const;

  /// Stores `vector` under `id`, replacing the vector already stored under that id.
  /// With the cosine metric the vector is normalized first; a zero vector is rejected.
  void add(Id id, VectorView vector);
  /// Stores `vectors.rows` vectors under `ids[0..rows)`. When an id repeats, the last row wins.
  /// Validates every row before storing any, so a bad row leaves the index unchanged.
  void add_batch(const Id* ids, MatrixView vectors);
  /// Same, with the ids in a vector of the same length as the matrix.
  void add_batch(const std::vector<Id>& ids, MatrixView vectors);
  /// Removes `id`; returns false if it was not stored.
  bool remove(Id id);
  /// The stored vector of `id` (normalized for cosine). Throws Error(not_found) if absent.
  std::vector<float> get_vector(Id id) const;

  /// The nearest stored vectors to `query`, best first (highest score; equal scores by lower id).
  std::vector<SearchHit> search(VectorView query, const SearchParams& params = {}) const;
  /// One result list per query row, computed on up to threads() threads.
  std::vector<std::vector<SearchHit>> search_batch(MatrixView queries,
                                                   const SearchParams& params = {}) const;
  /// Everything with score >= min_score, best first, at most `limit` results. Exact on FlatIndex,
  /// best effort on HnswIndex (see SearchParams::min_score).
  std::vector<SearchHit> search_threshold(VectorView query, float min_score, std::size_t limit,
                                          const Filter* filter = nullptr) const;

  /// Writes the index to `path` atomically: a crash leaves the old file or the new one.
  void save(const std::string& path) const;
  /// Reads any index file written by save(). Validates the whole file (header, sizes, checksum,
  /// graph structure) before building anything; a bad file throws Error(corrupt_file,
  /// unsupported, io) naming the path and the problem.
  /// If `expected_dimension` is nonzero, a file of another dimension is refused with
  /// Error(incompatible).
  static std::unique_ptr<Index> load(const std::string& path, std::size_t expected_dimension = 0);
  /// Opens an index file for searching without reading it whole, for a one-shot search on a
  /// large index: an HNSW file of format 2 is mapped and searched where it lies (the header, the
  /// upper layers and the sizes are checked now; each base-layer list as a search reads it; the
  /// payload checksum, every link and every label before the first change, which first reads the
  /// file whole into memory as load() does, or by save()). Flat files and older HNSW files are
  /// read as load() reads them. Errors as load(); a search that meets damage throws
  /// Error(corrupt_file) naming the file. The file may be replaced (imgvec saves by rename) but
  /// must not be truncated in place while the index is open.
  static std::unique_ptr<Index> open_mapped(const std::string& path, std::size_t expected_dimension = 0);

  /// Threads used by batch operations (search_batch, add_batch on HNSW, large flat scans).
  std::size_t threads() const;
  /// Sets the thread count for batch operations; 0 means one per hardware thread.
  void set_threads(std::size_t n);

  /// Approximate bytes of memory held by the index (a mapped index counts its file, as loaded).
  std::size_t memory_bytes() const;

 protected:
  Index(std::size_t dimension, Metric metric);

  // Implementations see validated, normalized input and run under the lock the public method took.
  virtual std::size_t do_size() const = 0;
  virtual bool do_contains(Id id) const = 0;
  virtual void do_ids(std::vector<Id>& out) const = 0;
  virtual void do_add(const Id* ids, const float* vectors, std::size_t n) = 0;
  /// Called once before a batch of up to `n` new ids is added in chunks, so storage grows once; it
  /// may also prepare state for the batch's chunks, which do_end_batch releases.
  virtual void do_reserve(std::size_t n) = 0;
  /// Called once after the chunks of a batch that do_reserve began, however the batch ended; it
  /// runs under the writer's lock only (searches may run, and never read that state).
  virtual void do_end_batch() noexcept {}
  virtual bool do_remove(Id id) = 0;
  virtual bool do_get_vector(Id id, float* out) const = 0;
  virtual std::vector<SearchHit> do_search(const float* query, const SearchParams& params) const = 0;
  virtual std::vector<std::vector<SearchHit>> do_search_batch(const float* queries, std::size_t n,
                                                              const SearchParams& params) const;
  virtual void do_save(detail::AtomicFileWriter& out) const = 0;
  virtual std::size_t do_memory_bytes() const = 0;

  /// Guards all state: searches hold it shared, writes exclusive.
  detail::RwLock& state_lock() const;
  /// Serializes writers, so a batch add or a compaction can release state_lock() for searches
  /// between steps without another writer slipping in.
  std::mutex& writer_lock() const;

 private:
  void check_query(VectorView query, const SearchParams& params) const;
  // Dimension, metric, threads and the locks, behind a pointer: members added later do not
  // change Index's layout, which every implementation and every program built on imgvec sees.
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace imgvec
IMGVEC_API_END
