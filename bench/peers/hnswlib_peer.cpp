#include "hnswlib_peer.hpp"

#include <hnswlib/hnswlib.h>

#include <thread>
#include <vector>

namespace imgvec::bench {
namespace {

class Peer final : public HnswlibPeer {
 public:
  Peer(std::size_t dim, std::size_t capacity, std::size_t M, std::size_t ef_construction)
      : dim_(dim), space_(dim), index_(&space_, capacity, M, ef_construction) {}

  void build(const float* data, std::size_t n, std::size_t threads) override {
    // The same scheme as hnswlib's Python binding: threads take rows from a shared counter.
    std::atomic<std::size_t> next{0};
    auto work = [&] {
      for (std::size_t i; (i = next.fetch_add(1)) < n;) index_.addPoint(data + i * dim_, i);
    };
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
  }

  void set_ef(std::size_t ef) override { index_.setEf(ef); }

  void search(const float* query, std::size_t k, std::uint64_t* ids) const override {
    auto result = index_.searchKnn(query, k);
    for (std::size_t i = result.size(); i-- > 0;) {
      ids[i] = result.top().second;
      result.pop();
    }
  }

 private:
  std::size_t dim_;
  hnswlib::InnerProductSpace space_;
  hnswlib::HierarchicalNSW<float> index_;
};

}  // namespace

std::unique_ptr<HnswlibPeer> make_hnswlib_peer(std::size_t dim, std::size_t capacity, std::size_t M,
                                               std::size_t ef_construction) {
  return std::make_unique<Peer>(dim, capacity, M, ef_construction);
}

}  // namespace imgvec::bench
