#include "index/index_file.hpp"

#include <cstring>

#include "imgvec/error.hpp"
#include "io/checked_file.hpp"

namespace imgvec::detail {
namespace {

constexpr char kMagic[8] = {'I', 'M', 'G', 'V', 'I', 'D', 'X', '\0'};
constexpr std::size_t kChecksummedHeaderBytes = 56;

template <typename T>
void put(unsigned char* out, std::size_t offset, T value) {
  std::memcpy(out + offset, &value, sizeof(T));
}

template <typename T>
T get(const unsigned char* in, std::size_t offset) {
  T value;
  std::memcpy(&value, in + offset, sizeof(T));
  return value;
}

}  // namespace

void encode_header(const IndexFileHeader& h, unsigned char out[IndexFileHeader::kBytes]) {
  std::memset(out, 0, IndexFileHeader::kBytes);
  std::memcpy(out, kMagic, sizeof kMagic);
  put<std::uint16_t>(out, 8, h.format_major);
  put<std::uint16_t>(out, 10, h.format_minor);
  put<std::uint8_t>(out, 12, static_cast<std::uint8_t>(h.kind));
  put<std::uint8_t>(out, 13, static_cast<std::uint8_t>(h.metric));
  put<std::uint8_t>(out, 14, h.scalar);
  put<std::uint32_t>(out, 16, h.dimension);
  put<std::uint64_t>(out, 24, h.count);
  put<std::uint64_t>(out, 32, h.payload_bytes);
  put<std::uint64_t>(out, 40, h.payload_checksum);
  put<std::uint64_t>(out, 56, XXH3_64bits(out, kChecksummedHeaderBytes));
}

IndexFileHeader read_index_header(CheckedFileReader& reader) {
  if (reader.file_size() < IndexFileHeader::kBytes) {
    if (reader.file_size() >= sizeof kMagic) {
      char magic[sizeof kMagic];
      reader.read(magic, sizeof magic, "header");
      if (std::memcmp(magic, kMagic, sizeof kMagic) != 0) {
        reader.fail("not an imgvec index file (wrong magic bytes)");
      }
    }
    reader.fail("truncated: " + std::to_string(reader.file_size()) +
                " bytes is shorter than the 64-byte header");
  }
  unsigned char in[IndexFileHeader::kBytes];
  reader.read(in, sizeof in, "header");
  if (std::memcmp(in, kMagic, sizeof kMagic) != 0) {
    reader.fail("not an imgvec index file (wrong magic bytes)");
  }
  IndexFileHeader h;
  h.format_major = get<std::uint16_t>(in, 8);
  h.format_minor = get<std::uint16_t>(in, 10);
  // The version is checked before the checksum so that a newer file says "newer", not "corrupt":
  // a future format may checksum its header differently.
  refuse_newer_format(reader.path(), "index", h.format_major, h.format_minor, IndexFileHeader::kFormatMajor);
  if (get<std::uint64_t>(in, 56) != XXH3_64bits(in, kChecksummedHeaderBytes)) {
    reader.fail("header checksum mismatch: the header is damaged");
  }
  const auto kind = get<std::uint8_t>(in, 12);
  const auto metric = get<std::uint8_t>(in, 13);
  h.scalar = get<std::uint8_t>(in, 14);
  h.dimension = get<std::uint32_t>(in, 16);
  h.count = get<std::uint64_t>(in, 24);
  h.payload_bytes = get<std::uint64_t>(in, 32);
  h.payload_checksum = get<std::uint64_t>(in, 40);
  if (kind != static_cast<std::uint8_t>(IndexKind::flat) &&
      kind != static_cast<std::uint8_t>(IndexKind::hnsw)) {
    reader.fail("unknown index kind " + std::to_string(kind));
  }
  if (metric < 1 || metric > 3) reader.fail("unknown metric " + std::to_string(metric));
  if (h.scalar != IndexFileHeader::kScalarFloat32 && h.scalar != IndexFileHeader::kScalarFloat16 &&
      h.scalar != IndexFileHeader::kScalarSq8 && h.scalar != IndexFileHeader::kScalarSq4) {
    throw Error(ErrorCode::unsupported,
                reader.path() + ": vectors stored as scalar type " + std::to_string(h.scalar) +
                    ", this build reads float32 (1), float16 (2), sq8 (3) and sq4 (4)");
  }
  if (h.dimension == 0) reader.fail("dimension is 0");
  h.kind = static_cast<IndexKind>(kind);
  h.metric = static_cast<Metric>(metric);
  if (h.payload_bytes != reader.remaining()) {
    reader.fail((h.payload_bytes > reader.remaining() ? "truncated: header promises "
                                                      : "trailing data: header promises ") +
                std::to_string(h.payload_bytes) + " payload bytes, file has " +
                std::to_string(reader.remaining()));
  }
  reader.reset_checksum();
  return h;
}

void verify_payload_checksum(const CheckedFileReader& reader, const IndexFileHeader& header) {
  if (reader.remaining() != 0) {
    reader.fail(std::to_string(reader.remaining()) + " unexpected bytes after the payload");
  }
  if (reader.checksum() != header.payload_checksum) {
    reader.fail("payload checksum mismatch: the file is damaged");
  }
}

}  // namespace imgvec::detail
