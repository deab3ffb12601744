#pragma once
// What the index fuzz target does with every file that loads, shared with the regression test
// that replays its past findings (tests/test_fuzz_regressions.cpp).

#include <vector>

#include "imgvec/error.hpp"
#include "imgvec/index/filter.hpp"
#include "imgvec/index/index.hpp"

namespace imgvec::fuzz {

/// Searches (plain, filtered, thresholded), reads, updates, removes and adds; throws only
/// imgvec::Error.
inline void exercise_index(Index& index) {
  const std::size_t d = index.dimension();
  std::vector<float> q(d, 0.5f);
  q[0] = 1;
  index.search(q, 5);
  SearchParams p(3);
  const auto odd = Filter::predicate([](Id id) { return id % 2 == 1; });
  p.filter = &odd;
  index.search(q, p);
  p.filter = nullptr;
  p.min_score = 0.1f;
  index.search(q, p);
  const auto ids = index.ids();
  if (!ids.empty()) {
    index.get_vector(ids.front());
    index.add(ids.front(), q);  // update
    index.remove(ids.back());
    if (ids.size() > 1) index.add(ids[ids.size() / 2], q);
  }
  index.add(0xFFFFFFFFFFFFull, q);
  index.search(q, 10);
}

}  // namespace imgvec::fuzz
