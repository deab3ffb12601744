#include "image/resample.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "imgvec/detail/assert.hpp"

// Reproduces Pillow's ImagingResample (libImaging/Resample.c, unchanged from Pillow 4 to 10) for
// 8-bit RGB and the BICUBIC filter, so CLIP sees the pixels open_clip's PIL transform gives it.
// What must match for identical bytes: the filter (a = -0.5, support 2 scaled by the reduction
// factor, which is the antialiasing), the window bounds rounding, weights normalized in double and
// then rounded to 22-bit fixed point, a rounding bias of half a unit, clamping to 0..255, and the
// order: a horizontal pass into an 8-bit image, then a vertical pass, each skipped when that side
// keeps its size. Each output pixel depends only on its own taps, so computing a window of the
// output is exact: the crop costs nothing extra.
namespace imgvec::detail {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

double bicubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// Fixed-point weights for outputs [first, first + count) of a resize from in_size to out_size.
struct Taps {
  int ksize = 0;
  std::vector<int> start;         // first input index per output
  std::vector<int> length;        // number of inputs per output
  std::vector<std::int32_t> k;    // ksize weights per output
};

Taps compute_taps(std::uint32_t in_size, std::uint32_t out_size, std::uint32_t first,
                  std::uint32_t count) {
  const double scale = static_cast<double>(static_cast<float>(in_size)) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 2.0 * filterscale;
  const double inv_filterscale = 1.0 / filterscale;  // Pillow multiplies by the reciprocal
  Taps t;
  t.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  t.start.resize(count);
  t.length.resize(count);
  t.k.assign(static_cast<std::size_t>(count) * t.ksize, 0);
  std::vector<double> w(t.ksize);
  for (std::uint32_t i = 0; i < count; ++i) {
    const double center = (first + i + 0.5) * scale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > static_cast<int>(in_size)) xmax = static_cast<int>(in_size);
    xmax -= xmin;
    double sum = 0.0;
    for (int x = 0; x < xmax; ++x) {
      w[x] = bicubic((x + xmin - center + 0.5) * inv_filterscale);
      sum += w[x];
    }
    std::int32_t* k = &t.k[static_cast<std::size_t>(i) * t.ksize];
    for (int x = 0; x < xmax; ++x) {
      const double v = (sum != 0.0 ? w[x] / sum : w[x]) * (1 << kPrecisionBits);
      k[x] = static_cast<std::int32_t>(v < 0 ? v - 0.5 : v + 0.5);
    }
    t.start[i] = xmin;
    t.length[i] = xmax;
  }
  return t;
}

inline std::uint8_t clip8(std::int32_t v) {
  if (v >= (1 << kPrecisionBits << 8)) return 255;
  if (v <= 0) return 0;
  return static_cast<std::uint8_t>(v >> kPrecisionBits);
}

// One row of the horizontal pass. The weighted sums are exact integers whatever the order, so
// the SIMD path gives the same bytes as the scalar one.
void horizontal_row_scalar(const std::uint8_t* src, const Taps& t, std::uint32_t width, std::uint8_t* dst) {
  for (std::uint32_t i = 0; i < width; ++i) {
    const std::int32_t* k = &t.k[static_cast<std::size_t>(i) * t.ksize];
    const std::uint8_t* p = src + static_cast<std::size_t>(t.start[i]) * 3;
    std::int32_t s0 = 1 << (kPrecisionBits - 1), s1 = s0, s2 = s0;
    for (int x = 0; x < t.length[i]; ++x) {
      s0 += p[3 * x + 0] * k[x];
      s1 += p[3 * x + 1] * k[x];
      s2 += p[3 * x + 2] * k[x];
    }
    dst[3 * i + 0] = clip8(s0);
    dst[3 * i + 1] = clip8(s1);
    dst[3 * i + 2] = clip8(s2);
  }
}

#if defined(__x86_64__)
// The three channels of a tap in one SSE4.1 register (the fourth lane reads the next pixel's red
// and is dropped): one multiply-add per tap instead of three. It was the scalar pass that made
// preprocessing the largest cost of embedding a 0.4 MP JPEG on a GPU machine's decode threads;
// this pass ran ~2.5x faster (bench_decode, see docs/benchmarks.md).
__attribute__((target("sse4.1"))) void horizontal_row_sse41(const std::uint8_t* src, const Taps& t,
                                                            std::uint32_t width, std::uint8_t* dst) {
  for (std::uint32_t i = 0; i < width; ++i) {
    const std::int32_t* k = &t.k[static_cast<std::size_t>(i) * t.ksize];
    const std::uint8_t* p = src + static_cast<std::size_t>(t.start[i]) * 3;
    __m128i acc = _mm_set1_epi32(1 << (kPrecisionBits - 1));
    const int last = t.length[i] - 1;
    for (int x = 0; x < last; ++x) {
      std::uint32_t v;
      std::memcpy(&v, p + 3 * x, 4);  // this tap's RGB and the next tap's red, inside the row
      acc = _mm_add_epi32(acc, _mm_mullo_epi32(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(static_cast<int>(v))),
                                               _mm_set1_epi32(k[x])));
    }
    if (last >= 0) {  // the last tap may end the image: read exactly its three bytes
      const std::uint8_t* q = p + 3 * last;
      const std::uint32_t v = q[0] | (std::uint32_t{q[1]} << 8) | (std::uint32_t{q[2]} << 16);
      acc = _mm_add_epi32(acc, _mm_mullo_epi32(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(static_cast<int>(v))),
                                               _mm_set1_epi32(k[last])));
    }
    alignas(16) std::int32_t s[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(s), acc);
    dst[3 * i + 0] = clip8(s[0]);
    dst[3 * i + 1] = clip8(s[1]);
    dst[3 * i + 2] = clip8(s[2]);
  }
}
#endif

void horizontal_row(const std::uint8_t* src, const Taps& t, std::uint32_t width, std::uint8_t* dst) {
#if defined(__x86_64__)
  static const bool sse41 = __builtin_cpu_supports("sse4.1");
  if (sse41) return horizontal_row_sse41(src, t, width, dst);
#endif
  horizontal_row_scalar(src, t, width, dst);
}

}  // namespace

void resample_bicubic(const Image& in, const ResizeWindow& win, std::uint8_t* out) {
  IMGVEC_ASSERT(win.x + win.width <= win.full_width && win.y + win.height <= win.full_height);
  IMGVEC_ASSERT(in.width > 0 && in.height > 0 && win.width > 0 && win.height > 0);
  const bool horizontal = win.full_width != in.width;
  const bool vertical = win.full_height != in.height;

  // Rows of the input the vertical pass reads (all of the window's rows when there is none).
  Taps vt;
  std::uint32_t row_first = win.y, row_end = win.y + win.height;
  if (vertical) {
    vt = compute_taps(in.height, win.full_height, win.y, win.height);
    row_first = static_cast<std::uint32_t>(vt.start.front());
    row_end = static_cast<std::uint32_t>(vt.start.back() + vt.length.back());
    for (std::uint32_t i = 0; i < win.height; ++i) {
      row_first = std::min(row_first, static_cast<std::uint32_t>(vt.start[i]));
      row_end = std::max(row_end, static_cast<std::uint32_t>(vt.start[i] + vt.length[i]));
    }
  }

  // Horizontal pass over those rows and the window's columns, into an 8-bit intermediate.
  const std::size_t w3 = static_cast<std::size_t>(win.width) * 3;
  const std::uint32_t rows = row_end - row_first;
  std::vector<std::uint8_t> mid(vertical ? rows * w3 : 0);
  std::uint8_t* h_out = vertical ? mid.data() : out;
  const std::size_t in_stride = static_cast<std::size_t>(in.width) * 3;
  if (horizontal) {
    const Taps ht = compute_taps(in.width, win.full_width, win.x, win.width);
    for (std::uint32_t r = 0; r < rows; ++r) {
      horizontal_row(in.rgb.data() + (row_first + r) * in_stride, ht, win.width, h_out + r * w3);
    }
  } else {
    for (std::uint32_t r = 0; r < rows; ++r) {
      std::copy_n(in.rgb.data() + (row_first + r) * in_stride + static_cast<std::size_t>(win.x) * 3,
                  w3, h_out + r * w3);
    }
  }
  if (!vertical) return;

  // Vertical pass: whole rows at a time, so the taps stream through contiguous memory.
  std::vector<std::int32_t> acc(w3);
  for (std::uint32_t i = 0; i < win.height; ++i) {
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    const std::int32_t* k = &vt.k[static_cast<std::size_t>(i) * vt.ksize];
    for (int y = 0; y < vt.length[i]; ++y) {
      const std::uint8_t* src = mid.data() + (vt.start[i] + y - row_first) * w3;
      const std::int32_t ky = k[y];
      for (std::size_t c = 0; c < w3; ++c) acc[c] += src[c] * ky;
    }
    std::uint8_t* dst = out + i * w3;
    for (std::size_t c = 0; c < w3; ++c) dst[c] = clip8(acc[c]);
  }
}

}  // namespace imgvec::detail
