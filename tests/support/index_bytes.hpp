#pragma once
// Index files as bytes, for tests that damage them: read, write, and re-seal (a fresh header
// checksum and payload checksum), so that the structural checks, not the checksums, must catch
// what a test changed.

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "index/index_file.hpp"

namespace imgvec::testing {

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

inline void reseal(std::string& bytes) {
  detail::IndexFileHeader h;
  std::uint16_t major, minor;
  std::memcpy(&major, bytes.data() + 8, 2);
  std::memcpy(&minor, bytes.data() + 10, 2);
  h.format_major = major;
  h.format_minor = minor;
  h.kind = static_cast<IndexKind>(bytes[12]);
  h.metric = static_cast<Metric>(bytes[13]);
  h.scalar = static_cast<std::uint8_t>(bytes[14]);
  std::memcpy(&h.dimension, bytes.data() + 16, 4);
  std::memcpy(&h.count, bytes.data() + 24, 8);
  h.payload_bytes = bytes.size() - 64;
  h.payload_checksum = XXH3_64bits(bytes.data() + 64, bytes.size() - 64);
  unsigned char header[64];
  detail::encode_header(h, header);
  std::memcpy(bytes.data(), header, 64);
}

// Where an HNSW file's graph ends (after the upper-layer links; the sq8 quantizer and the label
// table follow), walking its layout (docs/file-format.md): the element count is at byte 88, the
// record size at 96, the records start at 168, then each node's upper lists behind their size.
inline std::size_t hnsw_graph_end(const std::string& bytes) {
  std::uint64_t count, stride;
  std::memcpy(&count, bytes.data() + 88, 8);
  std::memcpy(&stride, bytes.data() + 96, 8);
  std::size_t at = 168 + count * stride;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint32_t lists;
    std::memcpy(&lists, bytes.data() + at, 4);
    at += 4 + lists;
  }
  return at;
}

}  // namespace imgvec::testing
