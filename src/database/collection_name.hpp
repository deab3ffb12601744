#pragma once
// The one rule for a collection (or table) name, which exports and imports both join into file
// names and SQL: checked on the way out and on the way back in, where an export folder is input.

#include <string>

namespace imgvec::detail {

/// Throws Error(invalid_argument) "WHAT: collection name ..." unless `name` is 1-63 ASCII letters,
/// digits or _, not starting with a digit.
void check_collection_name(const std::string& name, const std::string& what);

}  // namespace imgvec::detail
