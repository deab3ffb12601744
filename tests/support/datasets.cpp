#include "datasets.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <stdexcept>
#include <unordered_set>

#include "imgvec/index/flat_index.hpp"

namespace imgvec::testing {
namespace {

void normalize(float* v, std::size_t d) {
  double s = 0;
  for (std::size_t i = 0; i < d; ++i) s += double(v[i]) * v[i];
  const float inv = float(1.0 / std::sqrt(s));
  for (std::size_t i = 0; i < d; ++i) v[i] *= inv;
}

void gaussian(std::mt19937_64& rng, float* v, std::size_t d, float scale) {
  std::normal_distribution<float> n(0.0f, scale);
  for (std::size_t i = 0; i < d; ++i) v[i] = n(rng);
}

// A direction drawn uniformly from the unit sphere.
void random_unit(std::mt19937_64& rng, float* v, std::size_t d) {
  gaussian(rng, v, d, 1.0f / std::sqrt(float(d)));
  normalize(v, d);
}

}  // namespace

Dataset clustered(std::size_t rows, std::size_t dim, std::uint64_t seed, std::uint64_t stream,
                  std::size_t clusters) {
  if (clusters == 0) clusters = std::max<std::size_t>(1, rows / 100);
  // Centres depend only on the seed, so base and query sets share them.
  std::mt19937_64 rng(seed);
  const float unit = 1.0f / std::sqrt(float(dim));
  std::vector<float> shared(dim), centres(clusters * dim);
  random_unit(rng, shared.data(), dim);
  std::vector<double> weight(clusters);
  for (std::size_t c = 0; c < clusters; ++c) {
    float* ctr = centres.data() + c * dim;
    gaussian(rng, ctr, dim, unit);
    for (std::size_t i = 0; i < dim; ++i) ctr[i] += shared[i];
    normalize(ctr, dim);
    weight[c] = 1.0 / std::pow(double(c + 1), 0.7);
  }
  std::discrete_distribution<std::size_t> pick(weight.begin(), weight.end());
  std::mt19937_64 points(seed * 0x9E3779B97F4A7C15ull + stream + 1);
  Dataset out;
  out.rows = rows;
  out.dim = dim;
  out.data.resize(rows * dim);
  std::uniform_real_distribution<float> spread(0.45f, 0.8f);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* ctr = centres.data() + pick(points) * dim;
    float* v = out.data.data() + r * dim;
    gaussian(points, v, dim, unit * spread(points));
    for (std::size_t i = 0; i < dim; ++i) v[i] += ctr[i];
    normalize(v, dim);
  }
  return out;
}

Dataset clip_like(std::size_t rows, std::size_t dim, std::uint64_t seed, std::uint64_t stream,
                  const ClipLikeShape& shape) {
  const std::size_t clusters = std::max<std::size_t>(1, shape.clusters);
  const std::size_t rank = std::min(shape.rank, dim);
  // Centres and each cluster's directions depend only on the seed, so base and query sets share
  // them.
  std::mt19937_64 rng(seed);
  const float unit = 1.0f / std::sqrt(float(dim));
  std::vector<float> shared(dim), centres(clusters * dim), bases(clusters * rank * dim);
  random_unit(rng, shared.data(), dim);
  std::vector<double> weight(clusters);
  for (std::size_t c = 0; c < clusters; ++c) {
    random_unit(rng, centres.data() + c * dim, dim);
    // Random directions in 512 dimensions are nearly orthogonal; direction j is scaled by
    // 1/sqrt(j + 1), so a few dominate, as in a real embedding's local principal components.
    for (std::size_t j = 0; j < rank; ++j) {
      float* b = bases.data() + (c * rank + j) * dim;
      random_unit(rng, b, dim);
      for (std::size_t i = 0; i < dim; ++i) b[i] *= float(1.0 / std::sqrt(double(j + 1)));
    }
    weight[c] = 1.0 / std::pow(double(c + 1), shape.zipf);
  }
  std::discrete_distribution<std::size_t> pick(weight.begin(), weight.end());
  std::mt19937_64 points(seed * 0xD1B54A32D192ED03ull + stream + 1);
  std::normal_distribution<float> normal;
  Dataset out;
  out.rows = rows;
  out.dim = dim;
  out.data.resize(rows * dim);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t c = pick(points);
    const float* ctr = centres.data() + c * dim;
    float* v = out.data.data() + r * dim;
    gaussian(points, v, dim, unit * float(shape.noise));
    for (std::size_t i = 0; i < dim; ++i) v[i] += ctr[i] + float(shape.shared) * shared[i];
    for (std::size_t j = 0; j < rank; ++j) {
      const float a = normal(points) * float(shape.spread);
      const float* b = bases.data() + (c * rank + j) * dim;
      for (std::size_t i = 0; i < dim; ++i) v[i] += a * b[i];
    }
    normalize(v, dim);
  }
  return out;
}

NeighbourCosines neighbour_cosines(const Dataset& base, const Dataset& queries,
                                   const std::vector<std::vector<Id>>& truth) {
  auto cosine = [&](const float* a, const float* b) {
    double s = 0;
    for (std::size_t i = 0; i < base.dim; ++i) s += double(a[i]) * b[i];
    return s;
  };
  NeighbourCosines out;
  std::size_t counted = 0;
  for (std::size_t q = 0; q < queries.rows && q < truth.size(); ++q) {
    if (truth[q].size() < 10) continue;
    out.nearest += cosine(queries.row(q), base.row(truth[q][0]));
    out.tenth += cosine(queries.row(q), base.row(truth[q][9]));
    ++counted;
  }
  if (counted) {
    out.nearest /= double(counted);
    out.tenth /= double(counted);
  }
  if (base.rows > 0) {
    std::mt19937_64 rng(7);
    std::vector<double> pairs(20000);
    for (double& p : pairs) p = cosine(base.row(rng() % base.rows), base.row(rng() % base.rows));
    std::nth_element(pairs.begin(), pairs.begin() + pairs.size() / 2, pairs.end());
    out.median_pair = pairs[pairs.size() / 2];
  }
  return out;
}

Dataset read_fvecs(const std::string& path, std::size_t max_rows) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  Dataset out;
  std::int32_t d = 0;
  while (in.read(reinterpret_cast<char*>(&d), sizeof d)) {
    if (d <= 0 || d > (1 << 20)) throw std::runtime_error(path + ": bad row dimension");
    if (out.dim == 0) out.dim = std::size_t(d);
    if (std::size_t(d) != out.dim) throw std::runtime_error(path + ": rows differ in dimension");
    const std::size_t at = out.data.size();
    out.data.resize(at + out.dim);
    if (!in.read(reinterpret_cast<char*>(out.data.data() + at), std::streamsize(out.dim * 4))) {
      throw std::runtime_error(path + ": truncated row");
    }
    if (++out.rows == max_rows) break;
  }
  return out;
}

std::vector<std::vector<std::uint32_t>> read_ivecs(const std::string& path, std::size_t max_rows) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::vector<std::vector<std::uint32_t>> out;
  std::int32_t n = 0;
  while (in.read(reinterpret_cast<char*>(&n), sizeof n)) {
    if (n < 0 || n > (1 << 20)) throw std::runtime_error(path + ": bad row length");
    out.emplace_back(std::size_t(n));
    if (!in.read(reinterpret_cast<char*>(out.back().data()), std::streamsize(n) * 4)) {
      throw std::runtime_error(path + ": truncated row");
    }
    if (out.size() == max_rows) break;
  }
  return out;
}

std::vector<std::vector<Id>> ground_truth(const Dataset& base, const Dataset& queries, std::size_t k,
                                          Metric metric, const Filter* filter) {
  FlatIndex flat(base.dim, metric);
  flat.add_batch(iota_ids(base.rows), base.view());
  SearchParams p;
  p.k = k;
  p.filter = filter;
  std::vector<std::vector<Id>> out;
  for (const auto& hits : flat.search_batch(queries.view(), p)) {
    out.emplace_back();
    for (const SearchHit& h : hits) out.back().push_back(h.id);
  }
  return out;
}

double recall_at_k(const std::vector<std::vector<SearchHit>>& found,
                   const std::vector<std::vector<Id>>& truth, std::size_t k) {
  double sum = 0;
  std::size_t counted = 0;
  for (std::size_t q = 0; q < truth.size(); ++q) {
    const std::size_t want = std::min(k, truth[q].size());
    if (want == 0) continue;
    std::unordered_set<Id> t(truth[q].begin(), truth[q].begin() + std::ptrdiff_t(want));
    std::size_t hit = 0;
    for (std::size_t i = 0; i < std::min(k, found[q].size()); ++i) hit += t.count(found[q][i].id);
    sum += double(hit) / double(want);
    ++counted;
  }
  return counted ? sum / double(counted) : 1.0;
}

double worst_cosine_error(const std::vector<std::vector<SearchHit>>& found, const Dataset& base,
                          const Dataset& queries) {
  double worst = 0;
  for (std::size_t q = 0; q < found.size(); ++q) {
    const float* x = queries.row(q);
    for (const SearchHit& h : found[q]) {
      const float* v = base.row(h.id);
      double dot = 0, xx = 0, vv = 0;
      for (std::size_t i = 0; i < base.dim; ++i) {
        dot += double(x[i]) * v[i];
        xx += double(x[i]) * x[i];
        vv += double(v[i]) * v[i];
      }
      worst = std::max(worst, std::abs(h.score - dot / std::sqrt(xx * vv)));
    }
  }
  return worst;
}

std::vector<Id> iota_ids(std::size_t n) {
  std::vector<Id> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = i;
  return ids;
}

}  // namespace imgvec::testing
