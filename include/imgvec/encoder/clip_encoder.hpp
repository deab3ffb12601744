#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "imgvec/encoder/encoder.hpp"
#include "imgvec/image/preprocess.hpp"
#include "imgvec/text/clip_tokenizer.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

/// What a model bundle says about itself (its imgvec/config.json).
struct ClipModelInfo {
  std::string name;
  std::uint32_t embed_dim = 0;
  PreprocessConfig preprocess;
  std::size_t context_length = 77;
  std::size_t vocab_size = 49408;
  /// Whether the text tower may run on a prefix ending at the last end token (see ClipEncoder).
  bool text_truncation = false;
};

struct ClipEncoderOptions {
  /// "cpu", "cuda", "cuda:N" or "auto" (CUDA when libtorch has it and a device is visible).
  std::string device = "auto";
  /// Threads libtorch uses for one model call on the CPU. 0 (the default) chooses per call: the
  /// cores this process may run on that other processes left free over the last fraction of a
  /// second, shared among this process's concurrent calls, at least 1 (beside one busy process on
  /// 2 cores a text query took 17 ms on one thread and 220 on two). N fixes N threads.
  std::size_t threads = 0;
  /// Freeze the module and let libtorch fuse and re-layout it for inference (oneDNN on CPU):
  /// faster calls, a slower load.
  bool optimize = true;
  /// Run texts on the first max(end-token position) + 1 tokens when the bundle allows it. The
  /// embeddings are the same either way (to float rounding); false runs the full context.
  bool shorten_texts = true;
  /// Keep freed libtorch CPU blocks for reuse (up to this many bytes) instead of returning them
  /// to the system: it halves ViT-B/32's time at batch 8 on glibc, whose large blocks come back
  /// as fresh pages that fault on every call. It replaces libtorch's CPU allocator for the whole
  /// process, once, at the first encoder constructed with it; 0 leaves libtorch's allocator.
  std::size_t cached_allocations_bytes = std::size_t{1} << 30;
  /// The number format the model computes in: "float32" (the default), "bf16" (on a CPU with
  /// AVX-512 BF16 or AMX: its linear layers take bfloat16 inputs and weights and accumulate in
  /// float32; on CUDA: the whole model), or "fp16" (CUDA only). Weights are converted once, at
  /// load; embeddings stay within a cosine of 0.999 of float32's, so the fingerprint does not
  /// change with it. Anything else, or bf16 on a CPU without it, throws Error(unsupported).
  std::string precision = "float32";
};

/// Embeds images and texts with a CLIP model bundle: one TorchScript file made by
/// tools/export_openclip.py (trained open_clip models) or tools/make_test_model.py (random
/// weights, for tests). Images are preprocessed as open_clip does (preprocess_clip) and texts
/// tokenized by ClipTokenizer with the bundle's own vocabulary.
///
/// Texts in a batch run on the first max(end-token position) + 1 tokens instead of the full
/// context when the bundle allows it: the causal mask makes the end token's output depend only
/// on what precedes it, so the embeddings are the same and short queries cost a fraction.
///
/// Only this class's implementation file includes libtorch. Available when imgvec is built with
/// IMGVEC_WITH_TORCH (the imgvec::imgvec target defines IMGVEC_HAS_CLIP_ENCODER).
class ClipEncoder final : public Encoder {
 public:
  /// Loads a bundle. Throws imgvec::Error naming the file: not_found (no such file), corrupt_file
  /// (not a TorchScript bundle, or config or vocabulary missing or malformed), unsupported (a
  /// newer bundle format, a preprocessing or tokenizer imgvec does not implement, a CUDA device
  /// requested where there is none), incompatible (the model's outputs disagree with its config).
  explicit ClipEncoder(const std::string& bundle_path, const ClipEncoderOptions& options = {});
  ~ClipEncoder() override;

  bool supports_text() const noexcept override { return true; }
  const ClipModelInfo& info() const noexcept;
  const ClipTokenizer& tokenizer() const noexcept;
  /// The device the model runs on ("cpu", "cuda:0").
  std::string device() const;
  /// How the model runs, for logs: device, threads, and what load-time optimization did
  /// ("cpu, float32, up to 2 threads (fewer beside busy processes), frozen, 48 linear layers on
  /// oneDNN").
  std::string runtime() const;

  /// Model only: embeds `count` preprocessed images (3 x S x S floats each, CHW, as
  /// preprocess_clip writes them). Returns raw model outputs when `normalize` is false.
  std::vector<float> encode_pixels(const float* pixels, std::size_t count, bool normalize = true);
  /// Model only: embeds rows of token ids (as ClipTokenizer::tokenize gives them; each row
  /// context_length long). Returns raw model outputs when `normalize` is false.
  std::vector<float> encode_tokens(const std::vector<std::vector<std::int64_t>>& tokens,
                                   bool normalize = true);

 protected:
  void prepare_image(const Image& image, float* input) const override;
  std::uint32_t decode_side() const noexcept override;
  std::shared_ptr<float> input_buffer(std::size_t floats) const override;
  void run_images(const float* inputs, std::size_t count, float* out) override;
  void run_texts(const std::vector<std::string>& texts, float* out) override;

 private:
  struct Impl;
  explicit ClipEncoder(std::unique_ptr<Impl> impl);
  static std::unique_ptr<Impl> load(const std::string& path, const ClipEncoderOptions& options);
  static EncoderFingerprint fingerprint_of(const Impl& impl);
  static std::size_t input_floats_of(const Impl& impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace imgvec
IMGVEC_API_END
