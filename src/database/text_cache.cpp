#include "database/text_cache.hpp"

#include <cmath>
#include <cstring>

#include "imgvec/error.hpp"
#include "io/checked_file.hpp"
#include "metadata/record_codec.hpp"

namespace imgvec::detail {

namespace {

constexpr char kMagic[9] = "IMGVTEXT";
constexpr std::uint16_t kMajor = 1, kMinor = 0;

}  // namespace

std::string encode_text_cache(const std::vector<std::pair<std::string, std::vector<float>>>& entries,
                              const std::string& fingerprint, std::size_t dimension) {
  std::string out;
  put_string(out, fingerprint);
  put_scalar<std::uint32_t>(out, static_cast<std::uint32_t>(dimension));
  put_scalar<std::uint64_t>(out, entries.size());
  for (const auto& [text, vector] : entries) {
    put_string(out, text);
    for (float v : vector) put_scalar<float>(out, v);
  }
  return out;
}

std::vector<std::pair<std::string, std::vector<float>>> parse_text_cache(std::string_view payload,
                                                                        const std::string& fingerprint,
                                                                        std::size_t dimension,
                                                                        const std::string& path) {
  RecordReader in(payload, path);  // the records' reader: every length checked before use
  const std::string made_with = in.string();
  const std::uint32_t dim = in.u32();
  if (made_with != fingerprint || dim != dimension) return {};  // another encoder's: not ours to use
  const std::uint64_t count = in.u64();
  const std::uint64_t entry_bytes = sizeof(std::uint64_t) + std::uint64_t{dim} * sizeof(float);
  if (count > in.remaining() / entry_bytes) in.fail("the text cache claims " + std::to_string(count) + " entries");
  std::vector<std::pair<std::string, std::vector<float>>> entries;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string text = in.string();
    if (text.size() > TextCache::kMaxTextBytes) {
      in.fail("text cache entry " + std::to_string(i) + " has a text of " + std::to_string(text.size()) +
              " bytes, over " + std::to_string(TextCache::kMaxTextBytes));
    }
    std::vector<float> vector(dim);
    for (float& v : vector) {
      const std::uint32_t bits = in.u32();
      std::memcpy(&v, &bits, sizeof v);
      if (!std::isfinite(v)) in.fail("text cache entry " + std::to_string(i) + " holds a value that is not a finite number");
    }
    entries.emplace_back(std::move(text), std::move(vector));
  }
  if (in.remaining() != 0) in.fail("bytes follow the last entry");
  return entries;
}

TextCache::TextCache(std::string path, bool writable, std::string fingerprint, std::size_t dimension,
                     std::size_t capacity)
    : path_(std::move(path)),
      fingerprint_(std::move(fingerprint)),
      writable_(writable),
      dimension_(dimension),
      cache_(capacity) {}

void TextCache::load_once() {
  std::call_once(loaded_, [this] {
    if (path_.empty()) return;
    try {
      const CheckedPayload file = read_checked_file(path_, kMagic, kMajor);
      auto entries = parse_text_cache(file.bytes, fingerprint_, dimension_, path_);
      // Oldest first, so that the most recent ends up the most recently used.
      for (auto it = entries.rbegin(); it != entries.rend(); ++it) cache_.put(it->first, std::move(it->second));
    } catch (const std::exception&) {
      // Missing, damaged, from a newer imgvec: start empty; the next write replaces the file.
    }
  });
}

std::optional<std::vector<float>> TextCache::get(const std::string& text) {
  load_once();
  return cache_.get(text);
}

void TextCache::put(const std::string& text, const std::vector<float>& vector) {
  if (text.size() > kMaxTextBytes || vector.size() != dimension_) return;
  load_once();
  cache_.put(text, vector);
  dirty_.store(true, std::memory_order_release);
}

void TextCache::persist() noexcept {
  if (path_.empty() || !writable_ || !dirty_.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(write_mutex_);
  if (!dirty_.exchange(false)) return;
  try {
    write_checked_file(path_, kMagic, kMajor, kMinor,
                       encode_text_cache(cache_.recent(kPersistedEntries), fingerprint_, dimension_));
  } catch (...) {
    // Best effort (see the header); the entries stay in memory.
  }
}

}  // namespace imgvec::detail
