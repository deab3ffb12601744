#pragma once
// The 8-bit scalar quantizer behind VectorStorage::sq8: per-dimension ranges trained from the
// vectors, the record layout the graph stores (codes, two correction floats, a float16 copy) and
// the query preparation that lets the walk score codes without decoding them. Kept apart from the
// HNSW code, which only moves records around.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "index/quantizer.hpp"
#include "simd/kernels.hpp"

namespace imgvec::detail {

/// Record layout (simd::Sq8Space): codes (dim bytes, rounded up to 4), <lo o step, codes> and the
/// decoded vector's squared norm as floats, then the vector in float16 for re-ranking and reading
/// back. The walk touches the first part only.
class Sq8Codec final : public Quantizer {
 public:
  /// Each range is widened by this fraction of its width on each side, so that values beyond
  /// those trained on seldom force another retraining (each re-encodes every record):
  /// retrainings for out-of-range values then need the range to grow by half each time. With a
  /// sixteenth, a 30k x 512 build (clustered data, one batch) retrained 99 times and re-encoded
  /// 45 records per vector, a fifth of its time in perf; with a quarter 9 times and 1.6 records,
  /// 2.50k -> 3.33k adds/s (AMD EPYC Zen 3), at the same recall@10 for ef 16-128 (0.868-0.997):
  /// the codes only steer the walk, whose candidates are re-scored on the float16 copies.
  static constexpr float kMargin = 1.0f / 4.0f;

  explicit Sq8Codec(std::size_t dim);

  static std::size_t record_bytes(std::size_t dim);
  std::size_t record_bytes() const override { return record_bytes(dim_); }
  /// The kernels' parameter; stable for the codec's lifetime (hnswlib keeps a pointer to it).
  const void* space() const override { return &space_; }
  const simd::Sq8Space* sq8_space() const { return &space_; }
  std::size_t walk_bytes() const override { return space_.code_bytes + 2 * sizeof(float); }

  /// Whether adding `incoming` vectors to `stored` should retrain first: at the first add,
  /// whenever the count doubles up to kTrainLimit, and whenever a value of `rows` (n vectors) lies
  /// outside the ranges. Clamping such a value would misplace its vector in the graph: a vector
  /// unlike everything trained on would get the codes of its nearest edge, look like a duplicate
  /// of other vectors there, and be pruned from every neighbour list (found by a test: an id
  /// added last could not be reached by any search).
  bool should_train(std::size_t stored, const float* rows, std::size_t n) const override;
  /// Sets the ranges to the per-dimension minimum and maximum over `rows` (n float vectors) and the
  /// float16 copies in `records`, widened by kMargin of the width on each side (train() then
  /// re-encodes those records' codes).
  using Quantizer::train;
  void fit(const float* rows, std::size_t n, const RecordSpan& records) override;


  /// Writes the record of float vector `x`.
  void encode(const float* x, char* record) const override;
  /// Rewrites a record's codes and corrections from its float16 copy (after new ranges). False,
  /// and the record unchanged, if the copy holds a non-finite value.
  bool reencode(char* record) const override;
  /// Whether a record read from a file has finite float16 values and corrections. Codes need no
  /// check: every byte is a valid code. (Codes that disagree with the copy can only misguide the
  /// walk, which the file's checksum guards against; the re-rank still scores with the copy.)
  bool finite(const char* record) const override;
  /// The float16 copy inside a record, half_offset(dim) bytes from its start.
  static const std::uint16_t* half(const char* record, std::size_t dim);
  static std::size_t half_offset(std::size_t dim);
  const std::uint16_t* half(const char* record) const override { return half(record, dim_); }

  /// A float query for the walk's kernels; `weight` holds its storage.
  simd::Sq8Query prepare(const float* query, std::vector<std::int16_t>& weight) const;
  const void* prepare(const float* query, QueryScratch& scratch) const override {
    scratch.sq8 = prepare(query, scratch.weight16);
    return &scratch.sq8;
  }

 private:
  void derive() override;  // step_sq_, lo_step_ and space_ from lo_ and step_

  std::vector<float> step_sq_, lo_step_, inv_step_;
  simd::Sq8Space space_;
};

}  // namespace imgvec::detail
