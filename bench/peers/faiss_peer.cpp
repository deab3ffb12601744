#include "peers/faiss_peer.hpp"

#include <omp.h>

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace imgvec::bench {
namespace {

class Flat final : public FaissPeer {
 public:
  explicit Flat(std::size_t dim) : index_(static_cast<faiss::Index::idx_t>(dim)) {}
  void build(const float* data, std::size_t n, std::size_t threads) override {
    set_faiss_threads(threads);
    index_.add(static_cast<faiss::Index::idx_t>(n), data);
  }
  void set_ef(std::size_t) override {}
  void search(const float* q, std::size_t nq, std::size_t k, std::int64_t* ids) const override {
    std::vector<float> distances(nq * k);
    index_.search(static_cast<faiss::Index::idx_t>(nq), q, static_cast<faiss::Index::idx_t>(k), distances.data(), ids);
  }
  std::size_t memory_bytes() const override { return index_.codes.size(); }

 private:
  faiss::IndexFlatIP index_;
};

class Hnsw final : public FaissPeer {
 public:
  Hnsw(std::size_t dim, std::size_t M, std::size_t efc)
      : index_(static_cast<int>(dim), static_cast<int>(M), faiss::METRIC_INNER_PRODUCT) {
    index_.hnsw.efConstruction = static_cast<int>(efc);
  }
  void build(const float* data, std::size_t n, std::size_t threads) override {
    set_faiss_threads(threads);
    index_.add(static_cast<faiss::Index::idx_t>(n), data);
  }
  void set_ef(std::size_t ef) override { index_.hnsw.efSearch = static_cast<int>(ef); }
  void search(const float* q, std::size_t nq, std::size_t k, std::int64_t* ids) const override {
    std::vector<float> distances(nq * k);
    index_.search(static_cast<faiss::Index::idx_t>(nq), q, static_cast<faiss::Index::idx_t>(k), distances.data(), ids);
  }
  std::size_t memory_bytes() const override {
    const auto& h = index_.hnsw;
    return static_cast<const faiss::IndexFlat*>(index_.storage)->codes.size() +
           h.neighbors.size() * sizeof(h.neighbors[0]) + h.offsets.size() * sizeof(h.offsets[0]) +
           h.levels.size() * sizeof(h.levels[0]);
  }

 private:
  faiss::IndexHNSWFlat index_;
};

}  // namespace

std::unique_ptr<FaissPeer> make_faiss_flat(std::size_t dim) { return std::make_unique<Flat>(dim); }
std::unique_ptr<FaissPeer> make_faiss_hnsw(std::size_t dim, std::size_t M, std::size_t efc) {
  return std::make_unique<Hnsw>(dim, M, efc);
}
void set_faiss_threads(std::size_t threads) { omp_set_num_threads(static_cast<int>(threads)); }

}  // namespace imgvec::bench
