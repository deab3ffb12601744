#include "server/thumbnails.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>

#include "imgvec/error.hpp"
#include "imgvec/image/image.hpp"
#include "imgvec/image/preprocess.hpp"
#include "imgvec/path_text.hpp"

namespace imgvec::server {

std::string Thumbnails::get(const ImageRecord& record, std::uint32_t size) {
  const std::string key = std::to_string(record.id) + "/" + std::to_string(size) + "/" +
                          std::to_string(record.content_hash);
  if (auto hit = cache_.get(key)) return std::move(*hit);
  if (record.source.empty()) {
    throw Error(ErrorCode::not_found,
                "image " + std::to_string(record.id) + " was added from memory; it has no file");
  }
  struct stat st {};
  if (::stat(record.source.c_str(), &st) != 0) {
    throw Error(ErrorCode::not_found,
                "the file of image " + std::to_string(record.id) + " is gone");
  }
  DecodeOptions options;
  options.max_pixels = max_pixels_;
  options.min_side = size;  // a JPEG decodes at 1/8 of its size when that is still large enough
  Image image = decode_image_file(record.source, options);
  const std::uint32_t longer = std::max(image.width, image.height);
  if (longer > size) {
    const double scale = static_cast<double>(size) / longer;
    const auto w =
        std::max<std::uint32_t>(1, static_cast<std::uint32_t>(std::lround(image.width * scale)));
    const auto h =
        std::max<std::uint32_t>(1, static_cast<std::uint32_t>(std::lround(image.height * scale)));
    image = resize_bicubic(image, w, h);
  }
  std::string jpeg = encode_jpeg(image, 82);
  cache_.put(key, jpeg, jpeg.size());
  return jpeg;
}

}  // namespace imgvec::server
