#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace imgvec::detail {

/// Writes a file atomically: bytes go to a temporary file in the destination's directory, and
/// commit() flushes it to the disk (fsync), renames it over the destination and syncs the
/// directory. Without commit() the temporary file is removed, so a failure or a crash leaves the
/// previous file untouched. Every write also feeds a running XXH3-64 checksum of the payload.
/// A FIFO or character device at the path (or behind a symbolic link there) is written in place
/// instead; a symbolic link to anything else, a folder, a socket or a block device is refused
/// with Error(invalid_argument) naming the path, so nothing imgvec did not make is replaced.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, std::size_t bytes);
  template <typename T>
  void write_pod(const T& value) { write(&value, sizeof(T)); }

  /// Overwrites bytes already written at `offset` (used to fill in the header last). Does not
  /// touch the checksum.
  void overwrite_at(std::uint64_t offset, const void* data, std::size_t bytes);
  /// Starts a fresh checksum; bytes written from now on are covered.
  void reset_checksum();
  std::uint64_t checksum() const;
  std::uint64_t bytes_written() const { return written_; }
  void commit();
  const std::string& path() const { return path_; }

 private:
  void flush_buffer();
  std::string path_;
  std::string tmp_path_;
  int fd_ = -1;
  std::uint64_t written_ = 0;
  std::string buffer_;
  XXH3_state_t* hash_ = nullptr;
  bool committed_ = false;
  bool in_place_ = false;  // a FIFO or character device: written through, no temporary, no rename
};

/// Reads a file sequentially with a byte budget: reading past the budget or the end of the file is
/// reported as a truncated file, naming the path. Bytes read feed a running XXH3-64 checksum.
class CheckedFileReader {
 public:
  explicit CheckedFileReader(std::string path);
  /// Reads `size` bytes already in memory (a mapped file) as if they were the file at `path`.
  CheckedFileReader(std::string path, const char* bytes, std::uint64_t size);
  ~CheckedFileReader();
  CheckedFileReader(const CheckedFileReader&) = delete;
  CheckedFileReader& operator=(const CheckedFileReader&) = delete;

  std::uint64_t file_size() const { return size_; }
  std::uint64_t remaining() const { return size_ - offset_; }
  std::uint64_t offset() const { return offset_; }
  void read(void* data, std::size_t bytes, const char* what);
  /// In memory only: the next `bytes` in place, skipped over without feeding the checksum (a
  /// mapped open checks no checksum; see docs/design.md, "Mapped opens").
  const char* view(std::size_t bytes, const char* what);
  template <typename T>
  T read_pod(const char* what) {
    T value;
    read(&value, sizeof(T), what);
    return value;
  }
  void reset_checksum();
  std::uint64_t checksum() const;
  const std::string& path() const { return path_; }

  /// Throws Error(corrupt_file) "<path>: <message>".
  [[noreturn]] void fail(const std::string& message) const;

 private:
  std::string path_;
  void need(std::size_t bytes, const char* what) const;
  int fd_ = -1;
  bool in_memory_ = false;        // the bytes are in memory (an empty file's are null)
  const char* memory_ = nullptr;
  std::uint64_t size_ = 0;
  std::uint64_t offset_ = 0;
  XXH3_state_t* hash_ = nullptr;
};

/// XXH3-64 of a whole file, read in chunks. Throws imgvec::Error naming the path.
std::uint64_t hash_file(const std::string& path);

/// A 64-bit hash as 16 lower-case hex digits.
std::string to_hex(std::uint64_t value);

}  // namespace imgvec::detail
