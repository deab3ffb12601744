#pragma once
// What tells whether a file changed without reading it, and the clock records are stamped with.

#include <cstdint>
#include <string>

namespace imgvec::detail {

struct FileFacts {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
};

/// A regular file's size and modification time; Error(not_found, io, invalid_argument) naming it.
FileFacts stat_file(const std::string& path);

/// Milliseconds since the Unix epoch (ImageRecord::added_ms).
std::int64_t now_ms();

}  // namespace imgvec::detail
