#pragma once
// Counts of what this process read and decoded: bytes of files read whole or hashed, and images
// decoded. Relaxed atomic adds, one per file, so they cost nothing measurable; tests hold the
// ingest stage to one read and one decode per new file with them (issue 20, item 3).

#include <atomic>
#include <cstdint>

namespace imgvec::detail {

struct ReadCounters {
  std::atomic<std::uint64_t> file_bytes{0};  ///< bytes read from files by hash_file and read_image_file
  std::atomic<std::uint64_t> decodes{0};     ///< calls of decode_image
};

ReadCounters& read_counters();

}  // namespace imgvec::detail
