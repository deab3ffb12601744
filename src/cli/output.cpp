#include "cli/output.hpp"

#include <fstream>
#include <iostream>

namespace imgvec::cli {

std::string display_name(const ImageRecord& r) {
  if (!r.source.empty()) return escape_path(r.source);
  const auto it = r.metadata.find("name");
  if (it != r.metadata.end() && std::holds_alternative<std::string>(it->second)) {
    return escape_path(std::get<std::string>(it->second));
  }
  return "(from memory)";
}

// The library's writer decides how a path is written (a regular file atomically, a FIFO or a
// device in place, a link or a folder refused): one rule for the CLI, Python and C++ callers.
Output::Output(const std::string& p) : atomic(p != "-"), path(p) {}

std::ostream& Output::stream() {
  if (path == "-") return std::cout;
  if (!owned_) {
    auto f = std::make_unique<std::ofstream>(path, std::ios::binary);
    if (!*f) throw Error(ErrorCode::io, path + ": cannot open for writing");
    owned_ = std::move(f);
  }
  return *owned_;
}

}  // namespace imgvec::cli
