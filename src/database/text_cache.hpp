#pragma once
// Text queries' embeddings, kept by the database so that a repeated text costs a lookup instead
// of the text model: about 25 ms for a ViT-B/32 query on 2 cores, and in a one-shot process (the
// CLI) also the model's load, which no other part of a text search needs. In memory (LRU, bounded
// by entries) and, for the next process, the most recent kPersistedEntries in the database's
// text-cache.imgvtext, a checked file written atomically at save() and at close (issue 23, item 5;
// docs/file-format.md). Entries are for one encoder: the file names the fingerprint it was made
// with and a file made by another is ignored. A cache file that does not read back is ignored
// too, and replaced at the next write: it holds nothing that cannot be computed again.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "imgvec/detail/lru_cache.hpp"

namespace imgvec::detail {

/// The entries of a text cache file's payload, most recent first, if it was made with the
/// encoder `fingerprint` (EncoderFingerprint::to_string()) of `dimension`; empty if it was made
/// with another. Throws Error(corrupt_file) naming `path` for a payload that does not parse:
/// lengths past its end, a text over kMaxTextBytes, a non-finite value, bytes left over.
std::vector<std::pair<std::string, std::vector<float>>> parse_text_cache(std::string_view payload,
                                                                        const std::string& fingerprint,
                                                                        std::size_t dimension,
                                                                        const std::string& path);
/// The payload parse_text_cache reads.
std::string encode_text_cache(const std::vector<std::pair<std::string, std::vector<float>>>& entries,
                              const std::string& fingerprint, std::size_t dimension);

class TextCache {
 public:
  /// Texts longer than this are embedded but not kept (the server refuses them anyway).
  static constexpr std::size_t kMaxTextBytes = 4096;
  /// How many entries the file keeps: at 512 floats, about 2.1 kB each (0.5 MB), read whole by
  /// the first text query of a process.
  static constexpr std::size_t kPersistedEntries = 256;
  static constexpr std::size_t kDefaultEntries = 1024;

  using Counts = LruCache<std::string, std::vector<float>>::Counts;

  /// A cache for the encoder `fingerprint`, read from `path` (empty: in memory only) and written
  /// back there unless `writable` is false (a read-only open changes nothing in the folder).
  TextCache(std::string path, bool writable, std::string fingerprint, std::size_t dimension,
            std::size_t capacity = kDefaultEntries);

  /// The embedding of `text`, counting a hit or a miss. The file is read at the first call.
  std::optional<std::vector<float>> get(const std::string& text);
  /// Keeps `vector` as the embedding of `text` (unless the text is too long or the vector has
  /// the wrong size).
  void put(const std::string& text, const std::vector<float>& vector);
  /// Writes the file if an entry was added since it was read or written. Never throws: a cache
  /// that cannot be written (a read-only folder, a full disk) only costs the next process time.
  void persist() noexcept;
  void set_capacity(std::size_t entries) { cache_.set_capacity(entries); }
  Counts counts() const { return cache_.counts(); }

 private:
  void load_once();

  std::string path_, fingerprint_;
  bool writable_;
  std::size_t dimension_;
  LruCache<std::string, std::vector<float>> cache_;
  std::once_flag loaded_;
  std::mutex write_mutex_;
  std::atomic<bool> dirty_{false};
};

}  // namespace imgvec::detail
