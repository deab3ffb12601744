#pragma once
// open()'s replay of the write-ahead logs a manifest names (docs/file-format.md).

#include "database/database_impl.hpp"

namespace imgvec::detail {

/// Applies the changes logged since the saved generation, then points appends at the next log
/// number. A damaged log, or a gap in the numbers, would drop acknowledged changes silently:
/// refused (Error corrupt_file, saying to run `imgvec repair`), unless `accept_damage`, which
/// stops at the damage and numbers new logs past every log present, so the next save deletes
/// them all.
void replay_logs(VectorDatabase::Impl& impl, bool accept_damage);

}  // namespace imgvec::detail
