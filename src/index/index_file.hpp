#pragma once
// The index file: its 64-byte header and the payload writer, on io's atomic writer and checked
// reader. It lives with the index, which alone knows index kinds and vector storage (it was in
// io, which then had to know the index; issue 20, layer rules in docs/design.md).

#include <cstdint>
#include <string>

#include "imgvec/index/index.hpp"
#include "io/binary_io.hpp"

namespace imgvec::detail {

/// The fixed 64-byte header in front of every index file (layout in docs/file-format.md).
struct IndexFileHeader {
  static constexpr std::size_t kBytes = 64;
  // 2: HNSW payloads end with a label table (docs/file-format.md). Format 1 is still read.
  static constexpr std::uint16_t kFormatMajor = 2;
  static constexpr std::uint16_t kFormatMinor = 0;
  static constexpr std::uint8_t kScalarFloat32 = static_cast<std::uint8_t>(VectorStorage::float32);
  static constexpr std::uint8_t kScalarFloat16 = static_cast<std::uint8_t>(VectorStorage::float16);
  static constexpr std::uint8_t kScalarSq8 = static_cast<std::uint8_t>(VectorStorage::sq8);
  static constexpr std::uint8_t kScalarSq4 = static_cast<std::uint8_t>(VectorStorage::sq4);

  std::uint16_t format_major = kFormatMajor;
  std::uint16_t format_minor = kFormatMinor;
  IndexKind kind = IndexKind::flat;
  Metric metric = Metric::cosine;
  std::uint8_t scalar = kScalarFloat32;
  std::uint32_t dimension = 0;
  std::uint64_t count = 0;
  std::uint64_t payload_bytes = 0;
  std::uint64_t payload_checksum = 0;
};

/// Writes `header` then the payload produced by `write_payload(writer)`, filling in the payload's
/// size and checksum, and commits the file atomically.
template <typename WritePayload>
void write_index_file(const std::string& path, IndexFileHeader header, WritePayload&& write_payload);

void encode_header(const IndexFileHeader& header, unsigned char out[IndexFileHeader::kBytes]);

/// Reads and validates the header: magic, version, header checksum, enum values, and that the
/// payload size matches the file size exactly. Leaves the reader at the payload with a fresh
/// checksum.
IndexFileHeader read_index_header(CheckedFileReader& reader);

/// Call after the payload is read: the checksum must match and nothing may follow.
void verify_payload_checksum(const CheckedFileReader& reader, const IndexFileHeader& header);

template <typename WritePayload>
void write_index_file(const std::string& path, IndexFileHeader header, WritePayload&& write_payload) {
  AtomicFileWriter writer(path);
  unsigned char bytes[IndexFileHeader::kBytes] = {};
  writer.write(bytes, sizeof bytes);  // placeholder, rewritten once the payload is known
  writer.reset_checksum();
  write_payload(writer);
  header.payload_bytes = writer.bytes_written() - IndexFileHeader::kBytes;
  header.payload_checksum = writer.checksum();
  encode_header(header, bytes);
  writer.overwrite_at(0, bytes, sizeof bytes);
  writer.commit();
}

}  // namespace imgvec::detail
