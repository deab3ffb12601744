#pragma once
// A thread-safe least-recently-used cache bounded by a total cost (entries, or bytes), with hit
// and miss counts for /v1/stats. Used for text-query embeddings (the database's text cache) and
// for the server's thumbnails; public (detail) so that both the library and the server use it.

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace imgvec::detail {

template <typename Key, typename Value, typename Hash = std::hash<Key>>
class LruCache {
 public:
  struct Counts {
    std::size_t entries = 0, cost = 0, capacity = 0;
    std::uint64_t hits = 0, misses = 0;
  };

  explicit LruCache(std::size_t capacity) : capacity_(capacity) {}

  /// The value, now the most recently used; counts a hit or a miss.
  std::optional<Value> get(const Key& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = index_.find(key);
    if (it == index_.end()) {
      ++misses_;
      return std::nullopt;
    }
    ++hits_;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->value;
  }

  /// Stores (or replaces) a value of the given cost, evicting the least recently used entries
  /// until the total fits. A value costlier than the whole capacity is not kept.
  void put(const Key& key, Value value, std::size_t cost = 1) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (const auto it = index_.find(key); it != index_.end()) {
      cost_ -= it->second->cost;
      order_.erase(it->second);
      index_.erase(it);
    }
    if (cost > capacity_) return;
    order_.push_front(Entry{key, std::move(value), cost});
    index_.emplace(key, order_.begin());
    cost_ += cost;
    evict();
  }

  /// Changes the bound, evicting the least recently used entries until the total fits.
  void set_capacity(std::size_t capacity) {
    std::lock_guard<std::mutex> lock(mutex_);
    capacity_ = capacity;
    evict();
  }

  /// Up to `limit` entries, the most recently used first (copies).
  std::vector<std::pair<Key, Value>> recent(std::size_t limit) const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::pair<Key, Value>> out;
    for (auto it = order_.begin(); it != order_.end() && out.size() < limit; ++it) out.emplace_back(it->key, it->value);
    return out;
  }

  Counts counts() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return {index_.size(), cost_, capacity_, hits_, misses_};
  }

 private:
  void evict() {  // under mutex_
    while (cost_ > capacity_ && !order_.empty()) {
      cost_ -= order_.back().cost;
      index_.erase(order_.back().key);
      order_.pop_back();
    }
  }

  struct Entry {
    Key key;
    Value value;
    std::size_t cost;
  };
  mutable std::mutex mutex_;
  std::size_t capacity_;
  std::size_t cost_ = 0;
  std::uint64_t hits_ = 0, misses_ = 0;
  std::list<Entry> order_;
  std::unordered_map<Key, typename std::list<Entry>::iterator, Hash> index_;
};

}  // namespace imgvec::detail
