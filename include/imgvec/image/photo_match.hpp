#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "imgvec/image/image.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

/// Whether this build can verify that two images are copies of one photo. It needs OpenCV's
/// features2d and calib3d (Debian libopencv-calib3d-dev) when imgvec is built, and then its module
/// imgvec_photo_match.so, loaded on first use from the build tree, the install tree
/// (<libdir>/imgvec/) or $IMGVEC_PHOTO_MATCH_MODULE, so that programs that never verify
/// duplicates never load OpenCV.
bool photo_matching_available();
/// "OpenCV 4.6.0"; empty when not available.
std::string photo_matching_library();
/// Why photo matching is not available; empty when it is.
std::string photo_matching_unavailable_reason();

/// Local features of one image (ORB keypoints on a gray copy whose longer side is 480 pixels,
/// and that gray copy), computed once and compared with many others by match_photos.
class PhotoFeatures {
 public:
  PhotoFeatures();
  ~PhotoFeatures();
  PhotoFeatures(PhotoFeatures&&) noexcept;
  PhotoFeatures& operator=(PhotoFeatures&&) noexcept;

  std::size_t keypoints() const;
  /// Bytes held, for callers that cache features.
  std::size_t memory_bytes() const;

  struct Data;
  const Data* data() const { return data_.get(); }

 private:
  friend PhotoFeatures photo_features(const Image& image);
  std::unique_ptr<Data> data_;
};

/// Throws Error(unsupported) without photo_matching_available() (saying why), Error(invalid_argument)
/// for an empty image.
PhotoFeatures photo_features(const Image& image);

/// What comparing two images' features found.
struct PhotoMatch {
  /// Copies of one photo: one is the other resized, recompressed, brightened, written on,
  /// rotated by a multiple of 90 degrees, or cropped by up to a fifth of each side.
  bool same_photo = false;
  std::size_t matches = 0;   ///< descriptor matches passing the ratio test
  std::size_t inliers = 0;   ///< of those, fitting one similarity transform (RANSAC)
  double spread = 0;         ///< least share of either image's textured parts (cells of a 4x4 grid) holding an inlier
  double overlap = 0;        ///< the shared region's share of the image it covers least, 0..1
  double agreement = 0;      ///< share of textured blocks in the shared region that agree, 0..1
};

/// Compares two images: matches ORB descriptors, fits a similarity transform (rotation by a
/// multiple of 90 degrees, uniform scale, shift), and checks that the shared region covers most of
/// both images and that its pixels agree block by block after alignment. Another shot of the same
/// scene fails the last two: it shares only part of the frame, or parallax breaks the alignment.
PhotoMatch match_photos(const PhotoFeatures& a, const PhotoFeatures& b);

}  // namespace imgvec
IMGVEC_API_END
