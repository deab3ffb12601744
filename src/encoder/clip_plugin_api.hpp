#pragma once
// The CLIP encoder as a loadable module (imgvec_clip.so), for programs that should not pay for
// libtorch unless a model is used: the imgvec CLI starts in milliseconds and ~10 MB for `--help`,
// a search with the built-in encoder, or any command without a CLIP model, and loads libtorch
// only when it opens a bundle (src/encoder/clip_module.cpp). The module and its loader are built
// together from one tree with one compiler, so C++ types cross the boundary; kClipPluginAbi
// guards against a mismatched pair.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "imgvec/encoder/encoder.hpp"

namespace imgvec::detail {

constexpr int kClipPluginAbi = 2;

struct ClipPluginApi {
  int abi = kClipPluginAbi;
  /// A ClipEncoder for `bundle` on `device` ("auto", "cpu", "cuda", "cuda:N") computing in
  /// `precision` ("float32", "bf16", "fp16"). Throws imgvec::Error.
  std::shared_ptr<Encoder> (*open)(const std::string& bundle, const std::string& device,
                                   const std::string& precision);
  /// The bundle's model name and the runtime it runs on (e.g. "libtorch 1.13.1, cpu").
  std::string (*model_name)(const Encoder& clip);
  std::string (*runtime)(const Encoder& clip);
  /// Token ids of `text` with the bundle's own vocabulary.
  std::vector<std::int32_t> (*tokenize)(const Encoder& clip, const std::string& text);
};

}  // namespace imgvec::detail

/// The module's one exported symbol.
extern "C" const imgvec::detail::ClipPluginApi* imgvec_clip_plugin_api();
