#include "cli/clip_loader.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <string>
#include <vector>

#include "imgvec/error.hpp"

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
  for (const auto& path : candidates) {
    if (::access(path.c_str(), F_OK) != 0) {
      tried += "\n  " + path + ": not there";
      continue;
    }
    // Lazy binding, as when an executable links libtorch: RTLD_NOW resolved all of libtorch's
    // function symbols up front and added ~90 ms to every CLIP command (1267 vs 1174 ms median
    // for a one-shot ViT-B/32 text search here).
    void* handle = ::dlopen(path.c_str(), RTLD_LAZY | RTLD_LOCAL);
    if (!handle) {
      tried += "\n  " + path + ": " + ::dlerror();
      continue;
    }
    using Entry = const detail::ClipPluginApi* (*)();
    auto entry = reinterpret_cast<Entry>(::dlsym(handle, "imgvec_clip_plugin_api"));
    const detail::ClipPluginApi* api = entry ? entry() : nullptr;
    if (!api || api->abi != detail::kClipPluginAbi) {
      tried += "\n  " + path + ": not this imgvec's CLIP module";
      continue;
    }
    return api;  // never unloaded: encoders made by it live until exit
  }
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
