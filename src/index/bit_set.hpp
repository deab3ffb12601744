#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace imgvec::detail {

/// Calls use(i) for each set bit i of `words` (bit i in word i / 64), in increasing order: how the
/// exact scans visit the rows or nodes that a filter marked.
template <class Use>
void for_each_set_bit(const std::vector<std::uint64_t>& words, Use&& use) {
  for (std::size_t w = 0; w < words.size(); ++w) {
    for (std::uint64_t bits = words[w]; bits != 0; bits &= bits - 1) {
      use(w * 64 + static_cast<std::size_t>(__builtin_ctzll(bits)));
    }
  }
}

}  // namespace imgvec::detail
