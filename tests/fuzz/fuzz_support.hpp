#pragma once
// Shared by the libFuzzer targets: scratch files, and checksum repair so that mutated files get
// past the checksums into the parsers behind them (a checksum mismatch is tested elsewhere).

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

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

inline void write_file(const std::string& path, const void* data, std::size_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
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
/// template is made on first use. For targets that include database.hpp and the descriptor
/// encoder, and define IMGVEC_FUZZ_DATABASE, before this header.
#ifdef IMGVEC_FUZZ_DATABASE
inline std::string fresh_database_copy() {
  static const std::string templ = [] {
    const std::string d = scratch() + "/template";
    auto db = imgvec::VectorDatabase::create(d, std::make_shared<imgvec::DescriptorEncoder>());
    db->add_image(std::string(IMGVEC_FUZZ_IMAGES) + "/giphy.gif", {{"a", std::string("b")}});
    db->add_image(std::string(IMGVEC_FUZZ_IMAGES) + "/Iggy.256.ppm");
    db->save();
    return d;
  }();
  const std::string dir = scratch() + "/db";
  std::filesystem::remove_all(dir);
  std::filesystem::copy(templ, dir);
  std::filesystem::remove(dir + "/LOCK");
  return dir;
}
#endif

}  // namespace imgvec::fuzz
