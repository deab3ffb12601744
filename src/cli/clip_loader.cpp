#include "cli/clip_loader.hpp"

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
  return &detail::load_clip_plugin(candidates);
#endif
}

}  // namespace

const detail::ClipPluginApi& clip_plugin() {
  static const detail::ClipPluginApi* api = load();
  return *api;
}

}  // namespace imgvec::cli
