#include "database/text_cache.hpp"

#include <cmath>
#include <cstring>

#include "imgvec/error.hpp"
#include "io/checked_file.hpp"

namespace imgvec::detail {

namespace {

constexpr char kMagic[9] = "IMGVTEXT";
constexpr std::uint16_t kMajor = 1, kMinor = 0;

void put_u32(std::string& out, std::uint32_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }

// Reads a payload front to back; every length is checked against what is left before use.
class Reader {
 public:
  Reader(std::string_view bytes, const std::string& path) : bytes_(bytes), path_(path) {}
  std::uint32_t u32(const char* what) {
    std::uint32_t v;
    std::memcpy(&v, take(sizeof v, what), sizeof v);
    return v;
  }
  const char* take(std::size_t n, const char* what) {
    if (n > bytes_.size() - at_) {
      throw Error(ErrorCode::corrupt_file, path_ + ": the text cache is cut short in " + what +
                                               "; it is rebuilt by later text queries (delete the file to stop this message)");
    }
    const char* p = bytes_.data() + at_;
    at_ += n;
    return p;
  }
  bool done() const { return at_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  std::size_t at_ = 0;
  const std::string& path_;
};

}  // namespace

std::string encode_text_cache(const std::vector<std::pair<std::string, std::vector<float>>>& entries,
                              const std::string& fingerprint, std::size_t dimension) {
  std::string out;
  put_u32(out, static_cast<std::uint32_t>(fingerprint.size()));
  out += fingerprint;
  put_u32(out, static_cast<std::uint32_t>(dimension));
  put_u32(out, static_cast<std::uint32_t>(entries.size()));
  for (const auto& [text, vector] : entries) {
    put_u32(out, static_cast<std::uint32_t>(text.size()));
    out += text;
    out.append(reinterpret_cast<const char*>(vector.data()), vector.size() * sizeof(float));
  }
  return out;
}

std::vector<std::pair<std::string, std::vector<float>>> parse_text_cache(std::string_view payload,
                                                                        const std::string& fingerprint,
                                                                        std::size_t dimension,
                                                                        const std::string& path) {
  Reader in(payload, path);
  auto bad = [&](const std::string& what) {
    return Error(ErrorCode::corrupt_file, path + ": " + what + "; the text cache is rebuilt by later text queries");
  };
  const std::uint32_t name_bytes = in.u32("the encoder's name");
  const std::string made_with(in.take(name_bytes, "the encoder's name"), name_bytes);
  const std::uint32_t dim = in.u32("the dimension");
  if (made_with != fingerprint || dim != dimension) return {};  // another encoder's: not ours to use
  const std::uint32_t count = in.u32("the entry count");
  std::vector<std::pair<std::string, std::vector<float>>> entries;
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint32_t text_bytes = in.u32("an entry's text");
    if (text_bytes > TextCache::kMaxTextBytes) {
      throw bad("entry " + std::to_string(i) + " has a text of " + std::to_string(text_bytes) + " bytes, over " +
                std::to_string(TextCache::kMaxTextBytes));
    }
    std::string text(in.take(text_bytes, "an entry's text"), text_bytes);
    std::vector<float> vector(dim);
    if (dim) std::memcpy(vector.data(), in.take(std::size_t{dim} * sizeof(float), "an entry's vector"), dim * sizeof(float));
    for (float v : vector) {
      if (!std::isfinite(v)) throw bad("entry " + std::to_string(i) + " holds a value that is not a finite number");
    }
    entries.emplace_back(std::move(text), std::move(vector));
  }
  if (!in.done()) throw bad("bytes follow the last entry");
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
