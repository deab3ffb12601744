#include "io/module_loader.hpp"


#include <dlfcn.h>
#include <unistd.h>

namespace imgvec::detail {

const void* load_module(const std::vector<std::string>& paths, const char* entry,
                        const std::function<const void*(void* entry)>& open, std::string& tried) {
  for (const std::string& path : paths) {
    if (::access(path.c_str(), F_OK) != 0) {
      tried += "\n  " + path + ": not there";
      continue;
    }
    // Lazy binding, as when an executable links a library: RTLD_NOW resolved all of libtorch's
    // function symbols up front and added ~90 ms to every CLIP command (1267 vs 1174 ms median
    // for a one-shot ViT-B/32 text search).
    void* handle = ::dlopen(path.c_str(), RTLD_LAZY | RTLD_LOCAL);
    if (!handle) {
      tried += "\n  " + path + ": " + ::dlerror();
      continue;
    }
    void* symbol = ::dlsym(handle, entry);
    const void* api = symbol ? open(symbol) : nullptr;
    if (!api) {
      tried += "\n  " + path + ": not this imgvec's module";
      ::dlclose(handle);
      continue;
    }
    return api;
  }
  return nullptr;
}

}  // namespace imgvec::detail
