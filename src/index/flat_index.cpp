#include "imgvec/index/flat_index.hpp"

#include <algorithm>
#include <limits>
#include <string>

#include "imgvec/error.hpp"
#include "index/hits.hpp"
#include "index/index_io.hpp"
#include "parallel/parallel.hpp"
#include "index/topk.hpp"
#include "simd/kernels.hpp"

namespace imgvec {
namespace {

using detail::TopK;

// Rows scored per kernel call in the single-query scan: the score buffer stays in L1.
constexpr std::size_t kScanBlock = 256;
// Below this many floats a scan takes well under a millisecond and starting threads costs more
// than it saves.
constexpr std::size_t kParallelScanFloats = std::size_t{1} << 22;
// Query batches smaller than this go query by query: the block kernel pays off only when each row
// it loads is reused by several queries.
constexpr std::size_t kMinBlockQueries = 4;
// Bytes of rows per block of the batched search: well inside a 1-2 MB L2, with room for queries.
constexpr std::size_t kBlockBytes = std::size_t{256} << 10;

}  // namespace

FlatIndex::FlatIndex(std::size_t dimension, Metric metric) : Index(dimension, metric) {}

std::unique_ptr<FlatIndex> FlatIndex::load(const std::string& path, std::size_t expected_dimension) {
  const IndexKind kind = IndexKind::flat;
  std::unique_ptr<Index> index = detail::load_index_file(path, expected_dimension, &kind);
  return std::unique_ptr<FlatIndex>(static_cast<FlatIndex*>(index.release()));
}

void FlatIndex::do_add(const Id* ids, const float* vectors, std::size_t n) {
  const std::size_t d = dimension();
  for (std::size_t i = 0; i < n; ++i) {
    const float* v = vectors + i * d;
    auto [it, inserted] = row_of_.try_emplace(ids[i], ids_.size());
    const std::size_t r = it->second;
    if (inserted) {
      ids_.push_back(ids[i]);
      vectors_.insert(vectors_.end(), v, v + d);
      if (metric() == Metric::l2) sq_norms_.push_back(0.0f);
    } else {
      std::copy(v, v + d, vectors_.begin() + static_cast<std::ptrdiff_t>(r * d));
    }
    if (metric() == Metric::l2) sq_norms_[r] = detail::simd::active().dot(v, v, d);
  }
}

void FlatIndex::do_reserve(std::size_t n) {
  const std::size_t rows = ids_.size() + n;
  vectors_.reserve(rows * dimension());
  ids_.reserve(rows);
  row_of_.reserve(rows);
  if (metric() == Metric::l2) sq_norms_.reserve(rows);
}

bool FlatIndex::do_remove(Id id) {
  auto it = row_of_.find(id);
  if (it == row_of_.end()) return false;
  // Move the last row into the hole: O(d), and rows stay contiguous for the scan.
  const std::size_t r = it->second;
  const std::size_t last = ids_.size() - 1;
  const std::size_t d = dimension();
  row_of_.erase(it);
  if (r != last) {
    std::copy(vectors_.begin() + static_cast<std::ptrdiff_t>(last * d), vectors_.end(),
              vectors_.begin() + static_cast<std::ptrdiff_t>(r * d));
    ids_[r] = ids_[last];
    row_of_[ids_[r]] = r;
    if (!sq_norms_.empty()) sq_norms_[r] = sq_norms_[last];
  }
  ids_.pop_back();
  vectors_.resize(last * d);
  if (!sq_norms_.empty()) sq_norms_.pop_back();
  return true;
}

bool FlatIndex::do_get_vector(Id id, float* out) const {
  auto it = row_of_.find(id);
  if (it == row_of_.end()) return false;
  std::copy(row(it->second), row(it->second) + dimension(), out);
  return true;
}

void FlatIndex::scan(const float* query, std::size_t begin, std::size_t end, void* topk) const {
  TopK& top = *static_cast<TopK*>(topk);
  const auto& k = detail::simd::active();
  const std::size_t d = dimension();
  const bool l2 = metric() == Metric::l2;
  float scores[kScanBlock];
  for (std::size_t b = begin; b < end; b += kScanBlock) {
    const std::size_t n = std::min(kScanBlock, end - b);
    if (l2) {
      k.l2sq_rows(query, row(b), n, d, scores);
      for (std::size_t i = 0; i < n; ++i) top.push(-scores[i], ids_[b + i]);
    } else {
      k.dot_rows(query, row(b), n, d, scores);
      for (std::size_t i = k.first_at_least(scores, n, top.admission()); i < n;
           i = i + 1 + k.first_at_least(scores + i + 1, n - i - 1, top.admission())) {
        top.push(scores[i], ids_[b + i]);
      }
    }
  }
}

std::vector<SearchHit> FlatIndex::do_search(const float* query, const SearchParams& params) const {
  const std::size_t n = ids_.size();
  const std::size_t d = dimension();
  const std::size_t k = std::min(params.k, n);
  const float min_score = params.min_score.value_or(-std::numeric_limits<float>::infinity());
  TopK top(k, min_score);
  if (k == 0) return {};
  const auto& kernels = detail::simd::active();
  const bool l2 = metric() == Metric::l2;
  auto score_of = [&](std::size_t r) {
    return l2 ? -kernels.l2sq(query, row(r), d) : kernels.dot(query, row(r), d);
  };

  if (params.filter) {
    if (const std::vector<Id>* allow = params.filter->allow_list()) {
      for (Id id : *allow) {
        auto it = row_of_.find(id);
        if (it != row_of_.end()) top.push(score_of(it->second), id);
      }
    } else {
      for (std::size_t r = 0; r < n; ++r) {
        if (params.filter->matches(ids_[r])) top.push(score_of(r), ids_[r]);
      }
    }
    return detail::to_hits(top, metric());
  }

  if (threads() > 1 && n * d >= kParallelScanFloats) {
    // Each worker keeps its own top-k over its share of the rows; merging k-sized lists is cheap.
    std::vector<TopK> partial(threads(), TopK(k, min_score));
    const std::size_t grain = std::max<std::size_t>(kScanBlock, n / (threads() * 8));
    detail::parallel_for(n, threads(), grain, [&](std::size_t b, std::size_t e, std::size_t w) {
      scan(query, b, e, &partial[w]);
    });
    for (const TopK& p : partial) top.merge(p);
  } else {
    scan(query, 0, n, &top);
  }
  return detail::to_hits(top, metric());
}

std::vector<std::vector<SearchHit>> FlatIndex::do_search_batch(const float* queries, std::size_t nq,
                                                               const SearchParams& params) const {
  const std::size_t n = ids_.size();
  if (params.filter || nq < kMinBlockQueries || n == 0) {
    return Index::do_search_batch(queries, nq, params);
  }
  const auto& kernels = detail::simd::active();
  const std::size_t d = dimension();
  // Rows are scored a block at a time against all queries; the block stays in L2 while each tile
  // of queries streams over it from L1.
  const std::size_t block = std::clamp<std::size_t>(kBlockBytes / (d * sizeof(float)) / 4 * 4, 4, 1024);
  const std::size_t k = std::min(params.k, n);
  const float min_score = params.min_score.value_or(-std::numeric_limits<float>::infinity());
  const bool l2 = metric() == Metric::l2;
  std::vector<float> query_sq(l2 ? nq : 0);
  for (std::size_t i = 0; i < query_sq.size(); ++i) {
    query_sq[i] = kernels.dot(queries + i * d, queries + i * d, d);
  }

  // Workers split the rows; each keeps one top-k per query and its own score buffer.
  const std::size_t workers = std::max<std::size_t>(1, threads());
  std::vector<std::vector<TopK>> tops(workers, std::vector<TopK>(nq, TopK(k, min_score)));
  const std::size_t grain = std::max<std::size_t>(block, (n / (workers * 4) + block - 1) / block * block);
  detail::parallel_for(n, workers, grain, [&](std::size_t begin, std::size_t end, std::size_t w) {
    std::vector<float> scores(nq * block);
    std::vector<TopK>& top = tops[w];
    for (std::size_t r = begin; r < end; r += block) {
      const std::size_t rows = std::min(block, end - r);
      kernels.dot_block(queries, nq, d, row(r), rows, d, d, scores.data(), block);
      for (std::size_t i = 0; i < nq; ++i) {
        const float* s = scores.data() + i * block;
        TopK& t = top[i];
        if (l2) {
          // -|q - x|^2 = 2<q, x> - |x|^2 - |q|^2
          for (std::size_t j = 0; j < rows; ++j) {
            t.push(2.0f * s[j] - sq_norms_[r + j] - query_sq[i], ids_[r + j]);
          }
        } else {
          // Most scores fall below the admission bar once the top-k fills; skip them a vector
          // at a time (measured: the selection went from 12% to ~2% of a batch-64 search).
          for (std::size_t j = kernels.first_at_least(s, rows, t.admission()); j < rows;
               j = j + 1 + kernels.first_at_least(s + j + 1, rows - j - 1, t.admission())) {
            t.push(s[j], ids_[r + j]);
          }
        }
      }
    }
  });
  std::vector<std::vector<SearchHit>> out(nq);
  for (std::size_t i = 0; i < nq; ++i) {
    for (std::size_t w = 1; w < workers; ++w) tops[0][i].merge(tops[w][i]);
    out[i] = detail::to_hits(tops[0][i], metric());
  }
  return out;
}

void FlatIndex::do_save(detail::AtomicFileWriter& out) const {
  out.write(ids_.data(), ids_.size() * sizeof(Id));
  out.write(vectors_.data(), vectors_.size() * sizeof(float));
}

std::size_t FlatIndex::do_memory_bytes() const {
  // The hash map costs about a node (key, value, next pointer, allocator overhead) plus a bucket.
  return vectors_.capacity() * sizeof(float) + ids_.capacity() * sizeof(Id) +
         sq_norms_.capacity() * sizeof(float) + row_of_.size() * 40 +
         row_of_.bucket_count() * sizeof(void*);
}

namespace detail {

std::unique_ptr<Index> load_flat_payload(CheckedFileReader& reader, const IndexFileHeader& header) {
  const std::uint64_t d = header.dimension;
  if (header.scalar != IndexFileHeader::kScalarFloat32) {
    throw Error(ErrorCode::unsupported, reader.path() + ": a flat index stored as " +
                                            to_string(static_cast<VectorStorage>(header.scalar)) +
                                            "; flat indexes hold float32 only");
  }
  const std::uint64_t row_bytes = sizeof(Id) + d * sizeof(float);
  // Sizes are validated against the file before anything is allocated.
  if (header.count > reader.remaining() / row_bytes ||
      header.count * row_bytes != reader.remaining()) {
    reader.fail("payload of " + std::to_string(reader.remaining()) + " bytes does not hold " +
                std::to_string(header.count) + " vectors of dimension " + std::to_string(d));
  }
  auto index = std::make_unique<FlatIndex>(d, header.metric);
  const std::size_t n = header.count;
  index->ids_.resize(n);
  index->vectors_.resize(n * d);
  reader.read(index->ids_.data(), n * sizeof(Id), "ids");
  reader.read(index->vectors_.data(), n * d * sizeof(float), "vectors");
  verify_payload_checksum(reader, header);
  index->row_of_.reserve(n);
  for (std::size_t r = 0; r < n; ++r) {
    if (!index->row_of_.emplace(index->ids_[r], r).second) {
      reader.fail("id " + std::to_string(index->ids_[r]) + " appears twice");
    }
  }
  if (header.metric == Metric::l2) {
    index->sq_norms_.resize(n);
    for (std::size_t r = 0; r < n; ++r) {
      index->sq_norms_[r] = simd::active().dot(index->row(r), index->row(r), d);
    }
  }
  return index;
}

}  // namespace detail
}  // namespace imgvec
