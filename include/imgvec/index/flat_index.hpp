#pragma once

#include <memory>
#include <string>
#include <vector>

#include "imgvec/index/index.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

namespace detail {
class CheckedFileReader;
struct IndexFileHeader;
std::unique_ptr<Index> load_flat_payload(CheckedFileReader&, const IndexFileHeader&);
}  // namespace detail

/// Exact search by scanning every vector with SIMD kernels chosen at run time for the CPU
/// (AVX-512, AVX2+FMA, or a portable fallback). Batch searches use a register-blocked, GEMM-like
/// kernel; a single query over a large index is split across threads(). Results are exact,
/// including filtered and threshold searches. Memory: 4 * dimension + ~40 bytes per vector.
class FlatIndex final : public Index {
 public:
  /// An empty index of `dimension`-d vectors. Throws Error(invalid_argument) for dimension 0.
  FlatIndex(std::size_t dimension, Metric metric);

  /// Loads a file written by save() from a FlatIndex. Throws Error(incompatible) for another kind
  /// or, if expected_dimension is nonzero, another dimension.
  static std::unique_ptr<FlatIndex> load(const std::string& path,
                                         std::size_t expected_dimension = 0);

  IndexKind kind() const override { return IndexKind::flat; }
  ~FlatIndex() override;

 private:
  friend std::unique_ptr<Index> detail::load_flat_payload(detail::CheckedFileReader&,
                                                          const detail::IndexFileHeader&);
  std::size_t do_size() const override;
  bool do_contains(Id id) const override;
  void do_ids(std::vector<Id>& out) const override;
  void do_add(const Id* ids, const float* vectors, std::size_t n) override;
  void do_reserve(std::size_t n) override;
  bool do_remove(Id id) override;
  bool do_get_vector(Id id, float* out) const override;
  std::vector<SearchHit> do_search(const float* query, const SearchParams& params) const override;
  std::vector<std::vector<SearchHit>> do_search_batch(const float* queries, std::size_t n,
                                                      const SearchParams& params) const override;
  void do_save(detail::AtomicFileWriter& out) const override;
  std::size_t do_memory_bytes() const override;
  void scan(const float* query, std::size_t begin, std::size_t end, void* topk) const;

  // The rows, behind a pointer (flat_index.cpp), so the class's layout never changes.
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace imgvec
IMGVEC_API_END
