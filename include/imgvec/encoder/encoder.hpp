#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "imgvec/error.hpp"
#include "imgvec/image/image.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

/// What an encoder's vectors mean. Two encoders with equal fingerprints give the same vector for
/// the same input, so a database built with one can be searched with the other; a database
/// stores its encoder's fingerprint and refuses any other.
struct EncoderFingerprint {
  std::string kind;           ///< "clip", "descriptor", ...
  std::string model;          ///< the model's name, for people
  std::string model_hash;     ///< hex XXH3-64 of the model file; empty for built-in encoders
  std::uint32_t dimension = 0;
  std::string preprocessing;  ///< everything between the decoded image (or text) and the model

  /// One line holding every field, for messages and files.
  std::string to_string() const;
  bool operator==(const EncoderFingerprint& o) const {
    return kind == o.kind && model_hash == o.model_hash && dimension == o.dimension &&
           preprocessing == o.preprocessing && model == o.model;
  }
  bool operator!=(const EncoderFingerprint& o) const { return !(*this == o); }
};

/// One image's outcome in a batch: its embedding, or the reason it has none.
struct ImageEmbedding {
  std::vector<float> vector;  ///< dimension() floats, L2-normalized; empty on failure
  ErrorCode code = ErrorCode::invalid_argument;  ///< meaningful only on failure
  std::string error;          ///< names the file and what is wrong; empty on success
  std::uint32_t width = 0, height = 0;          ///< the decoded image's size (files only)
  ImageFormat format = ImageFormat::unknown;    ///< its container format (files only)
  /// Not embedded because EmbedFilesOptions::cancel stopped the run first (error says so too).
  bool cancelled = false;
  bool ok() const noexcept { return error.empty(); }
};

/// Where an embedding run's time went, added to by each run it is passed to (EmbedFilesOptions).
/// The model's busy fraction, model_seconds / seconds, says whether decoding kept up.
struct PipelineStats {
  std::size_t images = 0;        ///< images the model embedded
  double seconds = 0;            ///< wall time of the runs
  double model_seconds = 0;      ///< of which the model ran (run_images, transfers included)
  double waiting_seconds = 0;    ///< of which the model waited for decoded batches
};

struct EmbedFilesOptions {
  /// Limits; min_side is set from the encoder's fast_decode() unless given here.
  DecodeOptions decode;
  /// Called on the calling thread after each batch with (files done, files in all).
  std::function<void(std::size_t, std::size_t)> progress;
  /// Asked on the calling thread before each batch; true stops the run: the files of that batch
  /// and later ones come back `cancelled`, those before are embedded as usual.
  std::function<bool()> cancel;
  /// When set, the run adds its figures here.
  PipelineStats* stats = nullptr;
};

/// Turns images and texts into vectors whose inner product measures similarity. Implementations:
/// ClipEncoder (a CLIP model bundle, libtorch). The interface lives in imgvec::core so that
/// indexes and databases need no libtorch.
///
/// Every embed function returns L2-normalized vectors, row-major, dimension() floats each, and
/// may be called from several threads at once; the setters may not run alongside them.
class Encoder {
 public:
  virtual ~Encoder() = default;
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  std::size_t dimension() const noexcept { return fingerprint_.dimension; }
  const EncoderFingerprint& fingerprint() const noexcept { return fingerprint_; }
  /// Whether embed_texts works; when false it throws ErrorCode::unsupported.
  virtual bool supports_text() const noexcept = 0;

  /// Embeds decoded images, batch_size() at a time. Throws imgvec::Error if an image is empty.
  std::vector<float> embed_images(const Image* images, std::size_t count);
  std::vector<float> embed_images(const std::vector<Image>& images) {
    return embed_images(images.data(), images.size());
  }
  std::vector<float> embed_image(const Image& image) { return embed_images(&image, 1); }

  /// Reads, decodes and embeds files. Decoding and preprocessing run on pipeline_threads() worker
  /// threads while the model runs on the previous batch. A file that cannot be read or decoded
  /// (or a batch the model fails on) gets an error naming it; the others are embedded. Results
  /// are in the order of `paths`.
  std::vector<ImageEmbedding> embed_image_files(const std::vector<std::string>& paths,
                                                const EmbedFilesOptions& options = {});
  /// The same pipeline for images the caller makes: `make(i, image)` runs on the workers, for
  /// each i in any order, and decodes image i however the caller likes (from bytes it holds,
  /// taking whatever else it needs from them on the same thread), or throws imgvec::Error, which
  /// fails that image. `names` (one per image) name them in messages. `options.decode` is the
  /// caller's to apply (decode_options() gives the encoder's).
  std::vector<ImageEmbedding> embed_made_images(const std::vector<std::string>& names,
                                                const std::function<void(std::size_t, Image&)>& make,
                                                const EmbedFilesOptions& options = {});

  /// Embeds UTF-8 texts. Throws imgvec::Error (unsupported) if the encoder has no text model.
  std::vector<float> embed_texts(const std::vector<std::string>& texts);
  std::vector<float> embed_text(const std::string& text) { return embed_texts({text}); }

  /// Images per model call (default 8). Larger batches use the cores better and more memory.
  std::size_t batch_size() const noexcept { return batch_size_; }
  void set_batch_size(std::size_t n);
  /// Whether files are decoded at a reduced scale where that is faster (JPEG: 1/2, 1/4 or 1/8 in
  /// the DCT domain), keeping the shorter side at least twice what the model's preprocessing
  /// resizes it to (default true; a 12 MP JPEG then decodes several times faster, and vectors
  /// change by a cosine of about 0.01: docs/benchmarks.md). false decodes every pixel, as
  /// open_clip does. The fingerprint is the same either way.
  bool fast_decode() const noexcept { return fast_decode_; }
  void set_fast_decode(bool on) noexcept { fast_decode_ = on; }
  /// The decode options this encoder uses for images it reads itself: `base` with
  /// DecodeOptions::min_side set as fast_decode() asks (unless `base` already sets it).
  DecodeOptions decode_options(DecodeOptions base = {}) const;
  /// The number format its model computes in: "float32" (the default, and the built-in
  /// encoder's), "bf16" or "fp16" (ClipEncoderOptions::precision). Records keep it.
  const std::string& precision() const noexcept { return precision_; }
  /// Threads that decode and preprocess files for embed_image_files (default 1; a CLIP encoder
  /// on CUDA sets one per available core but one, as its model needs no CPU of its own).
  std::size_t pipeline_threads() const noexcept { return pipeline_threads_; }
  void set_pipeline_threads(std::size_t n);

 protected:
  Encoder(EncoderFingerprint fingerprint, std::size_t input_floats);

  /// Turns a decoded image into the model's input, input_floats() floats. Called concurrently
  /// from several threads.
  virtual void prepare_image(const Image& image, float* input) const = 0;
  /// Runs the model on `count` prepared inputs, writing count x dimension() raw vectors.
  virtual void run_images(const float* inputs, std::size_t count, float* out) = 0;
  /// Embeds texts into count x dimension() raw vectors. The default throws unsupported.
  virtual void run_texts(const std::vector<std::string>& texts, float* out);

  std::size_t input_floats() const noexcept { return input_floats_; }
  void set_precision(std::string precision) { precision_ = std::move(precision); }
  /// The shorter side prepare_image needs to lose nothing: twice the size it resizes to, or 0
  /// (the default) when it needs every pixel.
  virtual std::uint32_t decode_side() const noexcept { return 0; }
  /// Memory for `floats` prepared inputs, which the file pipeline fills and hands to run_images.
  /// The default is ordinary memory; an encoder on a GPU gives page-locked memory, which the
  /// device copies from at full speed and without a staging copy.
  virtual std::shared_ptr<float> input_buffer(std::size_t floats) const;

 private:
  EncoderFingerprint fingerprint_;
  std::size_t input_floats_;
  std::size_t batch_size_ = 8;
  std::size_t pipeline_threads_ = 1;
  bool fast_decode_ = true;
  std::string precision_ = "float32";
};

}  // namespace imgvec
IMGVEC_API_END
