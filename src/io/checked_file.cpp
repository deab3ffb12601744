#include "io/checked_file.hpp"

#include <cstring>

#include "imgvec/error.hpp"
#include "io/binary_io.hpp"
#include "io/mapped_file.hpp"

namespace imgvec::detail {
namespace {

constexpr std::size_t kHeader = 48;

template <typename T>
void put(unsigned char* at, T v) {
  std::memcpy(at, &v, sizeof v);  // little-endian hosts only, as the index files
}
template <typename T>
T get(const unsigned char* at) {
  T v;
  std::memcpy(&v, at, sizeof v);
  return v;
}

}  // namespace

void write_checked_file(const std::string& path, const char (&magic)[9], std::uint16_t major,
                        std::uint16_t minor, std::string_view payload) {
  unsigned char h[kHeader] = {};
  std::memcpy(h, magic, 8);
  put<std::uint16_t>(h + 8, major);
  put<std::uint16_t>(h + 10, minor);
  put<std::uint64_t>(h + 16, payload.size());
  put<std::uint64_t>(h + 24, XXH3_64bits(payload.data(), payload.size()));
  put<std::uint64_t>(h + 40, XXH3_64bits(h, 40));
  AtomicFileWriter writer(path);
  writer.write(h, kHeader);
  writer.write(payload.data(), payload.size());
  writer.commit();
}

void refuse_newer_format(const std::string& path, const std::string& kind, std::uint16_t major, std::uint16_t minor,
                         std::uint16_t supported) {
  if (major <= supported) return;
  throw Error(ErrorCode::unsupported, path + ": written by a newer imgvec (" + kind + " format " +
                                          std::to_string(major) + "." + std::to_string(minor) +
                                          "); this build reads up to format " + std::to_string(supported) +
                                          ".x: update imgvec");
}

namespace {

struct CheckedHeader {
  std::uint16_t major = 0, minor = 0;
  std::uint64_t size = 0, checksum = 0;
};

// The header of a checked file, checked; leaves `reader` at the payload, which it holds whole.
CheckedHeader read_checked_header(CheckedFileReader& reader, const char (&magic)[9], std::uint16_t major,
                                  std::uint16_t min_major) {
  const std::string& path = reader.path();
  unsigned char h[kHeader];
  if (reader.file_size() < 8) reader.fail("too short to be an imgvec file");
  reader.read(h, 8, "the header");
  const std::string kind(magic + 4, 4);
  if (std::memcmp(h, magic, 8) != 0) reader.fail("not an imgvec " + kind + " file (wrong magic)");
  reader.read(h + 8, kHeader - 8, "the header");
  CheckedHeader out;
  out.major = get<std::uint16_t>(h + 8);
  out.minor = get<std::uint16_t>(h + 10);
  const std::string version = std::to_string(out.major) + "." + std::to_string(out.minor);
  refuse_newer_format(path, kind, out.major, out.minor, major);
  if (out.major < min_major) {
    throw Error(ErrorCode::unsupported, path + ": " + kind + " format " + version + " is older than this build reads");
  }
  if (get<std::uint64_t>(h + 40) != XXH3_64bits(h, 40)) reader.fail("the header is damaged (checksum mismatch)");
  out.size = get<std::uint64_t>(h + 16);
  out.checksum = get<std::uint64_t>(h + 24);
  if (out.size != reader.remaining()) {
    reader.fail("the header says " + std::to_string(out.size) + " payload bytes but the file holds " +
                std::to_string(reader.remaining()) + " (truncated or damaged)");
  }
  return out;
}

}  // namespace

CheckedPayload read_checked_file(const std::string& path, const char (&magic)[9], std::uint16_t major,
                                 std::uint16_t min_major) {
  CheckedFileReader reader(path);
  const CheckedHeader h = read_checked_header(reader, magic, major, min_major);
  CheckedPayload out;
  out.major = h.major;
  out.minor = h.minor;
  out.bytes.assign(h.size, '\0');
  reader.read(out.bytes.data(), h.size, "the payload");
  if (XXH3_64bits(out.bytes.data(), out.bytes.size()) != h.checksum) {
    reader.fail("the payload is damaged (checksum mismatch)");
  }
  return out;
}

CheckedView map_checked_file(const std::string& path, const char (&magic)[9], std::uint16_t major,
                             std::uint16_t min_major) {
  CheckedView out;
  out.file = MappedFile::open(path);
  CheckedFileReader reader(path, out.file->data(), out.file->size());
  const CheckedHeader h = read_checked_header(reader, magic, major, min_major);
  out.major = h.major;
  out.minor = h.minor;
  out.checksum = h.checksum;
  out.bytes = std::string_view(reader.view(h.size, "the payload"), h.size);
  return out;
}

bool CheckedView::intact() const { return XXH3_64bits(bytes.data(), bytes.size()) == checksum; }

}  // namespace imgvec::detail
