#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "imgvec/types.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

/// Restricts a search to some ids. Two forms:
/// - an allow list of ids: exact selectivity is known, so the index can scan just those ids;
/// - a predicate on the id: the index estimates its selectivity by sampling stored ids, unless the
///   caller gives a hint.
/// The index picks an exact scan over the matching ids or a filter-aware graph traversal, whichever
/// its cost model says is cheaper, so recall holds at any selectivity. Copies share their state;
/// a Filter is immutable and safe to use from many threads if its predicate is.
class Filter {
 public:
  /// Matches exactly the given ids (duplicates and ids not in the index are fine).
  static Filter allow(std::vector<Id> ids);

  /// Matches the ids for which `predicate` returns true. `selectivity_hint`, if given, is the
  /// expected fraction of stored ids that match, in [0, 1]. The predicate is called from the
  /// searching thread(s) while the index holds its read lock: it must not call back into the index.
  static Filter predicate(std::function<bool(Id)> predicate,
                          std::optional<double> selectivity_hint = std::nullopt);

  /// True if `id` passes the filter.
  bool matches(Id id) const;

  /// Tests `count` ids at once: bit i of `bits` (count / 64 words, rounded up, all written) is set
  /// when ids[i] passes. One call per scan instead of one per id.
  void matches(const Id* ids, std::size_t count, std::uint64_t* bits) const;

  /// The sorted, unique allow list, or nullptr for a predicate filter.
  const std::vector<Id>* allow_list() const;

  /// An allow list's membership as bits from `first`, for callers that test many ids in a loop
  /// (contains() inlines where matches() is a call). No words for a predicate, or for a list too
  /// sparse for a bitmap (then matches() searches the list).
  struct Bitmap {
    const std::uint64_t* words = nullptr;
    std::size_t word_count = 0;
    Id first = 0;
    bool contains(Id id) const {
      const std::uint64_t at = id - first;  // ids below first wrap to huge values
      return at / 64 < word_count && ((words[at / 64] >> (at % 64)) & 1u);
    }
  };
  Bitmap bitmap() const;

  /// The caller's selectivity hint, if any.
  std::optional<double> selectivity_hint() const;

 private:
  struct State;
  explicit Filter(std::shared_ptr<const State> state) : state_(std::move(state)) {}
  std::shared_ptr<const State> state_;
};

/// Options for one search.
struct SearchParams {
  SearchParams() = default;
  /// Just k, so that `index.search(query, 10)` reads naturally.
  SearchParams(std::size_t k_) : k(k_) {}  // NOLINT: implicit by design

  /// How many results at most. Must be >= 1.
  std::size_t k = 10;
  /// If set, only results with score >= min_score are returned. Exact on FlatIndex; on HnswIndex the
  /// candidate list is widened until it crosses the threshold or holds k results (best effort).
  std::optional<float> min_score;
  /// If set, only ids that match are returned.
  const Filter* filter = nullptr;
  /// HNSW only: the search beam width; 0 uses the index's ef_search. Ignored by FlatIndex.
  std::size_t ef = 0;
  /// HNSW with sq8 or sq4 storage only: how many of the walk's best candidates are re-scored with their
  /// float16 copies before the best k are returned (at least k are; at most ef exist). 0 uses the
  /// default, kDefaultRerank (measured in docs/benchmarks.md). Ignored by other storages, whose
  /// walk distances are exact already. sq4's 4-bit codes order the walk's best candidates too
  /// coarsely for a shallow re-rank (10 of 64 kept recall@10 0.75 against sq8's 0.97): keep 0.
  std::size_t rerank = 0;
  static constexpr std::size_t kDefaultRerank = 0;
};

}  // namespace imgvec
IMGVEC_API_END
