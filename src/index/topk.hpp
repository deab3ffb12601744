#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "imgvec/types.hpp"

namespace imgvec::detail {

/// Keeps the k best (score, id) pairs seen: a bounded heap with the worst on top, so a candidate
/// costs one comparison unless it makes the cut. Equal scores rank by lower id, which makes results
/// deterministic whatever order candidates arrive in (threads, graph traversal).
class TopK {
 public:
  struct Entry {
    float score;
    Id id;
  };

  explicit TopK(std::size_t k, float min_score = -std::numeric_limits<float>::infinity())
      : k_(k), min_score_(min_score) {
    heap_.reserve(k < 4096 ? k : 4096);
  }

  static bool better(const Entry& a, const Entry& b) {
    return a.score > b.score || (a.score == b.score && a.id < b.id);
  }

  /// Scores below this cannot enter (ties may, depending on the id).
  float admission() const { return heap_.size() < k_ ? min_score_ : heap_.front().score; }

  /// Whether push(score, some id) could keep the entry: a caller whose ids cost a read (a label
  /// from a random place) reads only those of the entries this admits.
  bool admits(float score) const {
    return score >= min_score_ && (heap_.size() < k_ || (!heap_.empty() && score >= heap_.front().score));
  }

  void push(float score, Id id) {
    if (!(score >= min_score_)) return;  // also drops NaN
    if (heap_.size() < k_) {
      heap_.push_back({score, id});
      std::push_heap(heap_.begin(), heap_.end(), better);
      return;
    }
    if (!better({score, id}, heap_.front())) return;
    std::pop_heap(heap_.begin(), heap_.end(), better);
    heap_.back() = {score, id};
    std::push_heap(heap_.begin(), heap_.end(), better);
  }

  void merge(const TopK& other) {
    for (const Entry& e : other.heap_) push(e.score, e.id);
  }

  std::size_t size() const { return heap_.size(); }

  /// The kept entries, best first. Leaves this object empty.
  std::vector<Entry> take_sorted() {
    std::sort_heap(heap_.begin(), heap_.end(), better);
    return std::move(heap_);
  }

 private:
  std::size_t k_;
  float min_score_;
  std::vector<Entry> heap_;
};

}  // namespace imgvec::detail
