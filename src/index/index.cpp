#include "imgvec/index/index.hpp"

#include "imgvec/detail/rw_lock.hpp"

#include <algorithm>
#include <shared_mutex>
#include <cmath>
#include <string>
#include <unordered_set>

#include "imgvec/error.hpp"
#include "index/index_io.hpp"
#include "parallel/parallel.hpp"
#include "index/index_file.hpp"
#include "simd/kernels.hpp"

namespace imgvec {
namespace {

// Rows per exclusive-lock hold in add_batch: long enough to amortize the lock and the HNSW worker
// start-up, short enough (tens of milliseconds for HNSW) that concurrent searches stay responsive.
constexpr std::size_t kWriteChunk = 256;

constexpr float kHalfMax = 65504.0f;

std::size_t default_threads() { return detail::available_cores(); }

void check_finite(const float* v, std::size_t d, const char* what, Id id) {
  for (std::size_t i = 0; i < d; ++i) {
    if (!std::isfinite(v[i])) {
      throw Error(ErrorCode::invalid_argument, std::string(what) + " for id " + std::to_string(id) +
                                                   " has a non-finite value at position " +
                                                   std::to_string(i));
    }
  }
}

void check_half_range(const float* v, std::size_t d, Id id) {
  for (std::size_t i = 0; i < d; ++i) {
    if (std::fabs(v[i]) > kHalfMax) {
      throw Error(ErrorCode::invalid_argument,
                  "vector for id " + std::to_string(id) + " has " + std::to_string(v[i]) +
                      " at position " + std::to_string(i) +
                      ", outside the float16 storage range of +-65504");
    }
  }
}

// Returns |v|^2, throwing for a zero vector, which has no direction for the cosine metric.
float check_norm(const float* v, std::size_t d, const char* what, Id id) {
  const float n2 = detail::simd::active().dot(v, v, d);
  if (!(n2 > 0.0f) || !std::isfinite(n2)) {
    throw Error(ErrorCode::invalid_argument,
                std::string(what) + " for id " + std::to_string(id) +
                    " has zero (or overflowing) norm; the cosine metric needs a direction");
  }
  return n2;
}

// 1 / |v| from |v|^2, except that a vector already of unit length (within the rounding of its
// norm) is left as it is: normalizing is then the identity, so a vector read back from an index
// and stored again (an export imported, a log replayed) keeps its bits.
float unit_scale(float n2) {
  constexpr float kUnitTolerance = 1e-6f;  // about 8 float steps around 1
  return std::fabs(n2 - 1.0f) <= kUnitTolerance ? 1.0f : 1.0f / std::sqrt(n2);
}

// Copies v to out, scaled to unit length.
void normalize_into(const float* v, std::size_t d, float* out, const char* what, Id id) {
  const float inv = 1.0f / std::sqrt(check_norm(v, d, what, id));
  for (std::size_t i = 0; i < d; ++i) out[i] = v[i] * inv;
}

}  // namespace

const char* to_string(Metric metric) {
  switch (metric) {
    case Metric::cosine: return "cosine";
    case Metric::inner_product: return "ip";
    case Metric::l2: return "l2";
  }
  return "unknown";
}

const char* to_string(VectorStorage storage) {
  switch (storage) {
    case VectorStorage::float32: return "float32";
    case VectorStorage::float16: return "float16";
    case VectorStorage::sq8: return "sq8";
    case VectorStorage::sq4: return "sq4";
  }
  return "unknown";
}

const char* to_string(IndexKind kind) {
  switch (kind) {
    case IndexKind::flat: return "flat";
    case IndexKind::hnsw: return "hnsw";
  }
  return "unknown";
}

VectorStorage parse_vector_storage(const std::string& text) {
  for (const VectorStorage s : {VectorStorage::float32, VectorStorage::float16, VectorStorage::sq8,
                                VectorStorage::sq4}) {
    if (text == to_string(s)) return s;
  }
  throw Error(ErrorCode::invalid_argument, "storage \"" + text + "\": expected float32, float16, sq8 or sq4");
}

IndexKind parse_index_kind(const std::string& text) {
  for (const IndexKind k : {IndexKind::hnsw, IndexKind::flat}) {
    if (text == to_string(k)) return k;
  }
  throw Error(ErrorCode::invalid_argument, "index \"" + text + "\": expected hnsw or flat");
}

struct Index::State {
  State(std::size_t d, Metric m, std::size_t t) : dimension(d), metric(m), threads(t) {}
  std::size_t dimension;
  Metric metric;
  std::size_t threads;
  mutable detail::RwLock lock;
  std::mutex writer;
};

Index::~Index() = default;
std::size_t Index::dimension() const { return state_->dimension; }
Metric Index::metric() const { return state_->metric; }
std::size_t Index::threads() const { return state_->threads; }
detail::RwLock& Index::state_lock() const { return state_->lock; }
std::mutex& Index::writer_lock() const { return state_->writer; }

Index::Index(std::size_t dimension, Metric metric)
    : state_(std::make_unique<State>(dimension, metric, default_threads())) {
  if (dimension == 0 || dimension > (1u << 20)) {
    throw Error(ErrorCode::invalid_argument,
                "index dimension " + std::to_string(dimension) + " is outside [1, 1048576]");
  }
  if (metric != Metric::cosine && metric != Metric::inner_product && metric != Metric::l2) {
    throw Error(ErrorCode::invalid_argument,
                "unknown metric value " + std::to_string(static_cast<int>(metric)));
  }
}

void Index::set_threads(std::size_t n) { state_->threads = n == 0 ? default_threads() : n; }

std::size_t Index::size() const {
  std::shared_lock<detail::RwLock> lock(state_->lock);
  return do_size();
}

bool Index::contains(Id id) const {
  std::shared_lock<detail::RwLock> lock(state_->lock);
  return do_contains(id);
}

std::vector<Id> Index::ids() const {
  std::vector<Id> out;
  {
    std::shared_lock<detail::RwLock> lock(state_->lock);
    do_ids(out);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::size_t Index::memory_bytes() const {
  std::shared_lock<detail::RwLock> lock(state_->lock);
  return do_memory_bytes();
}

void Index::add(Id id, VectorView vector) { add_batch(&id, MatrixView(vector.data, 1, vector.size)); }

void Index::add_batch(const std::vector<Id>& ids, MatrixView vectors) {
  if (ids.size() != vectors.rows) {
    throw Error(ErrorCode::invalid_argument,
                "add_batch: " + std::to_string(ids.size()) + " ids for " +
                    std::to_string(vectors.rows) + " vectors");
  }
  add_batch(ids.data(), vectors);
}

void Index::add_batch(const Id* ids, MatrixView vectors) {
  if (vectors.rows == 0) return;
  if (vectors.cols != state_->dimension) {
    throw Error(ErrorCode::invalid_argument,
                "vector for id " + std::to_string(ids[0]) + " has dimension " +
                    std::to_string(vectors.cols) + ", the index holds " +
                    std::to_string(state_->dimension) + "-d vectors");
  }
  if (vectors.data == nullptr || ids == nullptr) {
    throw Error(ErrorCode::invalid_argument, "add_batch: null ids or vector data");
  }
  const std::size_t d = state_->dimension;
  // Validate everything before storing anything, so a bad row cannot leave half a batch behind.
  for (std::size_t r = 0; r < vectors.rows; ++r) {
    check_finite(vectors.data + r * d, d, "vector", ids[r]);
  }
  // Normalized vectors always fit float16; raw ones must be in its range, or they would be stored
  // as infinities.
  if (storage() != VectorStorage::float32 && state_->metric != Metric::cosine) {
    for (std::size_t r = 0; r < vectors.rows; ++r) check_half_range(vectors.data + r * d, d, ids[r]);
  }
  // When an id repeats, its last row wins: keep the rows that are the last of their id.
  std::vector<std::size_t> rows;
  rows.reserve(vectors.rows);
  {
    std::unordered_set<Id> seen;
    seen.reserve(vectors.rows * 2);
    for (std::size_t r = vectors.rows; r-- > 0;) {
      if (seen.insert(ids[r]).second) rows.push_back(r);
    }
    std::reverse(rows.begin(), rows.end());
  }
  std::vector<float> buffer(std::min(rows.size(), kWriteChunk) * d);
  std::vector<Id> chunk_ids;
  // Cosine: the norms are checked here, before anything is stored, and reused to normalize.
  std::vector<float> inv_norm;
  if (state_->metric == Metric::cosine) {
    inv_norm.resize(vectors.rows);
    for (std::size_t r : rows) {
      inv_norm[r] = unit_scale(check_norm(vectors.data + r * d, d, "vector", ids[r]));
    }
  }
  std::lock_guard<std::mutex> writer(state_->writer);
  struct BatchEnd {
    Index* index = nullptr;
    ~BatchEnd() {
      if (index) index->do_end_batch();
    }
  } batch_end;
  if (rows.size() > kWriteChunk) {
    std::unique_lock<detail::RwLock> lock(state_->lock);
    batch_end.index = this;
    do_reserve(rows.size());
  }
  for (std::size_t begin = 0; begin < rows.size(); begin += kWriteChunk) {
    const std::size_t end = std::min(rows.size(), begin + kWriteChunk);
    chunk_ids.clear();
    for (std::size_t i = begin; i < end; ++i) {
      const std::size_t r = rows[i];
      float* dst = buffer.data() + (i - begin) * d;
      if (state_->metric == Metric::cosine) {
        for (std::size_t i = 0; i < d; ++i) dst[i] = vectors.data[r * d + i] * inv_norm[r];
      } else {
        std::copy(vectors.data + r * d, vectors.data + (r + 1) * d, dst);
      }
      chunk_ids.push_back(ids[r]);
    }
    std::unique_lock<detail::RwLock> lock(state_->lock);
    do_add(chunk_ids.data(), buffer.data(), chunk_ids.size());
  }
}

bool Index::remove(Id id) {
  std::lock_guard<std::mutex> writer(state_->writer);
  std::unique_lock<detail::RwLock> lock(state_->lock);
  return do_remove(id);
}

std::vector<float> Index::get_vector(Id id) const {
  std::vector<float> out(state_->dimension);
  std::shared_lock<detail::RwLock> lock(state_->lock);
  if (!do_get_vector(id, out.data())) {
    throw Error(ErrorCode::not_found, "id " + std::to_string(id) + " is not in the index");
  }
  return out;
}

void Index::check_query(VectorView query, const SearchParams& params) const {
  if (query.size != state_->dimension) {
    throw Error(ErrorCode::invalid_argument,
                "query has dimension " + std::to_string(query.size) + ", the index holds " +
                    std::to_string(state_->dimension) + "-d vectors");
  }
  if (query.data == nullptr) throw Error(ErrorCode::invalid_argument, "query: null data");
  if (params.k == 0) throw Error(ErrorCode::invalid_argument, "search: k must be at least 1");
  if (params.min_score && std::isnan(*params.min_score)) {
    throw Error(ErrorCode::invalid_argument, "search: min_score is NaN");
  }
}

std::vector<SearchHit> Index::search(VectorView query, const SearchParams& params) const {
  check_query(query, params);
  check_finite(query.data, state_->dimension, "query", 0);
  std::vector<float> normalized;
  const float* q = query.data;
  if (state_->metric == Metric::cosine) {
    normalized.resize(state_->dimension);
    normalize_into(query.data, state_->dimension, normalized.data(), "query", 0);
    q = normalized.data();
  }
  std::shared_lock<detail::RwLock> lock(state_->lock);
  return do_search(q, params);
}

std::vector<std::vector<SearchHit>> Index::search_batch(MatrixView queries,
                                                        const SearchParams& params) const {
  if (queries.rows == 0) return {};
  check_query(VectorView(queries.data, queries.cols), params);
  const std::size_t d = state_->dimension;
  std::vector<float> normalized;
  const float* q = queries.data;
  for (std::size_t r = 0; r < queries.rows; ++r) check_finite(q + r * d, d, "query", r);
  if (state_->metric == Metric::cosine) {
    normalized.resize(queries.rows * d);
    for (std::size_t r = 0; r < queries.rows; ++r) {
      normalize_into(q + r * d, d, normalized.data() + r * d, "query", r);
    }
    q = normalized.data();
  }
  std::shared_lock<detail::RwLock> lock(state_->lock);
  return do_search_batch(q, queries.rows, params);
}

std::vector<std::vector<SearchHit>> Index::do_search_batch(const float* queries, std::size_t n,
                                                           const SearchParams& params) const {
  std::vector<std::vector<SearchHit>> out(n);
  detail::parallel_for(n, state_->threads, 8, [&](std::size_t begin, std::size_t end, std::size_t) {
    for (std::size_t i = begin; i < end; ++i) out[i] = do_search(queries + i * state_->dimension, params);
  });
  return out;
}

std::vector<SearchHit> Index::search_threshold(VectorView query, float min_score, std::size_t limit,
                                               const Filter* filter) const {
  SearchParams params;
  params.k = limit;
  params.min_score = min_score;
  params.filter = filter;
  return search(query, params);
}

void Index::save(const std::string& path) const {
  std::shared_lock<detail::RwLock> lock(state_->lock);
  detail::IndexFileHeader header;
  header.kind = kind();
  header.metric = state_->metric;
  header.scalar = static_cast<std::uint8_t>(storage());
  header.dimension = static_cast<std::uint32_t>(state_->dimension);
  header.count = do_size();
  detail::write_index_file(path, header, [&](detail::AtomicFileWriter& out) { do_save(out); });
}

std::unique_ptr<Index> Index::load(const std::string& path, std::size_t expected_dimension) {
  return detail::load_index_file(path, expected_dimension, nullptr);
}

std::unique_ptr<Index> Index::open_mapped(const std::string& path, std::size_t expected_dimension) {
  return detail::map_index_file(path, expected_dimension, nullptr);
}

namespace detail {
namespace {

// The header, checked against what the caller expects.
IndexFileHeader read_expected_header(CheckedFileReader& reader, const std::string& path,
                                     std::size_t expected_dimension, const IndexKind* expected_kind) {
  const IndexFileHeader header = read_index_header(reader);
  if (expected_kind && header.kind != *expected_kind) {
    throw Error(ErrorCode::incompatible, path + ": holds a " + to_string(header.kind) +
                                             " index, expected " + to_string(*expected_kind));
  }
  if (expected_dimension != 0 && header.dimension != expected_dimension) {
    throw Error(ErrorCode::incompatible,
                path + ": holds " + std::to_string(header.dimension) + "-d vectors, expected " +
                    std::to_string(expected_dimension));
  }
  return header;
}

}  // namespace

std::unique_ptr<Index> load_index_file(const std::string& path, std::size_t expected_dimension,
                                       const IndexKind* expected_kind) {
  CheckedFileReader reader(path);
  const IndexFileHeader header = read_expected_header(reader, path, expected_dimension, expected_kind);
  switch (header.kind) {
    case IndexKind::flat: return load_flat_payload(reader, header);
    case IndexKind::hnsw: return load_hnsw_payload(reader, header, nullptr);
  }
  reader.fail("unknown index kind");
}

std::unique_ptr<Index> map_index_file(const std::string& path, std::size_t expected_dimension,
                                      const IndexKind* expected_kind) {
  std::shared_ptr<const MappedFile> file = MappedFile::open(path);
  CheckedFileReader reader(path, file->data(), file->size());
  const IndexFileHeader header = read_expected_header(reader, path, expected_dimension, expected_kind);
  switch (header.kind) {
    case IndexKind::flat: return load_flat_payload(reader, header);
    case IndexKind::hnsw:
      // Format 1 has no label table: without it a mapped open would read every record.
      return load_hnsw_payload(reader, header, header.format_major >= 2 ? std::move(file) : nullptr);
  }
  reader.fail("unknown index kind");
}

}  // namespace detail
}  // namespace imgvec
