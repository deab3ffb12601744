#pragma once
// "Did you mean": the hint an error gives when a field, key or flag is misspelt, or is the name
// another system uses for one of ours. Shared by the server's field checks and the JSON filter.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace imgvec::detail {

/// Another system's name for one of ours (`top_k` -> `limit`), with a word on how it differs.
struct NameAlias {
  std::string_view theirs, ours, note;
};

/// The closest of `known` to `word`: an alias's `ours` (with its note, when it has one), else a
/// known name at most 2 edits away (or 1 for words of 4 bytes or fewer), else empty. The result is
/// a phrase for a message: `did you mean "limit"?`.
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& known,
                         const std::vector<NameAlias>& aliases = {});

/// The edit distance (insertions, deletions, substitutions and swaps of neighbours) between two
/// ASCII words, case-insensitive; stops counting at `cap` + 1.
std::size_t edit_distance(std::string_view a, std::string_view b, std::size_t cap);

}  // namespace imgvec::detail
