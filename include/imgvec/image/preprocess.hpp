#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "imgvec/image/image.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

/// How a CLIP model wants its pixels; a model bundle carries its own values.
struct PreprocessConfig {
  /// Side of the square input, in pixels.
  std::uint32_t image_size = 224;
  /// Per-channel (R, G, B) mean and standard deviation applied after scaling to [0, 1]. The defaults
  /// are OpenAI CLIP's, which open_clip uses for every OpenAI and most LAION models.
  std::array<float, 3> mean = {0.48145466f, 0.4578275f, 0.40821073f};
  std::array<float, 3> std = {0.26862954f, 0.26130258f, 0.27577711f};
};

/// Resizes to width x height with antialiased bicubic resampling, giving the same bytes as Pillow's
/// Image.resize(..., Image.BICUBIC) (its fixed-point two-pass resampler: horizontal, then vertical,
/// through an 8-bit intermediate). Throws imgvec::Error for an empty image or a zero size.
Image resize_bicubic(const Image& image, std::uint32_t width, std::uint32_t height);

/// The rectangle of `image` at (x, y) of width x height pixels. Throws Error(invalid_argument)
/// when it does not lie inside the image or is empty.
Image crop_image(const Image& image, std::uint32_t x, std::uint32_t y, std::uint32_t width, std::uint32_t height);

/// `image` turned clockwise by quarter_turns x 90 degrees (any integer; negative turns
/// anticlockwise). Throws Error(invalid_argument) for an empty image.
Image rotate_image(const Image& image, int quarter_turns);

/// The size open_clip's transform resizes an image to before cropping: the shorter side becomes
/// `size` and the longer one floor(size * long / short), as torchvision's Resize(int) computes it.
std::array<std::uint32_t, 2> clip_resize_size(std::uint32_t width, std::uint32_t height,
                                               std::uint32_t size);

/// open_clip's evaluation transform for CLIP: resize the shorter side to config.image_size
/// (antialiased bicubic, as above), center crop a square as torchvision's CenterCrop does, scale to
/// [0, 1], normalize with config.mean and config.std. Writes 3 x size x size floats, channel-major
/// (CHW), to `out`. Only the pixels that survive the crop are resampled; they are bit-identical to
/// resizing the whole image first. Thread-safe. Throws imgvec::Error for an empty image or config.
void preprocess_clip(const Image& image, const PreprocessConfig& config, float* out);

/// As above, returning the CHW tensor.
std::vector<float> preprocess_clip(const Image& image, const PreprocessConfig& config);

}  // namespace imgvec
IMGVEC_API_END
