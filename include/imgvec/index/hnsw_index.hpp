#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "imgvec/index/index.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

namespace detail {
class CheckedFileReader;
class MappedFile;
struct IndexFileHeader;
std::unique_ptr<Index> load_hnsw_payload(CheckedFileReader&, const IndexFileHeader&,
                                         std::shared_ptr<const MappedFile>);
}  // namespace detail

/// Graph parameters of an HnswIndex. Defaults follow hnswlib's recommendations for 100-1000-d
/// embeddings (M = 16, ef_construction = 200) and reach recall@10 >= 0.95 on CLIP-like data with
/// the default ef_search (docs/benchmarks.md).
struct HnswParams {
  /// Links per node on the upper layers; the base layer keeps 2 * M. Range [2, 2048].
  std::size_t M = 16;
  /// Beam width while inserting: higher builds slower and searches more accurately.
  std::size_t ef_construction = 200;
  /// Default beam width for searches (SearchParams::ef overrides it per query); at least k is used.
  std::size_t ef_search = 64;
  /// Capacity reserved up front; the index grows by itself beyond it.
  std::size_t initial_capacity = 1024;
  /// Seed of the level generator.
  std::uint64_t seed = 100;
  /// float16 halves the memory per vector (512-d: ~2.2 kB -> ~1.2 kB with links) and the memory
  /// traffic of every distance, so searches run faster at the same recall (docs/benchmarks.md).
  VectorStorage storage = VectorStorage::float32;
};

/// Approximate nearest-neighbour search over a hierarchical navigable small-world graph
/// (hnswlib 0.6.2), with distances from imgvec's run-time dispatched SIMD kernels.
///
/// - remove() leaves a tombstone: the node keeps routing searches but is never returned. Adding
///   the id again revives and updates it. compact() rebuilds the graph without tombstones.
/// - Filtered searches pick, per query, an exact scan of the matching ids or a traversal that walks
///   the whole graph but only collects matching nodes, by an estimate of their costs, so recall
///   holds from 0.01% to 100% selectivity.
/// - add_batch inserts on threads() threads.
class HnswIndex final : public Index {
 public:
  /// An empty index. Throws Error(invalid_argument) for a bad dimension or parameter.
  HnswIndex(std::size_t dimension, Metric metric, HnswParams params = {});
  ~HnswIndex() override;

  /// Loads a file written by save() from an HnswIndex. Throws Error(incompatible) for another
  /// kind or, if expected_dimension is nonzero, another dimension.
  static std::unique_ptr<HnswIndex> load(const std::string& path,
                                         std::size_t expected_dimension = 0);
  /// The same file searched where it lies (Index::open_mapped), with load()'s kind check.
  static std::unique_ptr<HnswIndex> open_mapped(const std::string& path,
                                                std::size_t expected_dimension = 0);

  /// True while the index searches its file in place (Index::open_mapped), before anything has
  /// changed it.
  bool mapped() const;

  IndexKind kind() const override { return IndexKind::hnsw; }
  VectorStorage storage() const override;

  /// The graph parameters (ef_search reflects set_ef_search).
  HnswParams params() const;
  /// Sets the default search beam width (>= 1). Thread-safe.
  void set_ef_search(std::size_t ef);
  /// Removed ids still held as tombstones.
  std::size_t tombstones() const;
  /// Rebuilds the graph from the live vectors, dropping tombstones and releasing their memory.
  /// Searches keep running on the old graph during the rebuild; writers wait.
  void compact();

 private:
  friend std::unique_ptr<Index> detail::load_hnsw_payload(detail::CheckedFileReader&,
                                                          const detail::IndexFileHeader&,
                                                          std::shared_ptr<const detail::MappedFile>);
  struct Impl;
  std::size_t do_size() const override;
  bool do_contains(Id id) const override;
  void do_ids(std::vector<Id>& out) const override;
  void do_add(const Id* ids, const float* vectors, std::size_t n) override;
  void do_reserve(std::size_t n) override;
  void do_end_batch() noexcept override;
  bool do_remove(Id id) override;
  bool do_get_vector(Id id, float* out) const override;
  std::vector<SearchHit> do_search(const float* query, const SearchParams& params) const override;
  void do_save(detail::AtomicFileWriter& out) const override;
  std::size_t do_memory_bytes() const override;

  std::unique_ptr<Impl> impl_;
};

}  // namespace imgvec
IMGVEC_API_END
