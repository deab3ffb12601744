#pragma once
// Loading imgvec's optional modules (the CLIP encoder, duplicate verification): shared objects that
// bring heavy dependencies into a process only when a command needs them.

#include <functional>
#include <string>
#include <vector>

namespace imgvec::detail {

/// dlopens the first of `paths` that exists and finds its symbol `entry`; `open` casts that to the
/// entry function's own type (calling through another type is undefined behaviour), calls it, and
/// returns the module's API if its ABI number matches, else null. Returns that API, or null if no
/// path gives one, with `tried` saying for each path why not. A module once accepted is never
/// unloaded: what it made may live until exit.
const void* load_module(const std::vector<std::string>& paths, const char* entry,
                        const std::function<const void*(void* entry)>& open, std::string& tried);

}  // namespace imgvec::detail
