#pragma once
// JPEG thumbnails of stored images, made on first request from the image's file and kept in a
// byte-bounded LRU cache. An entry remembers the content hash it was made from, so a file that
// was re-indexed with new content gets a new thumbnail.

#include <cstdint>
#include <string>

#include "imgvec/database.hpp"
#include "imgvec/detail/lru_cache.hpp"

namespace imgvec::server {

class Thumbnails {
 public:
  Thumbnails(std::size_t cache_bytes, std::uint64_t max_pixels)
      : cache_(cache_bytes), max_pixels_(max_pixels) {}

  /// A JPEG whose longer side is at most `size` (never enlarged). Throws Error(not_found) when the
  /// image has no file or it is gone, and what decoding throws.
  std::string get(const ImageRecord& record, std::uint32_t size);

  detail::LruCache<std::string, std::string>::Counts counts() const { return cache_.counts(); }

 private:
  detail::LruCache<std::string, std::string> cache_;
  std::uint64_t max_pixels_;
};

}  // namespace imgvec::server
