// Duplicate verification on whatever a hostile file decodes to: any size, any aspect ratio, any
// pixels, compared with itself and with a real photo both ways.
#include <cstdint>
#include <string>

#include "imgvec/error.hpp"
#include "imgvec/image/image.hpp"
#include "imgvec/image/photo_match.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const imgvec::PhotoFeatures reference =
      imgvec::photo_features(imgvec::decode_image_file(std::string(IMGVEC_FUZZ_IMAGES) + "/ukbench01380.jpg"));
  imgvec::DecodeOptions options;
  options.max_pixels = 1 << 18;  // bounded work per input, as fuzz_decode_image
  imgvec::Image image;
  try {
    image = imgvec::decode_image(data, size, "fuzz", options);
  } catch (const imgvec::Error&) {
    return 0;
  }
  const imgvec::PhotoFeatures f = imgvec::photo_features(image);
  for (const imgvec::PhotoMatch& m :
       {imgvec::match_photos(f, f), imgvec::match_photos(f, reference), imgvec::match_photos(reference, f)}) {
    if (m.inliers > m.matches || m.overlap < 0 || m.overlap > 1.0001 || m.agreement < 0 || m.agreement > 1) {
      __builtin_trap();
    }
  }
  return 0;
}
