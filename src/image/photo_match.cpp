// The public photo-matching API, forwarded to the module imgvec_photo_match.so, loaded the first
// time it is needed (photo_match_module.hpp says why it is a module).
#include "imgvec/image/photo_match.hpp"

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "image/photo_match_module.hpp"
#include "imgvec/error.hpp"
#include "io/module_loader.hpp"

namespace imgvec {
namespace {

struct Loaded {
  const detail::PhotoMatchApi* api = nullptr;
  std::string why_not;  // when api is null
};

const Loaded& module() {
  static const Loaded loaded = [] {
    Loaded out;
#ifndef IMGVEC_PHOTO_MATCH_MODULE
    out.why_not = "this imgvec was built without OpenCV (libopencv-calib3d-dev), which verifying duplicates needs";
#else
    // $IMGVEC_PHOTO_MATCH_MODULE, then the build tree, then the install tree: both paths are known
    // when imgvec is built, and a module from another build is refused by its ABI number.
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("IMGVEC_PHOTO_MATCH_MODULE")) candidates.push_back(env);
    candidates.push_back(IMGVEC_PHOTO_MATCH_MODULE);
    candidates.push_back(IMGVEC_PHOTO_MATCH_MODULE_INSTALLED);
    std::string tried;
    out.api = static_cast<const detail::PhotoMatchApi*>(detail::load_module(
        candidates, "imgvec_photo_match_api",
        [](void* entry) -> const void* {
          const detail::PhotoMatchApi* api = reinterpret_cast<decltype(&imgvec_photo_match_api)>(entry)();
          return api && api->abi == detail::kPhotoMatchAbi ? api : nullptr;
        },
        tried));
    if (out.api) return out;
    out.why_not = "cannot load imgvec's duplicate-verification module (set IMGVEC_PHOTO_MATCH_MODULE to its path):" + tried;
#endif
    return out;
  }();
  return loaded;
}

const detail::PhotoMatchApi& api_or_throw() {
  const Loaded& m = module();
  if (!m.api) throw Error(ErrorCode::unsupported, "photo matching: " + m.why_not);
  return *m.api;
}

}  // namespace

struct PhotoFeatures::Data {
  const detail::PhotoMatchApi* api = nullptr;
  void* handle = nullptr;
  Data(const detail::PhotoMatchApi* a, void* h) : api(a), handle(h) {}
  Data(const Data&) = delete;
  Data& operator=(const Data&) = delete;
  ~Data() { api->release(handle); }
};

PhotoFeatures::PhotoFeatures() = default;
PhotoFeatures::~PhotoFeatures() = default;
PhotoFeatures::PhotoFeatures(PhotoFeatures&&) noexcept = default;
PhotoFeatures& PhotoFeatures::operator=(PhotoFeatures&&) noexcept = default;

bool photo_matching_available() { return module().api != nullptr; }

std::string photo_matching_library() {
  const Loaded& m = module();
  return m.api ? m.api->library : "";
}

std::string photo_matching_unavailable_reason() { return module().api ? "" : module().why_not; }

PhotoFeatures photo_features(const Image& image) {
  const detail::PhotoMatchApi& api = api_or_throw();
  if (image.width == 0 || image.height == 0 || image.rgb.size() != std::size_t{image.width} * image.height * 3) {
    throw Error(ErrorCode::invalid_argument, "photo_features: an empty or malformed image");
  }
  char error[256] = "";
  void* handle = api.features(image.rgb.data(), image.width, image.height, error, sizeof error);
  if (!handle) throw Error(ErrorCode::invalid_argument, std::string("photo_features: ") + error);
  PhotoFeatures f;
  f.data_ = std::make_unique<PhotoFeatures::Data>(&api, handle);
  return f;
}

PhotoMatch match_photos(const PhotoFeatures& a, const PhotoFeatures& b) {
  PhotoMatch out;
  if (!a.data() || !b.data()) return out;
  detail::PhotoMatchResult r{};
  a.data()->api->match(a.data()->handle, b.data()->handle, &r);
  out.same_photo = r.same_photo != 0;
  out.matches = r.matches;
  out.inliers = r.inliers;
  out.spread = r.spread;
  out.overlap = r.overlap;
  out.agreement = r.agreement;
  return out;
}

std::size_t PhotoFeatures::keypoints() const { return data_ ? data_->api->keypoints(data_->handle) : 0; }

std::size_t PhotoFeatures::memory_bytes() const { return data_ ? data_->api->memory_bytes(data_->handle) : 0; }

}  // namespace imgvec
