#pragma once
// Files index_directory could not index, remembered with their size and modification time so
// that a later run does not read them again until they change (a folder with a few thousand
// broken or unsupported files would otherwise re-decode all of them on every run). Saved with
// each generation as failed-<g>.imgvfail (docs/file-format.md).

#include <cstdint>
#include <map>
#include <string>

#include "imgvec/error.hpp"

namespace imgvec::detail {

struct FailedFile {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  ErrorCode code = ErrorCode::corrupt_file;
  std::string error;
};
using FailedFiles = std::map<std::string, FailedFile>;

/// Whether a failure says something about the file's bytes (worth remembering until it changes)
/// rather than about the moment (an I/O error, a file that vanished).
inline bool lasting_failure(ErrorCode code) {
  return code == ErrorCode::corrupt_file || code == ErrorCode::unsupported ||
         code == ErrorCode::invalid_argument || code == ErrorCode::too_large;
}

std::string failed_path(const std::string& dir, std::uint64_t generation);
void save_failed_files(const std::string& path, const FailedFiles& files);
/// A database saved before failures were remembered has no such file: empty.
FailedFiles load_failed_files(const std::string& path);

}  // namespace imgvec::detail
