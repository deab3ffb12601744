#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

/// A user's key for one vector. Any 64-bit value is valid.
using Id = std::uint64_t;
/// The largest id an image can have, 2^64 - 2: ids are never 0, and the id counter must be able
/// to step past the largest id without wrapping to 0 (which would overwrite images).
inline constexpr Id kMaxId = UINT64_MAX - 1;

/// How similarity is measured. Values are written to disk and never change.
enum class Metric : std::uint8_t {
  /// Cosine similarity. Vectors are L2-normalized on insert and queries on search, so stored
  /// vectors read back normalized. score = cos(q, x), distance = 1 - score.
  cosine = 1,
  /// Raw inner product. score = <q, x>, distance = 1 - score (hnswlib's convention).
  inner_product = 2,
  /// Euclidean. distance = squared Euclidean distance, score = -distance.
  l2 = 3,
};

/// The metric's name: "cosine", "ip" or "l2".
const char* to_string(Metric metric);

/// How an index stores its vectors. Values are written to disk and never change.
enum class VectorStorage : std::uint8_t {
  /// 4 bytes per value, exact.
  float32 = 1,
  /// IEEE half precision, 2 bytes per value: half the memory and memory traffic. Values are
  /// rounded to 11 significant bits (relative error <= 2^-11; a cosine score moves by ~1e-4) and
  /// must lie within +-65504, which normalized (cosine) vectors always do. Queries stay float32.
  float16 = 2,
  /// HNSW only. The graph walk reads 8-bit codes (one byte per value, per-dimension ranges trained
  /// from the vectors: 4x less memory traffic than float32), and the walk's best candidates are
  /// re-scored with a float16 copy kept beside each code (SearchParams::rerank), which is also
  /// what get_vector returns. Memory per 512-d vector about 1.7 kB against 2.2 kB for float32.
  /// Same range rule as float16.
  sq8 = 3,
  /// HNSW only. As sq8 with 4-bit codes (half a byte per value, ranges of about +-2.7 standard
  /// deviations per dimension): the walk reads half of sq8's bytes, and the graph is built on the
  /// float16 copies, so its links are float16's. Memory per 512-d vector about 1.4 kB.
  sq4 = 4,
};

/// The storage's name: "float32", "float16", "sq8" or "sq4".
const char* to_string(VectorStorage storage);
/// The inverse of to_string; Error(invalid_argument) naming the text otherwise.
VectorStorage parse_vector_storage(const std::string& text);

/// One search result. `score` grows with similarity for every metric (so a minimum score works the
/// same way everywhere); `distance` is the metric's raw distance, see Metric.
struct SearchHit {
  Id id = 0;
  float score = 0.0f;
  float distance = 0.0f;
};

/// A non-owning view of one vector: `data` points at `size` floats.
struct VectorView {
  const float* data = nullptr;
  std::size_t size = 0;

  VectorView() = default;
  VectorView(const float* d, std::size_t n) : data(d), size(n) {}
  VectorView(const std::vector<float>& v) : data(v.data()), size(v.size()) {}  // NOLINT: implicit by design
};

/// A non-owning view of `rows` vectors of `cols` floats each, stored row after row.
struct MatrixView {
  const float* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;

  MatrixView() = default;
  MatrixView(const float* d, std::size_t r, std::size_t c) : data(d), rows(r), cols(c) {}
  VectorView row(std::size_t i) const { return {data + i * cols, cols}; }
};

}  // namespace imgvec
IMGVEC_API_END
