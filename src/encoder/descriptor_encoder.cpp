#include "imgvec/encoder/descriptor_encoder.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "imgvec/image/preprocess.hpp"
#include "parallel/parallel.hpp"

namespace imgvec {
namespace {

constexpr int kSide = 64;  // every image is first squashed to 64x64: aspect is part of identity
constexpr double kPi = 3.14159265358979323846;

void unit(float* v, std::size_t n, float weight) {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += double{v[i]} * v[i];
  const float k = s > 0 ? static_cast<float>(weight / std::sqrt(s)) : 0.0f;
  for (std::size_t i = 0; i < n; ++i) v[i] *= k;
}

// Soft RGB histogram: each channel splits between its two nearest of 4 bin centres (0, 85, 170,
// 255), so a small brightness shift moves mass gradually instead of jumping bins.
void colour_histogram(const std::uint8_t* rgb, float* out) {
  std::fill(out, out + 64, 0.0f);
  for (int p = 0; p < kSide * kSide; ++p) {
    int lo[3];
    float w_hi[3];
    for (int c = 0; c < 3; ++c) {
      const float x = rgb[3 * p + c] / 85.0f;
      lo[c] = std::min(static_cast<int>(x), 2);
      w_hi[c] = x - static_cast<float>(lo[c]);
    }
    for (int corner = 0; corner < 8; ++corner) {
      float w = 1.0f;
      int bin = 0;
      for (int c = 0; c < 3; ++c) {
        const int hi = (corner >> c) & 1;
        w *= hi ? w_hi[c] : 1.0f - w_hi[c];
        bin = bin * 4 + lo[c] + hi;
      }
      out[bin] += w;
    }
  }
  for (int i = 0; i < 64; ++i) out[i] = std::sqrt(out[i]);
}

// 8x8 cells of mean Y, Cb, Cr. Luma is normalized by its mean and spread over the grid, so a
// brightened or contrast-stretched copy has the same layout.
void layout(const float* y, const float* cb, const float* cr, float* out) {
  const int cell = kSide / 8;
  float* ly = out;
  for (int gy = 0; gy < 8; ++gy) {
    for (int gx = 0; gx < 8; ++gx) {
      double sy = 0, sb = 0, sr = 0;
      for (int j = 0; j < cell; ++j) {
        for (int i = 0; i < cell; ++i) {
          const int p = (gy * cell + j) * kSide + gx * cell + i;
          sy += y[p];
          sb += cb[p];
          sr += cr[p];
        }
      }
      const double n = cell * cell;
      out[gy * 8 + gx] = static_cast<float>(sy / n);
      out[64 + gy * 8 + gx] = static_cast<float>(sb / n / 128.0);
      out[128 + gy * 8 + gx] = static_cast<float>(sr / n / 128.0);
    }
  }
  double mean = 0, var = 0;
  for (int i = 0; i < 64; ++i) mean += ly[i];
  mean /= 64;
  for (int i = 0; i < 64; ++i) var += (ly[i] - mean) * (ly[i] - mean);
  const double sd = std::sqrt(var / 64) + 1.0;  // +1 level: flat images stay finite
  for (int i = 0; i < 64; ++i) ly[i] = static_cast<float>((ly[i] - mean) / sd);
}

// Gradient orientations (unsigned, 8 bins over 180 degrees) weighted by magnitude, per 16x16
// cell; each cell's histogram clipped at 0.2 of the whole, as SIFT does, so one strong edge does
// not drown the rest.
void edges(const float* y, float* out) {
  std::fill(out, out + 128, 0.0f);
  for (int r = 1; r < kSide - 1; ++r) {
    for (int c = 1; c < kSide - 1; ++c) {
      const float gx = y[r * kSide + c + 1] - y[r * kSide + c - 1];
      const float gy = y[(r + 1) * kSide + c] - y[(r - 1) * kSide + c];
      const float mag = std::sqrt(gx * gx + gy * gy);
      if (mag == 0) continue;
      double angle = std::atan2(gy, gx);
      if (angle < 0) angle += kPi;
      const double pos = angle / kPi * 8.0 - 0.5;  // soft between the two nearest bins
      const int b0 = static_cast<int>(std::floor(pos));
      const float w1 = static_cast<float>(pos - b0);
      const int cell = (r / 16) * 4 + c / 16;
      out[cell * 8 + ((b0 + 8) % 8)] += mag * (1.0f - w1);
      out[cell * 8 + ((b0 + 9) % 8)] += mag * w1;
    }
  }
  unit(out, 128, 1.0f);
  for (int i = 0; i < 128; ++i) out[i] = std::min(out[i], 0.2f);
}

// pHash: DCT-II of the 32x32 luma (2x2 means of the 64x64), the 8x8 lowest frequencies without
// the constant term's brightness, each as +1 or -1 against their median.
void perceptual_hash(const float* y, float* out) {
  static const auto basis = [] {
    std::array<double, 8 * 32> b{};
    for (int k = 0; k < 8; ++k) {
      for (int n = 0; n < 32; ++n) b[k * 32 + n] = std::cos(kPi / 32.0 * (n + 0.5) * k);
    }
    return b;
  }();
  double small[32 * 32];
  for (int r = 0; r < 32; ++r) {
    for (int c = 0; c < 32; ++c) {
      const int p = 2 * r * kSide + 2 * c;
      small[r * 32 + c] = (y[p] + y[p + 1] + y[p + kSide] + y[p + kSide + 1]) / 4.0;
    }
  }
  double rows[8 * 32];  // DCT along x for the 8 lowest frequencies, every row
  for (int r = 0; r < 32; ++r) {
    for (int k = 0; k < 8; ++k) {
      double s = 0;
      for (int n = 0; n < 32; ++n) s += small[r * 32 + n] * basis[k * 32 + n];
      rows[k * 32 + r] = s;
    }
  }
  double coef[64];
  for (int ky = 0; ky < 8; ++ky) {
    for (int kx = 0; kx < 8; ++kx) {
      double s = 0;
      for (int n = 0; n < 32; ++n) s += rows[kx * 32 + n] * basis[ky * 32 + n];
      coef[ky * 8 + kx] = s;
    }
  }
  double sorted[63];
  std::copy(coef + 1, coef + 64, sorted);
  std::nth_element(sorted, sorted + 31, sorted + 63);
  const double median = sorted[31];
  out[0] = 0.0f;  // the mean brightness says nothing about identity
  for (int i = 1; i < 64; ++i) out[i] = coef[i] > median ? 1.0f : -1.0f;
}

}  // namespace

DescriptorEncoder::DescriptorEncoder()
    : Encoder(EncoderFingerprint{"descriptor", "imgvec built-in descriptor v1", "", kDimension,
                                 "squash to 64x64 bicubic; soft RGB histogram 4x4x4; 8x8 YCbCr "
                                 "layout; 4x4x8 gradient orientations; 8x8 DCT pHash"},
              kDimension) {
  // All the work is in prepare_image, on the decode threads: one per core.
  set_pipeline_threads(detail::available_cores());
}

std::uint32_t DescriptorEncoder::decode_side() const noexcept { return 2 * kSide; }

void DescriptorEncoder::prepare_image(const Image& image, float* out) const {
  const Image small = resize_bicubic(image, kSide, kSide);
  float y[kSide * kSide], cb[kSide * kSide], cr[kSide * kSide];
  for (int p = 0; p < kSide * kSide; ++p) {
    const float r = small.rgb[3 * p], g = small.rgb[3 * p + 1], b = small.rgb[3 * p + 2];
    y[p] = 0.299f * r + 0.587f * g + 0.114f * b;
    cb[p] = -0.168736f * r - 0.331264f * g + 0.5f * b;
    cr[p] = 0.5f * r - 0.418688f * g - 0.081312f * b;
  }
  colour_histogram(small.rgb.data(), out);
  layout(y, cb, cr, out + 64);
  edges(y, out + 256);
  perceptual_hash(y, out + 384);
  // Equal weight for the four parts: the final vector's cosine is the mean of theirs.
  unit(out, 64, 0.5f);
  unit(out + 64, 192, 0.5f);
  unit(out + 256, 128, 0.5f);
  unit(out + 384, 64, 0.5f);
}

void DescriptorEncoder::run_images(const float* inputs, std::size_t count, float* out) {
  std::memcpy(out, inputs, count * kDimension * sizeof(float));
}

}  // namespace imgvec
