#pragma once
// Loads the CLIP module (imgvec_clip.so) the first time a command needs a CLIP model, so that
// everything else runs without libtorch in the process.

#include "encoder/clip_plugin_api.hpp"

namespace imgvec::cli {

/// The module's interface. Throws imgvec::Error(unsupported) naming where it looked when this
/// imgvec has no CLIP module or it cannot be loaded.
const detail::ClipPluginApi& clip_plugin();

}  // namespace imgvec::cli
