#pragma once

#include <cstdint>
#include <memory>
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

class MappedFile;

/// A checked file mapped, its header checked, its payload in place and not yet checksummed.
struct CheckedView {
  std::shared_ptr<const MappedFile> file;
  std::string_view bytes;  // the payload, inside the mapping
  std::uint16_t major = 0, minor = 0;
  std::uint64_t checksum = 0;  // what the header says the payload's XXH3-64 is
  /// Whether the payload matches the header's checksum (reads it whole).
  bool intact() const;
};

/// read_checked_file's checks but the payload's checksum, on the file mapped: for a reader that
/// reads only the records it needs (MetadataStore::open_mapped).
CheckedView map_checked_file(const std::string& path, const char (&magic)[9], std::uint16_t major,
                             std::uint16_t min_major = 1);

}  // namespace imgvec::detail
