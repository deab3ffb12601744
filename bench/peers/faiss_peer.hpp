#pragma once
// Faiss 1.7.3 as Debian ships it (libfaiss-dev: built without AVX2, so about 4x slower on flat
// search than the AVX2 wheels pip users get; see docs/benchmarks.md), behind an interface so the
// benchmark's own files never include Faiss.

#include <cstddef>
#include <cstdint>
#include <memory>

namespace imgvec::bench {

class FaissPeer {
 public:
  virtual ~FaissPeer() = default;
  /// Adds rows [0, n) of `data` (normalized) under ids 0..n-1, with Faiss using `threads` threads.
  virtual void build(const float* data, std::size_t n, std::size_t threads) = 0;
  /// HNSW only: the search beam, shared by all callers (Faiss keeps it in the index).
  virtual void set_ef(std::size_t ef) = 0;
  /// The k nearest ids of each of `nq` queries, best first, into ids[nq * k].
  virtual void search(const float* queries, std::size_t nq, std::size_t k, std::int64_t* ids) const = 0;
  virtual std::size_t memory_bytes() const = 0;
};

/// IndexFlatIP (exact inner product).
std::unique_ptr<FaissPeer> make_faiss_flat(std::size_t dim);
/// IndexHNSWFlat with inner product, M and efConstruction as given.
std::unique_ptr<FaissPeer> make_faiss_hnsw(std::size_t dim, std::size_t M, std::size_t ef_construction);
/// The threads Faiss (OpenMP, and BLAS under it) may use from now on.
void set_faiss_threads(std::size_t threads);

}  // namespace imgvec::bench
