#pragma once
// Loading imgvec's optional modules (the CLIP encoder, duplicate verification): shared objects that
// bring heavy dependencies into a process only when a command needs them.

#include <functional>
#include <string>
#include <vector>

namespace imgvec::detail {

/// dlopens the first of `paths` that exists, calls its `entry` (a function taking nothing and
/// returning a pointer to the module's API) and returns that pointer if `accept` takes it (its ABI
/// number matches). Null if none does, with `tried` saying for each path why not. A module once
/// accepted is never unloaded: what it made may live until exit.
const void* load_module(const std::vector<std::string>& paths, const char* entry,
                        const std::function<bool(const void*)>& accept, std::string& tried);

}  // namespace imgvec::detail
