// Finds and loads the CLIP module (imgvec_clip.so) for open_clip_encoder; the CLI, the server and
// Python all come through here (each had its own loader and search path before, issue 20).
#include "imgvec/encoder/clip_module.hpp"

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <typeinfo>

#include "encoder/clip_plugin_api.hpp"
#include "imgvec/error.hpp"
#include "io/module_loader.hpp"

namespace imgvec {
namespace {

#ifdef IMGVEC_CLIP_MODULE
std::string executable_dir() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  const std::string path(buf, static_cast<std::size_t>(n));
  return path.substr(0, path.find_last_of('/'));
}
#endif

const detail::ClipPluginApi& module() {
  static const detail::ClipPluginApi* api = [] {
#ifndef IMGVEC_CLIP_MODULE
    throw Error(ErrorCode::unsupported,
                "this imgvec was built without libtorch, so it cannot run CLIP bundles (rebuild with "
                "-DIMGVEC_WITH_TORCH=ON)");
    return static_cast<const detail::ClipPluginApi*>(nullptr);
#else
    // libgomp (libtorch's and OpenBLAS's OpenMP) reads its settings when it is loaded, which is
    // now. By default its idle threads spin for a while, taking the core a busy neighbour needs;
    // passive waiting made a one-shot ViT-B/32 text search 15% faster beside a busy process and
    // 4% slower on an idle machine (docs/design.md, "OpenMP"). The user's own setting wins.
    ::setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("IMGVEC_CLIP_MODULE")) candidates.push_back(env);
    const std::string dir = executable_dir();
    candidates.push_back(dir + "/" IMGVEC_CLIP_MODULE_NAME);                            // beside the CLI
    candidates.push_back(dir + "/../" IMGVEC_CLIP_MODULE_LIBDIR "/" IMGVEC_CLIP_MODULE_NAME);  // installed, moved
    candidates.push_back(IMGVEC_CLIP_MODULE);            // the build tree
    candidates.push_back(IMGVEC_CLIP_MODULE_INSTALLED);  // the install tree
    std::string tried;
    const void* found = detail::load_module(
        candidates, "imgvec_clip_plugin_api",
        [](void* entry) -> const void* {
          const detail::ClipPluginApi* a = reinterpret_cast<decltype(&imgvec_clip_plugin_api)>(entry)();
          return a && a->abi == detail::kClipPluginAbi ? a : nullptr;
        },
        tried);
    if (!found)
      throw Error(ErrorCode::unsupported, "cannot load imgvec's CLIP module (set IMGVEC_CLIP_MODULE to its path):" + tried);
    return static_cast<const detail::ClipPluginApi*>(found);  // never unloaded: its encoders live until exit
#endif
  }();
  return *api;
}

// The module's functions take a ClipEncoder made by the module; anything else is refused here
// rather than failing a cast inside it.
const detail::ClipPluginApi& module_for(const Encoder& clip) {
  if (clip.fingerprint().kind != "clip")
    throw Error(ErrorCode::invalid_argument, "not a CLIP encoder (" + clip.fingerprint().kind + ")");
  return module();
}

template <typename Call>
auto checked(Call call) -> decltype(call()) {
  try {
    return call();
  } catch (const std::bad_cast&) {
    throw Error(ErrorCode::invalid_argument, "not an encoder that open_clip_encoder made");
  }
}

}  // namespace

std::string clip_module_summary() {
#ifdef IMGVEC_CLIP_MODULE
  return "CLIP encoder: " IMGVEC_CLIP_MODULE_NAME " (libtorch), a module loaded when a CLIP model is used";
#else
  return "CLIP encoder: not built (no libtorch); the built-in descriptor encoder only";
#endif
}

std::shared_ptr<Encoder> open_clip_encoder(const std::string& bundle, const std::string& device,
                                           const std::string& precision) {
  return module().open(bundle, device, precision);
}

std::string clip_model_name(const Encoder& clip) {
  const auto& api = module_for(clip);
  return checked([&] { return api.model_name(clip); });
}

std::string clip_runtime(const Encoder& clip) {
  const auto& api = module_for(clip);
  return checked([&] { return api.runtime(clip); });
}

std::vector<std::int32_t> clip_tokenize(const Encoder& clip, const std::string& text) {
  const auto& api = module_for(clip);
  return checked([&] { return api.tokenize(clip, text); });
}

}  // namespace imgvec
