// JPEG encoding through TurboJPEG (thumbnails): the same library as the decoder.
#include <turbojpeg.h>

#include "imgvec/error.hpp"
#include "imgvec/image/image.hpp"

namespace imgvec {

std::string encode_jpeg(const Image& image, int quality) {
  if (image.width == 0 || image.height == 0 ||
      image.rgb.size() != std::size_t{image.width} * image.height * 3) {
    throw Error(ErrorCode::invalid_argument,
                "encode_jpeg: the image holds no pixels, or not width x height x 3");
  }
  if (quality < 1 || quality > 100)
    throw Error(ErrorCode::invalid_argument, "encode_jpeg: quality must be 1-100");
  tjhandle h = tjInitCompress();
  if (!h) throw Error(ErrorCode::io, "encode_jpeg: cannot start the JPEG encoder");
  unsigned char* out = nullptr;
  unsigned long size = 0;
  const int rc =
      tjCompress2(h, image.rgb.data(), static_cast<int>(image.width), 0,
                  static_cast<int>(image.height), TJPF_RGB, &out, &size, TJSAMP_420, quality, 0);
  std::string bytes;
  const std::string why = rc != 0 ? tjGetErrorStr2(h) : "";
  if (rc == 0) bytes.assign(reinterpret_cast<const char*>(out), size);
  tjFree(out);
  tjDestroy(h);
  if (rc != 0) throw Error(ErrorCode::io, "encode_jpeg: " + why);
  return bytes;
}

}  // namespace imgvec
