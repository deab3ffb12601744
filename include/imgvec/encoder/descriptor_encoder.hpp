#pragma once

#include "imgvec/encoder/encoder.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

/// The built-in, model-free image encoder: image-to-image search and duplicate detection out of
/// the box, with no model file and no libtorch. An image becomes four unit-length parts, each
/// weighted equally in one unit vector, so a cosine is the mean of the parts' cosines:
/// - colour: a soft 4x4x4 RGB histogram (square-rooted, so cosine is the Bhattacharyya overlap);
/// - layout: an 8x8 grid of mean luma (contrast-normalized) and chroma;
/// - edges: gradient-orientation histograms, 8 directions in 4x4 cells (HOG-like);
/// - perceptual hash: the signs of the 8x8 lowest DCT frequencies of a 32x32 luma image against
///   their median (pHash).
/// Robust to resizing, recompression, small crops and brightness changes; it knows nothing of
/// meaning (a red car and a red apple can match). Texts are not supported.
class DescriptorEncoder final : public Encoder {
 public:
  static constexpr std::size_t kDimension = 64 + 192 + 128 + 64;

  DescriptorEncoder();
  bool supports_text() const noexcept override { return false; }

 protected:
  void prepare_image(const Image& image, float* input) const override;
  std::uint32_t decode_side() const noexcept override;
  void run_images(const float* inputs, std::size_t count, float* out) override;
};

}  // namespace imgvec
IMGVEC_API_END
