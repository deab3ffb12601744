#pragma once
// Copies of images added from memory with VectorDatabase::import_image_bytes, kept in the
// database's folder as `files/<XXH3-64 of the bytes, 16 hex digits>.<format>`, so that such an
// image has a file like one added from disk. A file is named by its bytes, which makes the same
// upload twice the same file, and lets cleanup tell which files records still use (by content
// hash, whatever path the folder has now).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace imgvec::detail {

std::string files_directory(const std::string& dir);
/// The content hash an imported file's name encodes, or nothing for any other name.
std::optional<std::uint64_t> imported_file_hash(const std::string& file_name);
/// Deletes imported files for which `in_use(hash)` is false, and writer temporaries left there.
void remove_unused_files(const std::string& dir, const std::function<bool(std::uint64_t)>& in_use);

}  // namespace imgvec::detail
