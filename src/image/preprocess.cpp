#include "imgvec/image/preprocess.hpp"

#include <algorithm>
#include <string>

#include "image/exif.hpp"
#include "image/resample.hpp"
#include "imgvec/error.hpp"

namespace imgvec {
namespace {

void check_image(const Image& image, const char* what) {
  if (image.width == 0 || image.height == 0 ||
      image.rgb.size() != static_cast<std::size_t>(image.width) * image.height * 3) {
    throw Error(ErrorCode::invalid_argument,
                std::string(what) + ": the image is empty or its pixel buffer does not match " +
                    std::to_string(image.width) + "x" + std::to_string(image.height) + " RGB");
  }
}

// torchvision's CenterCrop offset: int(round((size - crop) / 2.0)), and Python rounds halves to
// even, so an odd margin of 2m + 1 puts the extra pixel before the crop when m is odd.
std::uint32_t crop_offset(std::uint32_t size, std::uint32_t crop) {
  const std::uint32_t margin = size - crop;
  const std::uint32_t half = margin / 2;
  return (margin % 2 == 1 && half % 2 == 1) ? half + 1 : half;
}

}  // namespace

Image rotate_image(const Image& image, int quarter_turns) {
  check_image(image, "rotate_image");
  // The EXIF orientations that turn an image clockwise: 6 a quarter, 3 a half, 8 three quarters.
  static constexpr int kOrientation[] = {1, 6, 3, 8};
  Image out = image;
  detail::apply_orientation(kOrientation[((quarter_turns % 4) + 4) % 4], out.width, out.height, out.rgb);
  if (out.width != image.width) std::swap(out.full_width, out.full_height);
  return out;
}

Image crop_image(const Image& image, std::uint32_t x, std::uint32_t y, std::uint32_t width, std::uint32_t height) {
  check_image(image, "crop_image");
  if (width == 0 || height == 0 || std::uint64_t{x} + width > image.width || std::uint64_t{y} + height > image.height) {
    throw Error(ErrorCode::invalid_argument, "crop_image: " + std::to_string(width) + "x" + std::to_string(height) +
                                                 " at (" + std::to_string(x) + ", " + std::to_string(y) +
                                                 ") is not inside the " + std::to_string(image.width) + "x" +
                                                 std::to_string(image.height) + " image");
  }
  Image out;
  out.width = width;
  out.height = height;
  out.format = image.format;
  out.rgb.resize(std::size_t{width} * height * 3);
  for (std::uint32_t r = 0; r < height; ++r) {
    std::copy_n(&image.rgb[((std::size_t{y} + r) * image.width + x) * 3], std::size_t{width} * 3,
                &out.rgb[std::size_t{r} * width * 3]);
  }
  return out;
}

Image resize_bicubic(const Image& image, std::uint32_t width, std::uint32_t height) {
  check_image(image, "resize_bicubic");
  if (width == 0 || height == 0) {
    throw Error(ErrorCode::invalid_argument, "resize_bicubic: the target size must be positive, got " +
                                                 std::to_string(width) + "x" + std::to_string(height));
  }
  Image out;
  out.width = width;
  out.height = height;
  out.format = image.format;
  out.rgb.resize(static_cast<std::size_t>(width) * height * 3);
  detail::resample_bicubic(image, {width, height, 0, 0, width, height}, out.rgb.data());
  return out;
}

std::array<std::uint32_t, 2> clip_resize_size(std::uint32_t width, std::uint32_t height,
                                              std::uint32_t size) {
  const bool portrait = width <= height;
  const std::uint64_t shorter = portrait ? width : height;
  const std::uint64_t longer = portrait ? height : width;
  // Python's int(size * long / short): an exact integer product, one correctly rounded division.
  const auto scaled = static_cast<std::uint32_t>(static_cast<double>(size * longer) /
                                                 static_cast<double>(shorter));
  return portrait ? std::array<std::uint32_t, 2>{size, scaled}
                  : std::array<std::uint32_t, 2>{scaled, size};
}

void preprocess_clip(const Image& image, const PreprocessConfig& config, float* out) {
  check_image(image, "preprocess_clip");
  const std::uint32_t s = config.image_size;
  if (s == 0) throw Error(ErrorCode::invalid_argument, "preprocess_clip: image_size is 0");
  for (float sd : config.std) {
    if (!(sd > 0.0f)) {
      throw Error(ErrorCode::invalid_argument, "preprocess_clip: std must be positive");
    }
  }
  const auto [rw, rh] = clip_resize_size(image.width, image.height, s);
  const detail::ResizeWindow window{rw, rh, crop_offset(rw, s), crop_offset(rh, s), s, s};
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(s) * s * 3);
  detail::resample_bicubic(image, window, pixels.data());

  // ToTensor then Normalize in float32, as torchvision computes them: (v / 255 - mean) / std.
  // A table per channel makes that exact and costs 768 divisions.
  float lut[3][256];
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) {
      lut[c][v] = (static_cast<float>(v) / 255.0f - config.mean[c]) / config.std[c];
    }
  }
  const std::size_t plane = static_cast<std::size_t>(s) * s;
  for (std::size_t i = 0; i < plane; ++i) {
    out[i] = lut[0][pixels[3 * i + 0]];
    out[plane + i] = lut[1][pixels[3 * i + 1]];
    out[2 * plane + i] = lut[2][pixels[3 * i + 2]];
  }
}

std::vector<float> preprocess_clip(const Image& image, const PreprocessConfig& config) {
  std::vector<float> out(static_cast<std::size_t>(3) * config.image_size * config.image_size);
  preprocess_clip(image, config, out.data());
  return out;
}

}  // namespace imgvec
