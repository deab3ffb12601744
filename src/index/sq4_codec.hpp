#pragma once
// The 4-bit scalar quantizer behind VectorStorage::sq4: per-dimension ranges trained from the
// vectors' spread, the rows of codes the walk reads (simd::Sq4Space) and the query preparation that
// lets the walk score codes without decoding them.
//
// The graph's records are the vectors in float16, and the graph is built on them as a float16
// graph is (hnswlib's float16 distances, the four-at-once construction kernels): the codes only
// steer the query walk, and live in rows of their own beside the graph (HnswIndex keeps them), so
// that the walk reads 4 whole cache lines per 512-d vector from a table a fifth of the graph's size.
// So a value beyond the ranges is clamped instead of forcing a retraining: its vector's neighbours
// do not depend on its codes, and the walk's candidates are re-ranked on the copies.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "index/quantizer.hpp"
#include "simd/kernels.hpp"

namespace imgvec::detail {

class Sq4Codec final : public Quantizer {
 public:
  /// The largest code: 16 levels.
  static constexpr int kTop = 15;
  /// Each range spans the dimension's mean plus and minus this many standard deviations, where
  /// the mean squared error of a 16-level uniform quantizer of a normal variable is least (Max,
  /// 1960); a min-max range has a step about 1.6 times as coarse. Recall of the walk is flat
  /// around it: 100k x 512 clip-like data, ef 16 / 32 / 48, recall@10 0.865 / 0.943 / 0.963 at
  /// 2.2 sigma, 0.867 / 0.944 / 0.960 at 2.7, 0.870 / 0.944 / 0.965 at 3.2.
  static constexpr float kSigmas = 2.7f;

  /// `with_norm`: each row ends with the vector's squared norm (the L2 walk needs it).
  Sq4Codec(std::size_t dim, bool with_norm);

  /// 32 code bytes per 64 dimensions (the last block padded).
  static std::size_t code_bytes(std::size_t dim) { return (dim + 63) / 64 * 32; }
  /// The graph's record: the float16 copy.
  static std::size_t record_bytes(std::size_t dim) { return dim * sizeof(std::uint16_t); }
  static std::size_t row_bytes(std::size_t dim, bool with_norm) {
    return code_bytes(dim) + (with_norm ? sizeof(float) : 0);
  }
  std::size_t record_bytes() const override { return record_bytes(dim_); }
  std::size_t row_bytes() const override { return row_bytes_; }
  const void* space() const override { return &space_; }
  std::size_t walk_bytes() const override { return row_bytes_; }

  /// At the first add and whenever the count doubles, up to kTrainLimit; never for values out of
  /// range (they are clamped, see above).
  bool should_train(std::size_t stored, const float* rows, std::size_t n) const override;
  using Quantizer::train;
  /// Ranges from the per-dimension mean and standard deviation over `rows` and `records`' copies.
  void fit(const float* rows, std::size_t n, const RecordSpan& records) override;


  /// Writes the record: the float16 copy.
  void encode(const float* x, char* record) const override;
  /// Records hold no codes: only whether the copy is finite.
  bool reencode(char* record) const override { return finite(record); }
  void encode_row(const char* record, std::uint8_t* row) const override;
  bool finite(const char* record) const override { return all_finite_half(half(record), dim_); }
  const std::uint16_t* half(const char* record) const override {
    return reinterpret_cast<const std::uint16_t*>(record);
  }
  /// The code of dimension i in a row (for tests).
  static int code(const std::uint8_t* row, std::size_t i);
  const void* prepare(const float* query, QueryScratch& scratch) const override;

 private:
  void derive() override;  // inv_step_ and space_ from lo_ and step_

  std::size_t row_bytes_;
  std::vector<float> inv_step_;
  simd::Sq4Space space_;
};

}  // namespace imgvec::detail
