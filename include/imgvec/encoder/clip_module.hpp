#pragma once
// CLIP model bundles through imgvec's CLIP module (imgvec_clip.so), the one part of imgvec that
// links libtorch. A program on imgvec::core loads it only when it opens a bundle, so everything
// else starts in milliseconds and without libtorch in the process (docs/design.md, "Modules").

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "imgvec/encoder/encoder.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

/// Opens a CLIP model bundle on `device` ("auto", "cpu", "cuda", "cuda:N") computing in
/// `precision` ("float32"; "bf16" on CUDA or a CPU with AVX-512 BF16 or AMX; "fp16" on CUDA:
/// ClipEncoderOptions::precision), loading the CLIP module on first use. It is looked for at $IMGVEC_CLIP_MODULE, beside the running program
/// (and in ../lib/imgvec from it), then in the build tree and the install tree this imgvec was
/// built for. Throws Error(unsupported) listing where it looked when it is not there (or this
/// imgvec was built without libtorch), and the bundle's own errors (ClipEncoder) otherwise.
std::shared_ptr<Encoder> open_clip_encoder(const std::string& bundle, const std::string& device = "auto",
                                           const std::string& precision = "float32");

/// One line for build_features(): whether this imgvec can run CLIP bundles, and through which
/// module (not loaded to say so).
std::string clip_module_summary();

/// What an encoder from open_clip_encoder says of itself: its model's name, and how it runs
/// ("cpu, 2 threads, frozen, ..."). Error(invalid_argument) for another kind of encoder.
std::string clip_model_name(const Encoder& clip);
std::string clip_runtime(const Encoder& clip);
/// Token ids of `text` with the bundle's own vocabulary.
std::vector<std::int32_t> clip_tokenize(const Encoder& clip, const std::string& text);

}  // namespace imgvec
IMGVEC_API_END
