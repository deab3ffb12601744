#include "cli/output.hpp"

#include <sys/stat.h>

#include <fstream>
#include <iostream>

namespace imgvec::cli {

nlohmann::json record_json(const ImageRecord& record) {
  return nlohmann::json::parse(record_to_json(record));
}

std::string display_name(const ImageRecord& r) {
  if (!r.source.empty()) return escape_path(r.source);
  const auto it = r.metadata.find("name");
  if (it != r.metadata.end() && std::holds_alternative<std::string>(it->second)) {
    return escape_path(std::get<std::string>(it->second));
  }
  return "(from memory)";
}

Output::Output(const std::string& p) : path(p) {
  if (p == "-") return;
  struct stat st {};
  // Replacing a device node or a FIFO with a regular file (what an atomic rename does) would
  // break the user's setup; those are opened and written in place.
  atomic = ::stat(p.c_str(), &st) != 0 || S_ISREG(st.st_mode);
}

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
