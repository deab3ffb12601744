#include "io/checked_file.hpp"

#include <cstring>

#include "imgvec/error.hpp"
#include "io/binary_io.hpp"

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

std::string read_checked_file(const std::string& path, const char (&magic)[9], std::uint16_t major) {
  CheckedFileReader reader(path);
  unsigned char h[kHeader];
  reader.read(h, kHeader, "the header");
  if (std::memcmp(h, magic, 8) != 0) {
    reader.fail(std::string("not an imgvec ") + std::string(magic + 0, 7) + " file (wrong magic)");
  }
  if (get<std::uint64_t>(h + 40) != XXH3_64bits(h, 40)) reader.fail("the header is damaged (checksum mismatch)");
  const auto file_major = get<std::uint16_t>(h + 8);
  if (file_major > major) {
    throw Error(ErrorCode::unsupported, path + ": format version " + std::to_string(file_major) +
                                            " is newer than this imgvec reads (" + std::to_string(major) +
                                            "); update imgvec");
  }
  const auto size = get<std::uint64_t>(h + 16);
  if (size != reader.remaining()) {
    reader.fail("the header says " + std::to_string(size) + " payload bytes but the file holds " +
                std::to_string(reader.remaining()) + " (truncated or damaged)");
  }
  std::string payload(size, '\0');
  reader.read(payload.data(), size, "the payload");
  if (XXH3_64bits(payload.data(), payload.size()) != get<std::uint64_t>(h + 24)) {
    reader.fail("the payload is damaged (checksum mismatch)");
  }
  return payload;
}

}  // namespace imgvec::detail
