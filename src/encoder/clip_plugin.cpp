// imgvec_clip.so: ClipEncoder behind the plugin interface (clip_plugin_api.hpp).
#include "encoder/clip_plugin_api.hpp"

#include "imgvec/encoder/clip_encoder.hpp"

namespace {

using imgvec::ClipEncoder;

std::shared_ptr<imgvec::Encoder> open(const std::string& bundle, const std::string& device,
                                      const std::string& precision) {
  imgvec::ClipEncoderOptions options;
  options.device = device;
  options.precision = precision;
  return std::make_shared<ClipEncoder>(bundle, options);
}

const ClipEncoder& clip(const imgvec::Encoder& e) {
  return dynamic_cast<const ClipEncoder&>(e);
}

std::string model_name(const imgvec::Encoder& e) {
  return clip(e).info().name;
}
std::string runtime(const imgvec::Encoder& e) {
  return clip(e).runtime();
}
std::vector<std::int32_t> tokenize(const imgvec::Encoder& e, const std::string& text) {
  return clip(e).tokenizer().encode(text);
}

}  // namespace

extern "C" IMGVEC_API const imgvec::detail::ClipPluginApi*
imgvec_clip_plugin_api() {
  static const imgvec::detail::ClipPluginApi api{imgvec::detail::kClipPluginAbi, &open, &model_name,
                                                 &runtime, &tokenize};
  return &api;
}
