// The commands that run a CLIP bundle directly: embed and tokenize (through the CLIP module).
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "imgvec/encoder/clip_module.hpp"

namespace imgvec::cli {

using nlohmann::json;

int run_embed(const EmbedOptions& o) {
  if (o.images.empty() == o.text.empty()) throw UsageError("embed needs --text or --image");
  const auto encoder = open_clip_encoder(o.model, o.device, o.precision);
  json out = {{"model", clip_model_name(*encoder)},
              {"runtime", clip_runtime(*encoder)},
              {"dimension", encoder->dimension()}};
  if (!o.text.empty()) {
    out["text"] = o.text;
    out["embedding"] = encoder->embed_text(o.text);
    std::printf("%s\n", out.dump().c_str());
    return kOk;
  }
  json images = json::array();
  bool failed = false;
  const auto results = encoder->embed_image_files(o.images);
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    const std::string file = escape_path(o.images[i]);
    images.push_back(r.ok() ? json{{"file", file}, {"embedding", r.vector}}
                            : json{{"file", file}, {"error", escape_path(r.error)}});
    failed = failed || !r.ok();
  }
  out["images"] = images;
  std::printf("%s\n", out.dump().c_str());
  return failed ? kFailure : kOk;
}

int run_tokenize(const TokenizeOptions& o) {
  if (o.model.empty() == o.vocab.empty())
    throw UsageError("tokenize needs exactly one of --model and --vocab");
  std::vector<std::int32_t> ids;
  if (!o.vocab.empty()) {
    ids = ClipTokenizer::from_file(o.vocab).encode(o.text);
  } else {
    ids = clip_tokenize(*open_clip_encoder(o.model, "cpu"), o.text);
  }
  std::printf("%s\n", json({{"text", escape_path(o.text)}, {"tokens", ids}}).dump().c_str());
  return kOk;
}

}  // namespace imgvec::cli
