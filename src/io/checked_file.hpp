#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace imgvec::detail {

/// A small file in imgvec's checked container: a 48-byte header (8-byte magic, format major and
/// minor, payload size, XXH3-64 of the payload, XXH3-64 of the header) and the payload, written
/// atomically (docs/file-format.md). For files read whole, such as metadata and manifests.
void write_checked_file(const std::string& path, const char (&magic)[9], std::uint16_t major,
                        std::uint16_t minor, std::string_view payload);

/// The rule every imgvec file reader applies right after the magic and before any checksum (a
/// newer format may checksum differently, so a newer file must say "newer", not "damaged"):
/// throws Error(unsupported) "PATH: written by a newer imgvec (KIND format M.m); this build reads
/// up to format S.x: update imgvec" when `major` > `supported`. Used by the checked container
/// below and by the index file's own header (index/index_file.cpp).
void refuse_newer_format(const std::string& path, const std::string& kind, std::uint16_t major, std::uint16_t minor,
                         std::uint16_t supported);

/// A checked file's payload and the version that wrote it.
struct CheckedPayload {
  std::string bytes;
  std::uint16_t major = 0, minor = 0;
};

/// Reads and verifies a checked file. The magic and the version are checked before any checksum,
/// so a file from a newer imgvec says so (a newer format may checksum differently) instead of
/// reading as damaged. Throws imgvec::Error naming the path: not_found, corrupt_file (wrong
/// magic, bad checksum, truncated), unsupported (major outside [min_major, major]).
CheckedPayload read_checked_file(const std::string& path, const char (&magic)[9], std::uint16_t major,
                                 std::uint16_t min_major = 1);

}  // namespace imgvec::detail
