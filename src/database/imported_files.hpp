#pragma once
// Copies of images added from memory with VectorDatabase::import_image_bytes, kept in the
// database's folder as `files/<SHA-256 of the bytes, 64 hex digits>.<format>`, so that such an
// image has a file like one added from disk. A file is named by its bytes, which makes the same
// upload twice the same file; no crafted upload can take another's name (XXH3-64 names before 0.3
// could be made to collide). Records keep them as "$DB/files/NAME" on disk, so a moved database
// still finds them.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "imgvec/metadata/metadata_store.hpp"

namespace imgvec::detail {

std::string files_directory(const std::string& dir);
/// Sources in the database's files/ folder: absolute in memory (where the database was opened)
/// and "$DB/files/" in its files and logs, so that a moved database keeps its images' files.
SourcePrefix imported_files_prefix(const std::string& dir);
/// Whether a file name is one the database gives the files it keeps (SHA-256 or, before 0.3,
/// XXH3-64 of the bytes, in hex, with the format's extension).
bool is_imported_file_name(const std::string& file_name);
/// Deletes the files it keeps for which `in_use(path)` is false (path as records hold it in
/// memory), and writer temporaries left there.
void remove_unused_files(const std::string& dir, const std::function<bool(const std::string&)>& in_use);

}  // namespace imgvec::detail
