#pragma once
// Data for tests and benchmarks: synthetic vectors shaped like CLIP embeddings, .fvecs/.ivecs I/O,
// exact ground truth and recall. Not part of the installed library.

#include <cstdint>
#include <string>
#include <vector>

#include "imgvec/index/index.hpp"

namespace imgvec::testing {

/// The row count of a test's data set in this build: `full`, or a quarter of it in the sanitizer
/// builds (IMGVEC_TESTS_SANITIZED), where a 20k x 512 graph build at -O1 with instrumentation takes
/// 30 s and seven such tests took 7 of the ASan stage's 9 CPU minutes. There the tests look for
/// memory and undefined-behaviour errors on the same code paths; recall is asserted at full size by
/// the plain build.
constexpr std::size_t test_rows(std::size_t full) {
#ifdef IMGVEC_TESTS_SANITIZED
  return full / 4;
#else
  return full;
#endif
}

/// Row-major float matrix.
struct Dataset {
  std::size_t rows = 0;
  std::size_t dim = 0;
  std::vector<float> data;
  MatrixView view() const { return {data.data(), rows, dim}; }
  const float* row(std::size_t i) const { return data.data() + i * dim; }
};

/// Unit vectors shaped like CLIP image embeddings: a direction shared by everything (random pairs
/// have cosine ~0.5, as CLIP's do), clusters of uneven (Zipf-like) size around it, and points
/// spread around their cluster centre. `clusters` = 0 picks rows / 100. Queries drawn with the
/// same seed and a different `stream` come from the same distribution but are not in the base.
Dataset clustered(std::size_t rows, std::size_t dim, std::uint64_t seed, std::uint64_t stream = 0,
                  std::size_t clusters = 0);

/// The shape of clip_like's data; the defaults give the statistics it documents.
struct ClipLikeShape {
  double shared = 1.34;         // weight of the direction every vector shares (centres have 1)
  std::size_t clusters = 1500;  // the same for a base and its queries (about rows / 64)
  double zipf = 1.0;            // cluster c has weight 1 / (c + 1)^zipf
  std::size_t rank = 12;        // local dimension: directions of spread per cluster
  double spread = 0.6;          // scale of the spread along a cluster's first direction
  double noise = 0.52;          // isotropic noise, relative to a unit vector's length
};

/// Harder data shaped like CLIP image embeddings: power-law clusters, each spread along a few
/// directions of its own (low local dimension) plus a little isotropic noise, around a shared
/// direction: the statistics of real CLIP image embeddings (issue 22). Measured at 100k x 512 with
/// 1500 clusters, 1000 queries from another stream: mean cosine to the nearest neighbour 0.878,
/// to the tenth 0.816, median random pair 0.441. HNSW (M 16, efC 200) needs ef 32 for recall@10
/// 0.95 on it and about 200 for 0.99, against about 90 on `clustered` data. Unlike `clustered`, the
/// number of clusters does not follow the row count, so queries come from every cluster.
Dataset clip_like(std::size_t rows, std::size_t dim, std::uint64_t seed, std::uint64_t stream = 0,
                  const ClipLikeShape& shape = {});

/// What a data set looks like from its queries: the mean cosine from a query to its nearest and to
/// its tenth nearest neighbour (truth: each query's exact top ids, at least 10), and the median
/// cosine of 20000 random pairs of base vectors. Benchmarks record it beside their figures.
struct NeighbourCosines {
  double nearest = 0, tenth = 0, median_pair = 0;
};
NeighbourCosines neighbour_cosines(const Dataset& base, const Dataset& queries,
                                   const std::vector<std::vector<Id>>& truth);

/// Reads .fvecs (or .ivecs into floats is not needed): each row is an int32 dimension then floats.
Dataset read_fvecs(const std::string& path, std::size_t max_rows = 0);
/// Reads .ivecs ground truth: each row an int32 count then int32 ids.
std::vector<std::vector<std::uint32_t>> read_ivecs(const std::string& path, std::size_t max_rows = 0);

/// Exact top-k ids for each query with a FlatIndex (ids are row numbers).
std::vector<std::vector<Id>> ground_truth(const Dataset& base, const Dataset& queries, std::size_t k,
                                          Metric metric, const Filter* filter = nullptr);

/// Mean over queries of |found ∩ truth| / min(k, |truth|), using the first k of each.
double recall_at_k(const std::vector<std::vector<SearchHit>>& found,
                   const std::vector<std::vector<Id>>& truth, std::size_t k);

/// The largest |score - exact cosine| over all results, in double: how far an index's scores are
/// from the true ones (result ids are row numbers of `base`; row q of `found` answers query q).
double worst_cosine_error(const std::vector<std::vector<SearchHit>>& found, const Dataset& base,
                          const Dataset& queries);

/// Ids 0..n-1, as an index's keys for a dataset's rows.
std::vector<Id> iota_ids(std::size_t n);

}  // namespace imgvec::testing
