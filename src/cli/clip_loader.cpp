#include "cli/clip_loader.hpp"

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <string>
#include <vector>

#include "imgvec/error.hpp"
#include "io/module_loader.hpp"

namespace imgvec::cli {
namespace {

#ifdef IMGVEC_CLI_CLIP_MODULE
std::string executable_dir() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<std::size_t>(n));
  return path.substr(0, path.find_last_of('/'));
}
#endif

const detail::ClipPluginApi* load() {
#ifndef IMGVEC_CLI_CLIP_MODULE
  throw Error(ErrorCode::unsupported,
              "this imgvec was built without libtorch, so it cannot run CLIP bundles (rebuild with "
              "-DIMGVEC_WITH_TORCH=ON)");
#else
  // libgomp (libtorch's and OpenBLAS's OpenMP) reads its settings when it is loaded, which is
  // now. By default its idle threads spin for a while, taking the core a busy neighbour needs;
  // passive waiting made a one-shot ViT-B/32 text search 15% faster beside a busy process and
  // 4% slower on an idle machine (docs/design.md, "OpenMP"). The user's own setting wins.
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("IMGVEC_CLIP_MODULE")) candidates.push_back(env);
  const std::string dir = executable_dir();
  candidates.push_back(dir + "/" IMGVEC_CLI_CLIP_MODULE);  // the build tree
  candidates.push_back(dir + "/../" IMGVEC_CLI_CLIP_MODULE_INSTALL_DIR
                             "/" IMGVEC_CLI_CLIP_MODULE);  // installed
  std::string tried;
  const void* api = detail::load_module(
      candidates, "imgvec_clip_plugin_api",
      [](void* entry) -> const void* {
        const detail::ClipPluginApi* api = reinterpret_cast<decltype(&imgvec_clip_plugin_api)>(entry)();
        return api && api->abi == detail::kClipPluginAbi ? api : nullptr;
      }, tried);
  if (api) return static_cast<const detail::ClipPluginApi*>(api);  // never unloaded: its encoders live until exit
  throw Error(ErrorCode::unsupported,
              "cannot load imgvec's CLIP module (set IMGVEC_CLIP_MODULE to its path):" + tried);
#endif
}

}  // namespace

const detail::ClipPluginApi& clip_plugin() {
  static const detail::ClipPluginApi* api = load();
  return *api;
}

}  // namespace imgvec::cli
