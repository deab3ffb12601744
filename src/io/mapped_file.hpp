#pragma once
// A whole file mapped read-only, for indexes opened without reading them (docs/design.md, "Mapped
// opens"). The mapping is private and read-only: imgvec never writes through it, and a file that
// is replaced by rename (how imgvec saves) leaves the mapped bytes as they were. A file truncated
// in place by another program while mapped ends the process with SIGBUS on the next read of the
// lost pages; imgvec itself never truncates a file it has saved.

#include <cstdint>
#include <memory>
#include <string>

namespace imgvec::detail {

class MappedFile {
 public:
  /// Maps `path`; Error(not_found) if it is missing, Error(invalid_argument) if it is not a
  /// regular file, Error(io) naming the path and the system's reason otherwise.
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const char* data() const { return data_; }
  std::uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  std::string path_;
  const char* data_ = nullptr;  // null for an empty file
  std::uint64_t size_ = 0;
};

}  // namespace imgvec::detail
