// imgvec_photo_match.so: verifying that two images are copies of one photo. ORB features, a
// RANSAC similarity fit, then the aligned pixels compared block by block. OpenCV does the first
// two (a maintained, widely used implementation of both); the checks around them are ours.
// Loaded by src/image/photo_match.cpp when duplicates are verified (photo_match_module.hpp says why).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/calib3d.hpp>
#include <opencv2/core.hpp>
#include <opencv2/core/version.hpp>
#include <opencv2/features2d.hpp>
#include <opencv2/imgproc.hpp>

#include "image/photo_match_module.hpp"

namespace imgvec::detail {
namespace {

struct Features {
  cv::Mat gray;                  // longer side kWorkingSide, blurred for the block comparison
  std::vector<cv::Point2f> points;
  cv::Mat descriptors;           // one 32-byte ORB descriptor per point
};

// Both images are brought to one working size, so features of a small copy and of its original
// meet at similar scales; 480 keeps a 12 MP photo's detail for ORB at a few ms per image.
constexpr int kWorkingSide = 480;
constexpr int kFeatures = 1000;
constexpr int kMinSide = 64;
// FAST's corner threshold: ORB's default 20 finds too few corners in smooth images (a portrait on
// a plain background).
constexpr int kFastThreshold = 10;
constexpr float kRatio = 0.8f;          // Lowe's ratio test
constexpr int kProbeCorners = 200;
constexpr std::size_t kMinProbeMatches = 8;
constexpr double kRansacPixels = 4.0;   // at the working size
constexpr std::size_t kMinInliers = 15;
// A copy cropped by a fifth of each side keeps 0.8^2 = 64% of the original; another shot that
// shares half the frame, or less, is not a copy.
constexpr double kMinOverlap = 0.62;
constexpr double kMinSpread = 0.5;
constexpr double kTexturedCell = 8.0;   // standard deviation of a grid cell's gray levels
constexpr int kBlock = 24;
constexpr double kFlatStdDev = 6.0;     // a block this even (sky, a wall) says nothing
constexpr double kBlockAgrees = 0.75;   // normalized cross-correlation
constexpr std::size_t kMinInformativeBlocks = 12;
// Text written over a photo's lower fifth leaves about 80% of the blocks agreeing.
constexpr double kMinAgreement = 0.7;

double polygon_area(const std::vector<cv::Point2f>& p) {
  double a = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const cv::Point2f &u = p[i], &v = p[(i + 1) % p.size()];
    a += static_cast<double>(u.x) * v.y - static_cast<double>(v.x) * u.y;
  }
  return std::abs(a) / 2;
}

std::vector<cv::Point2f> corners(const cv::Size& s) {
  const auto w = static_cast<float>(s.width), h = static_cast<float>(s.height);
  return {{0, 0}, {w, 0}, {w, h}, {0, h}};
}

// Share of A's frame and of B's frame that both show, under m (A's coordinates to B's).
double shared_share(const cv::Mat& m, const cv::Size& a, const cv::Size& b) {
  std::vector<cv::Point2f> a_in_b;
  cv::transform(corners(a), a_in_b, m);
  std::vector<cv::Point2f> shared;
  const float area = cv::intersectConvexConvex(a_in_b, corners(b), shared, true);
  if (area <= 0) return 0;
  const double in_b = area / (static_cast<double>(b.width) * b.height);
  const double in_a = area / polygon_area(a_in_b);
  return std::min(in_a, in_b);
}

// Share of the textured blocks of A that B, warped onto A, reproduces; nothing when too few
// blocks are textured to tell.
std::pair<double, std::size_t> block_agreement(const cv::Mat& a, const cv::Mat& b, const cv::Mat& m) {
  cv::Mat warped, covered;
  cv::warpAffine(b, warped, m, a.size(), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_CONSTANT, 0);
  cv::warpAffine(cv::Mat(b.size(), CV_8U, cv::Scalar(255)), covered, m, a.size(),
                 cv::INTER_NEAREST | cv::WARP_INVERSE_MAP, cv::BORDER_CONSTANT, 0);
  std::size_t informative = 0, agree = 0;
  for (int y = 0; y + kBlock <= a.rows; y += kBlock) {
    for (int x = 0; x + kBlock <= a.cols; x += kBlock) {
      const cv::Rect r(x, y, kBlock, kBlock);
      if (cv::countNonZero(covered(r)) < kBlock * kBlock) continue;  // not wholly inside B
      cv::Scalar ma, sa, mb, sb;
      cv::meanStdDev(a(r), ma, sa);
      cv::meanStdDev(warped(r), mb, sb);
      // Only blocks textured on both sides are compared: an even block says nothing, and one
      // textured on one side only is mostly text written over sky or a wall, which a copy may carry.
      if (sa[0] < kFlatStdDev || sb[0] < kFlatStdDev) continue;
      ++informative;
      cv::Mat fa, fb;
      a(r).convertTo(fa, CV_32F);
      warped(r).convertTo(fb, CV_32F);
      fa -= ma[0];
      fb -= mb[0];
      const double ncc = fa.dot(fb) / (sa[0] * sb[0] * kBlock * kBlock);
      agree += ncc >= kBlockAgrees;
    }
  }
  return {informative ? static_cast<double>(agree) / static_cast<double>(informative) : 0.0, informative};
}

// Inliers must spread over the photo, not sit in one part of it: two different photos with the same
// caption bar, toolbar or watermark match there, and only there. Of the textured cells of a 4x4
// grid over an image, the share that hold an inlier.
double inlier_spread(const cv::Mat& gray, const std::vector<cv::Point2f>& inliers) {
  constexpr int kGrid = 4;
  int textured = 0, matched = 0;
  for (int cy = 0; cy < kGrid; ++cy) {
    for (int cx = 0; cx < kGrid; ++cx) {
      const cv::Rect r(cx * gray.cols / kGrid, cy * gray.rows / kGrid, gray.cols / kGrid, gray.rows / kGrid);
      if (r.width == 0 || r.height == 0) continue;
      cv::Scalar mean, sd;
      cv::meanStdDev(gray(r), mean, sd);
      if (sd[0] < kTexturedCell) continue;  // sky, a wall: no corners to match, in a copy either
      ++textured;
      matched += std::any_of(inliers.begin(), inliers.end(), [&](const cv::Point2f& p) { return r.contains(p); });
    }
  }
  return textured ? static_cast<double>(matched) / textured : 0.0;
}

// Whether m is a rotation by a multiple of 90 degrees (within 3) with a uniform scale.
bool quarter_turn(const cv::Mat& m) {
  const double a = m.at<double>(0, 0), b = m.at<double>(1, 0);
  const double angle = std::atan2(b, a) * 180.0 / CV_PI;
  const double off = std::abs(angle - 90.0 * std::round(angle / 90.0));
  return off <= 3.0 && std::hypot(a, b) > 0;
}

std::vector<cv::KeyPoint> detect(cv::ORB& orb, const cv::Mat& gray) {
  std::vector<cv::KeyPoint> keypoints;
  orb.detect(gray, keypoints);
  return keypoints;
}

// The strongest corners crowd into the busiest part of a photo (foliage, text), leaving its other
// parts without features to match: a crop that cut the busy part away, or text written over it,
// would then find nothing. So at most an even share of kFeatures per cell of a 4x4 grid, the
// strongest of each.
std::vector<cv::KeyPoint> spread_out(std::vector<cv::KeyPoint> keypoints, const cv::Size& size) {
  constexpr int kGrid = 4;
  constexpr std::size_t kPerCell = kFeatures / (kGrid * kGrid);
  std::sort(keypoints.begin(), keypoints.end(),
            [](const cv::KeyPoint& a, const cv::KeyPoint& b) { return a.response > b.response; });
  std::size_t taken[kGrid * kGrid] = {};
  std::vector<cv::KeyPoint> out;
  for (const cv::KeyPoint& k : keypoints) {
    const int cx = std::clamp(static_cast<int>(k.pt.x * kGrid / static_cast<float>(size.width)), 0, kGrid - 1);
    const int cy = std::clamp(static_cast<int>(k.pt.y * kGrid / static_cast<float>(size.height)), 0, kGrid - 1);
    if (taken[cy * kGrid + cx]++ < kPerCell) out.push_back(k);
  }
  return out;
}

// For rows [first, last) of a, the nearest and second-nearest rows of b by Hamming distance, and
// the nearest's index (-1 when b has fewer than two rows). Our own loop rather than cv::BFMatcher:
// OpenCV 4.6 calls its Hamming kernel once per pair of rows, with tracing around each call, and
// that overhead was most of a verification's time (perf, bench_duplicates); this one is 3-4x
// faster, with the POPCNT instruction where the CPU has it (checked at run time).
struct NearestTwo {
  int best, second, at;
};
using Nearest = std::vector<NearestTwo>;

template <bool kHardwarePopcount>
__attribute__((always_inline)) inline void nearest_two_rows(const cv::Mat& a, int first, int last, const cv::Mat& b,
                                                             Nearest& out) {
  const int n = b.rows;
  std::vector<std::uint64_t> words(static_cast<std::size_t>(n) * 4);
  for (int j = 0; j < n; ++j) std::memcpy(&words[static_cast<std::size_t>(j) * 4], b.ptr(j), 32);
  for (int i = first; i < last; ++i) {
    std::uint64_t q[4];
    std::memcpy(q, a.ptr(i), 32);
    int best = 257, second = 257, at = -1;
    for (int j = 0; j < n; ++j) {
      const std::uint64_t* w = &words[static_cast<std::size_t>(j) * 4];
      const int d = __builtin_popcountll(q[0] ^ w[0]) + __builtin_popcountll(q[1] ^ w[1]) +
                    __builtin_popcountll(q[2] ^ w[2]) + __builtin_popcountll(q[3] ^ w[3]);
      if (d < second) {
        if (d < best) {
          second = best;
          best = d;
          at = j;
        } else {
          second = d;
        }
      }
    }
    out.push_back({best, second, n >= 2 ? at : -1});
  }
}

__attribute__((target("popcnt"))) void nearest_two_popcnt(const cv::Mat& a, int first, int last, const cv::Mat& b,
                                                          Nearest& out) {
  nearest_two_rows<true>(a, first, last, b, out);
}

void nearest_two_portable(const cv::Mat& a, int first, int last, const cv::Mat& b, Nearest& out) {
  nearest_two_rows<false>(a, first, last, b, out);
}

Nearest nearest_two(const cv::Mat& a, int first, int last, const cv::Mat& b) {
  static const bool popcnt = __builtin_cpu_supports("popcnt");
  Nearest out;
  out.reserve(static_cast<std::size_t>(last - first));
  if (popcnt) {
    nearest_two_popcnt(a, first, last, b, out);
  } else {
    nearest_two_portable(a, first, last, b, out);
  }
  return out;
}

void match_into(const Features& a, const Features& b, PhotoMatchResult& out) {
  if (a.points.size() < kMinInliers || b.points.size() < kMinInliers) return;
  std::vector<cv::Point2f> pa, pb;
  auto match_rows = [&](int first, int last) {
    const Nearest nearest = nearest_two(a.descriptors, first, last, b.descriptors);
    for (int i = first; i < last; ++i) {
      const auto& [best, second, at] = nearest[static_cast<std::size_t>(i - first)];
      if (at >= 0 && static_cast<float>(best) < kRatio * static_cast<float>(second)) {
        pa.push_back(a.points[static_cast<std::size_t>(i)]);
        pb.push_back(b.points[static_cast<std::size_t>(at)]);
      }
    }
  };
  // Matching descriptors is most of the cost, and most pairs verified are not copies: the
  // strongest corners first, and the rest only when enough of those match. Copies matched at
  // least 12% of their corners in the benchmark; unrelated photos about 2%.
  const int rows = a.descriptors.rows, probe = std::min(rows, kProbeCorners);
  match_rows(0, probe);
  if (pa.size() < kMinProbeMatches) return;
  if (probe < rows) match_rows(probe, rows);
  out.matches = pa.size();
  if (pa.size() < kMinInliers) return;
  std::vector<std::uint8_t> inlier;
  const cv::Mat m = cv::estimateAffinePartial2D(pa, pb, inlier, cv::RANSAC, kRansacPixels, 2000, 0.995, 10);
  if (m.empty()) return;
  out.inliers = static_cast<std::size_t>(std::count(inlier.begin(), inlier.end(), std::uint8_t{1}));
  if (out.inliers < kMinInliers || !quarter_turn(m)) return;
  std::vector<cv::Point2f> matched_a, matched_b;
  for (std::size_t i = 0; i < pa.size(); ++i) {
    if (!inlier[i]) continue;
    matched_a.push_back(pa[i]);
    matched_b.push_back(pb[i]);
  }
  out.spread = std::min(inlier_spread(a.gray, matched_a), inlier_spread(b.gray, matched_b));
  if (out.spread < kMinSpread) return;
  out.overlap = shared_share(m, a.gray.size(), b.gray.size());
  if (out.overlap < kMinOverlap) return;
  const auto [agreement, informative] = block_agreement(a.gray, b.gray, m);
  out.agreement = agreement;
  out.same_photo = informative >= kMinInformativeBlocks && agreement >= kMinAgreement;
}

void* features(const std::uint8_t* rgb_bytes, std::uint32_t width, std::uint32_t height, char* error,
               std::size_t error_size) {
  try {
    const cv::Mat rgb(static_cast<int>(height), static_cast<int>(width), CV_8UC3, const_cast<std::uint8_t*>(rgb_bytes));
    cv::Mat gray;
    cv::cvtColor(rgb, gray, cv::COLOR_RGB2GRAY);
    const double scale = static_cast<double>(kWorkingSide) / std::max(width, height);
    const cv::Size size(std::max(1, static_cast<int>(std::lround(width * scale))),
                        std::max(1, static_cast<int>(std::lround(height * scale))));
    cv::Mat working;
    cv::resize(gray, working, size, 0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    auto f = std::make_unique<Features>();
    // ORB's pyramid needs room for its 31-pixel patches at every level: a sliver or an icon has no
    // corners to match (and made OpenCV assert).
    if (std::min(working.rows, working.cols) < kMinSide) {
      cv::GaussianBlur(working, f->gray, cv::Size(5, 5), 1.2);
      return f.release();
    }
    cv::Ptr<cv::ORB> orb = cv::ORB::create(kFeatures * 4, 1.2f, 8, 15, 0, 2, cv::ORB::HARRIS_SCORE, 15, kFastThreshold);
    std::vector<cv::KeyPoint> keypoints = spread_out(detect(*orb, working), working.size());
    orb->compute(working, keypoints, f->descriptors);
    for (const cv::KeyPoint& k : keypoints) f->points.push_back(k.pt);
    // Blurred for the block comparison, so resampling and recompression do not read as change.
    cv::GaussianBlur(working, f->gray, cv::Size(5, 5), 1.2);
    return f.release();
  } catch (const std::exception& e) {  // cv::Exception, std::bad_alloc
    std::snprintf(error, error_size, "%s", e.what());
    return nullptr;
  }
}

void release(void* f) { delete static_cast<Features*>(f); }

std::size_t keypoints(const void* f) { return static_cast<const Features*>(f)->points.size(); }

std::size_t memory_bytes(const void* p) {
  const auto* f = static_cast<const Features*>(p);
  return f->gray.total() + f->points.size() * sizeof(cv::Point2f) + f->descriptors.total() * f->descriptors.elemSize();
}

void match(const void* pa_, const void* pb_, PhotoMatchResult* out) {
  *out = PhotoMatchResult{};
  try {
    match_into(*static_cast<const Features*>(pa_), *static_cast<const Features*>(pb_), *out);
  } catch (const std::exception&) {
    *out = PhotoMatchResult{};  // not shown to be copies; OpenCV refuses only degenerate inputs here
  }
}

}  // namespace
}  // namespace imgvec::detail

// Its one export (the module is built with hidden visibility and sees no imgvec header).
extern "C" __attribute__((visibility("default"))) const imgvec::detail::PhotoMatchApi* imgvec_photo_match_api() {
  using namespace imgvec::detail;
  // imgvec runs one comparison per core itself; OpenCV's own threads on top only contend.
  cv::setNumThreads(1);
  static const PhotoMatchApi api = {kPhotoMatchAbi, "OpenCV " CV_VERSION, features, release, keypoints, memory_bytes, match};
  return &api;
}
