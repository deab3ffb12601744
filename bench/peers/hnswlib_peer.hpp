#pragma once
// Raw hnswlib 0.6.2, compiled the way its users build it (-O3 -march=native), in its own shared
// library with hidden symbols so its header-defined functions cannot clash with imgvec's copy.

#include <cstddef>
#include <cstdint>
#include <memory>

namespace imgvec::bench {

class HnswlibPeer {
 public:
  virtual ~HnswlibPeer() = default;
  /// Inserts rows [0, n) of `data` under ids 0..n-1 on `threads` threads.
  virtual void build(const float* data, std::size_t n, std::size_t threads) = 0;
  virtual void set_ef(std::size_t ef) = 0;
  /// Writes the k nearest ids, best first.
  virtual void search(const float* query, std::size_t k, std::uint64_t* ids) const = 0;
};

/// Inner-product space (the data is normalized, so this is cosine).
__attribute__((visibility("default"))) std::unique_ptr<HnswlibPeer> make_hnswlib_peer(
    std::size_t dim, std::size_t capacity, std::size_t M, std::size_t ef_construction);

}  // namespace imgvec::bench
