#pragma once
// What a database holds and how it stands (get_stats). Part of imgvec/database.hpp.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "imgvec/encoder/encoder.hpp"
#include "imgvec/index/index.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

struct DatabaseStats {
  std::string directory;
  std::size_t count = 0;
  std::size_t dimension = 0;
  EncoderFingerprint encoder;
  IndexKind index_kind = IndexKind::hnsw;
  VectorStorage storage = VectorStorage::float32;  ///< how the index holds vectors
  std::size_t memory_bytes = 0;  ///< index and records, approximate
  std::size_t disk_bytes = 0;    ///< the saved files
  std::uint64_t generation = 0;  ///< how many times it has been saved
  std::size_t unsaved_changes = 0;  ///< changes since the last save (in the log, or in memory only)
  std::size_t log_bytes = 0;        ///< the write-ahead log's size since the last save
  /// Flushes of the log since open: with several writers at once (group commit), fewer than the
  /// changes they made durable.
  std::size_t log_syncs = 0;
  /// What open() found in the write-ahead log: changes replayed, and bytes of an incomplete last
  /// entry (a write a crash cut short, never acknowledged) that were ignored.
  std::size_t replayed_changes = 0;
  std::size_t dropped_log_bytes = 0;
  /// Images per container format ("jpeg": 120, "heic": 40, ...).
  std::map<std::string, std::size_t> formats;
  /// The formats this build decodes (supported_image_formats()).
  std::vector<std::string> decodable_formats;
};

}  // namespace imgvec
IMGVEC_API_END
