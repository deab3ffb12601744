#pragma once
// What the HNSW code needs from a scalar quantizer (VectorStorage::sq8 and sq4): the record layout
// it stores in the graph, how it is trained and re-encoded, and how a float query is prepared for
// the walk's kernel. Each record keeps the vector in float16 beside its codes: the codes steer the
// walk, the copy re-ranks its candidates and is what get_vector returns.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "imgvec/types.hpp"
#include "simd/kernels.hpp"

namespace imgvec::detail {

/// Records stored one after another: record i at base + i * stride.
struct RecordSpan {
  char* base = nullptr;
  std::size_t stride = 0;
  std::size_t count = 0;
  char* at(std::size_t i) const { return base + i * stride; }
};

/// Storage for one prepared query, whichever quantizer prepared it.
struct QueryScratch {
  std::vector<std::int16_t> weight16;
  std::vector<std::int8_t> weight8;
  simd::Sq8Query sq8;
  simd::Sq4Query sq4;
};

class Quantizer {
 public:
  /// Ranges stop being retrained once this many vectors have been seen (the ranges of a
  /// 65536-vector sample are those of the whole set to within a code or two); compact() retrains.
  static constexpr std::uint64_t kTrainLimit = 65536;

  virtual ~Quantizer() = default;
  Quantizer(const Quantizer&) = delete;
  Quantizer& operator=(const Quantizer&) = delete;

  std::size_t dim() const { return dim_; }
  virtual std::size_t record_bytes() const = 0;
  /// The kernels' parameter, stable for the quantizer's lifetime (hnswlib keeps a pointer to it).
  /// It starts with the dimension as a size_t, which is how hnswlib reads its parameter.
  virtual const void* space() const = 0;
  /// How many bytes of a record (or of a row, see row_bytes) the walk's kernel reads, from its start.
  virtual std::size_t walk_bytes() const = 0;
  /// Bytes per node of the codes a quantizer keeps beside the graph, in rows of their own
  /// (sq4), or 0 where the codes are part of each record (sq8).
  virtual std::size_t row_bytes() const { return 0; }
  /// Writes the row of a record (row_bytes() bytes) from its float16 copy.
  virtual void encode_row(const char* /*record*/, std::uint8_t* /*row*/) const {}

  /// How many vectors the ranges were trained on (0: never).
  std::uint64_t trained_on() const { return trained_on_; }
  /// Whether adding `n` vectors (`rows`) to `stored` should retrain first.
  virtual bool should_train(std::size_t stored, const float* rows, std::size_t n) const = 0;
  /// Sets the ranges from `rows` (n float vectors) and the float16 copies in `records`, then
  /// re-encodes those records' codes.
  void train(const float* rows, std::size_t n, const RecordSpan& records) {
    fit(rows, n, records);
    for (std::size_t r = 0; r < records.count; ++r) reencode(records.at(r));
  }
  /// The same without touching the records.
  virtual void fit(const float* rows, std::size_t n, const RecordSpan& records) = 0;

  /// Per-dimension ranges: value i of a code c decodes to lo_i + step_i * c.
  const std::vector<float>& lo() const { return lo_; }
  const std::vector<float>& step() const { return step_; }
  /// Ranges read from a file. Returns an empty string, or what is wrong with them: each must be
  /// finite, with a positive step, and lie within float16's range, where every stored value does.
  std::string set_ranges(std::vector<float> lo, std::vector<float> step, std::uint64_t trained_on);

  /// Writes the record of float vector `x`.
  virtual void encode(const float* x, char* record) const = 0;
  /// Rewrites a record's codes and corrections from its float16 copy (after new ranges; rows are
  /// rewritten by encode_row). False, and the record unchanged, if the copy holds a non-finite value.
  virtual bool reencode(char* record) const = 0;
  /// Whether a record read from a file has finite float16 values and corrections (any code is
  /// valid: codes that disagree with the copy only misguide the walk, which the re-rank corrects).
  virtual bool finite(const char* record) const = 0;
  /// The float16 copy inside a record.
  virtual const std::uint16_t* half(const char* record) const = 0;
  /// A float query for the walk's kernel (the query argument of its distance), stored in `scratch`.
  virtual const void* prepare(const float* query, QueryScratch& scratch) const = 0;

 protected:
  /// Ranges of `dim` dimensions, each `lo` + `step` x (0..top), until trained.
  Quantizer(std::size_t dim, int top, const char* name, float lo, float step)
      : dim_(dim), top_(top), name_(name), lo_(dim, lo), step_(dim, step) {}
  /// Recomputes what a quantizer keeps derived from lo_ and step_ (called after they change).
  virtual void derive() = 0;

  std::size_t dim_;
  int top_;           // the largest code
  const char* name_;  // the storage's name, for messages
  std::vector<float> lo_, step_;
  std::uint64_t trained_on_ = 0;
};

/// Ranges narrower than this are widened to it: a dimension that is constant so far still gets
/// codes that can tell later values apart, and no step is 0 (quantizers divide by it).
inline constexpr float kMinStep = 1e-8f;

/// The quantizer of a storage, or null for float32 and float16. `l2`: the metric is L2, whose
/// walk needs each vector's norm beside its codes.
std::unique_ptr<Quantizer> make_quantizer(VectorStorage storage, std::size_t dim, bool l2);

/// The two steps of preparing a query's integer weights, shared by sq8 and sq4. First
/// weight_i = query_i * step_i (into `weight`); returns the scale, the largest |weight_i| / top
/// (1 for a zero query). Then round_weights writes weight_i / scale rounded half away from zero
/// and clamped to [-top, top], for n values at a time (sq4 lays them out in two halves). Loops the
/// compiler vectorizes: preparing a query the plain way (libm rounding, a branch per value) took
/// 8% of an sq4 search at ef 40 (100k x 512 clip-like data, perf).
float scale_weights(const float* query, const float* step, std::size_t dim, int top, float* weight);
void round_weights(const float* weight, std::size_t n, float scale, int top, std::int8_t* out);
void round_weights(const float* weight, std::size_t n, float scale, int top, std::int16_t* out);

/// No infinity or NaN among n float16 values (all exponent bits set). One pass without early exit,
/// which the compiler vectorizes: loads check every record.
bool all_finite_half(const std::uint16_t* h, std::size_t n);

}  // namespace imgvec::detail
