#include "text/near_names.hpp"

#include <algorithm>
#include <cctype>

namespace imgvec::detail {
namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

}  // namespace

// Optimal string alignment distance over two rows and the one before; names here are short
// (field names, filter keys), so the quadratic table is a few hundred cells.
std::size_t edit_distance(std::string_view a, std::string_view b, std::size_t cap) {
  const std::size_t gap = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  if (gap > cap || a.size() > 64 || b.size() > 64) return cap + 1;
  std::vector<std::size_t> before(b.size() + 1), prev(b.size() + 1), row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const bool same = lower(a[i - 1]) == lower(b[j - 1]);
      row[j] = std::min({prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1]))
        row[j] = std::min(row[j], before[j - 2] + 1);
    }
    std::swap(before, prev);
    std::swap(prev, row);
  }
  return std::min(prev[b.size()], cap + 1);
}

std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& known,
                         const std::vector<NameAlias>& aliases) {
  for (const NameAlias& a : aliases) {
    if (edit_distance(word, a.theirs, 0) == 0) {
      std::string s = "did you mean \"" + std::string(a.ours) + "\"?";
      if (!a.note.empty()) s += " (" + std::string(a.note) + ")";
      return s;
    }
  }
  const std::size_t cap = word.size() <= 4 ? 1 : 2;
  std::string_view best;
  std::size_t best_distance = cap + 1;
  for (std::string_view k : known) {
    const std::size_t d = edit_distance(word, k, cap);
    if (d < best_distance) best = k, best_distance = d;
  }
  if (best.empty()) return {};
  return "did you mean \"" + std::string(best) + "\"?";
}

}  // namespace imgvec::detail
