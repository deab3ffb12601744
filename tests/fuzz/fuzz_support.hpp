#pragma once
// Shared by the libFuzzer targets: scratch files, and checksum repair so that mutated files get
// past the checksums into the parsers behind them (a checksum mismatch is tested elsewhere).

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#define XXH_INLINE_ALL  // header-only, as the library uses it
#include <xxhash.h>

namespace imgvec::fuzz {

/// A per-process scratch directory, removed at exit.
inline const std::string& scratch() {
  static const std::string dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "imgvec-fuzz-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    return tmpl;
  }();
  static const struct Cleanup {
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup;
  return dir;
}

/// Writes `size` bytes to `path` (created or truncated), retrying writes a signal interrupted.
inline void write_file(const std::string& path, const void* data, std::size_t size) {
  int fd;
  do fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) std::abort();
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) std::abort();
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  ::close(fd);
}

/// The whole of `path`, retrying reads a signal interrupted.
inline std::string read_file(const std::string& path) {
  int fd;
  do fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) std::abort();
  std::string bytes;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) std::abort();
    if (n == 0) break;
    bytes.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return bytes;
}

/// A checked small file (manifest, records): 48-byte header, then payload. Rewrites the size and
/// both checksums of `bytes` when it is long enough to hold the header.
inline void repair_checked_file(std::string& bytes) {
  if (bytes.size() < 48) return;
  const std::uint64_t size = bytes.size() - 48;
  std::memcpy(&bytes[16], &size, 8);
  const std::uint64_t payload = XXH3_64bits(bytes.data() + 48, size);
  std::memcpy(&bytes[24], &payload, 8);
  const std::uint64_t header = XXH3_64bits(bytes.data(), 40);
  std::memcpy(&bytes[40], &header, 8);
}

/// An index file: 64-byte header (checksum of its first 56 bytes at 56), payload checksum at 40.
inline void repair_index_file(std::string& bytes) {
  if (bytes.size() < 64) return;
  const std::uint64_t size = bytes.size() - 64;
  std::memcpy(&bytes[32], &size, 8);
  const std::uint64_t payload = XXH3_64bits(bytes.data() + 64, size);
  std::memcpy(&bytes[40], &payload, 8);
  const std::uint64_t header = XXH3_64bits(bytes.data(), 56);
  std::memcpy(&bytes[56], &header, 8);
}

/// A fresh copy (at `scratch()/db`, unlocked) of a database of two images saved once: the
/// template is made on first use and held in memory. For targets that include database.hpp and the
/// descriptor encoder, and define IMGVEC_FUZZ_DATABASE, before this header.
///
/// Not std::filesystem::copy: libFuzzer's timeout timer raises SIGALRM without SA_RESTART, and
/// libstdc++'s copy (sendfile) gives up on the EINTR that follows (CI: "cannot copy: Interrupted
/// system call" in manifest_open). Writes of small files go through write_file's EINTR loop.
#ifdef IMGVEC_FUZZ_DATABASE
inline std::string fresh_database_copy() {
  struct File {
    std::string name, bytes;
  };
  static const std::vector<File> templ = [] {
    const std::string d = scratch() + "/template";
    {
      auto db = imgvec::VectorDatabase::create(d, std::make_shared<imgvec::DescriptorEncoder>());
      db->add_image(std::string(IMGVEC_FUZZ_IMAGES) + "/giphy.gif", {{"a", std::string("b")}});
      db->add_image(std::string(IMGVEC_FUZZ_IMAGES) + "/Iggy.256.ppm");
      db->save();
    }
    std::vector<File> files;
    for (const auto& entry : std::filesystem::directory_iterator(d)) {
      const std::string name = entry.path().filename().string();
      if (!entry.is_regular_file() || name == "LOCK") continue;
      files.push_back({name, read_file(entry.path().string())});
    }
    return files;
  }();
  const std::string dir = scratch() + "/db";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directory(dir);
  for (const File& f : templ) write_file(dir + "/" + f.name, f.bytes.data(), f.bytes.size());
  return dir;
}
#endif

}  // namespace imgvec::fuzz
