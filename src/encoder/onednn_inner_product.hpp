#pragma once
// A linear layer, y = x W^T + b, on oneDNN with its weight laid out once, at load, in the blocked
// format the kernels read: an inner product for few rows, a matmul on the same bytes for many
// (faster there with AVX-512; see kMatmulRows). Through libtorch's mkldnn_linear the weight stays in
// plain layout and oneDNN reorders it on every call: ViT-B/32 spent more time reordering its
// weights than multiplying (ONEDNN_VERBOSE, Xeon with AMX, batch 8), and every reorder wrote
// freshly faulted pages (45% of `imgvec embed`'s load time was the kernel clearing pages).
// Built where oneDNN's own headers and library are present (Debian: libdnnl-dev, the same
// libdnnl.so.2 that Debian's libtorch calls); elsewhere available() is false.

#include <cstdint>
#include <memory>

namespace imgvec::detail {

/// An activation applied to the layer's output as it is written (a oneDNN post-op), instead of by
/// separate passes over it afterwards.
enum class Activation {
  none,
  quick_gelu,  // x * sigmoid(1.702 x), OpenAI CLIP's (oneDNN's swish with alpha 1.702)
  gelu_erf,    // torch.nn.GELU()
  gelu_tanh,   // torch.nn.GELU(approximate="tanh")
};

class InnerProduct {
 public:
  /// Whether this build has oneDNN's API.
  static bool available() noexcept;

  /// `weight` is out x in floats, row-major; `bias` out floats or null. With `bf16` the weight is
  /// kept in bfloat16 and run() takes bfloat16 inputs; products add up in float32 either way.
  /// `activation` is applied to every output.
  InnerProduct(const float* weight, const float* bias, std::int64_t out, std::int64_t in, bool bf16,
               Activation activation = Activation::none);
  ~InnerProduct();
  InnerProduct(const InnerProduct&) = delete;
  InnerProduct& operator=(const InnerProduct&) = delete;

  /// Writes bfloat16 outputs instead of float32 (bias and activation still applied in float32
  /// first), for a layer whose output only feeds another bfloat16 layer: the next layer's input
  /// conversion then has nothing to do. Call before run(), not during.
  void write_bf16(bool on);
  bool writes_bf16() const noexcept;

  /// y (rows x out; float32, or bfloat16 after write_bf16) = x (rows x in; float32, or bfloat16
  /// when made with bf16) W^T + b, on `threads` OpenMP threads: the calling thread's
  /// omp_get_max_threads(), which the primitive is made for (one per row and thread count, kept).
  /// Thread-safe.
  void run(const void* x, std::int64_t rows, void* y, int threads) const;

  /// Whether calls of many rows run as a oneDNN matmul on the same packed weight (faster there);
  /// false where oneDNN lays out the two primitives' weights differently.
  bool runs_large_batches_as_matmul() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace imgvec::detail
