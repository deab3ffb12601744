#pragma once
// Adding images: one result per image (AddResult), a folder brought up to date
// (index_directory's options and report), and files embedded outside any database. Part of
// imgvec/database.hpp.

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "imgvec/encoder/encoder.hpp"
#include "imgvec/error.hpp"
#include "imgvec/metadata/metadata_store.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

enum class AddStatus {
  added,      ///< new
  updated,    ///< the same source path with changed content: re-embedded under its old id
  unchanged,  ///< the same source path, size and modification time: skipped
  failed,     ///< not added; see error
  renamed,    ///< new path, same bytes as an image whose file is gone: moved, not re-embedded
  removed,    ///< (index_directory) its file vanished, so it was removed
  interrupted,  ///< not looked at: the run was cancelled before this file was embedded
};
const char* to_string(AddStatus status);

struct AddResult {
  std::string source;
  AddStatus status = AddStatus::failed;
  Id id = 0;  ///< the image's id unless failed
  ErrorCode code = ErrorCode::invalid_argument;
  std::string error;  ///< names the file and what is wrong, when failed
  /// (index_directory) Failed in an earlier run and unchanged since (same size and modification
  /// time), so not read again.
  bool remembered = false;
};

struct IndexDirectoryOptions {
  /// Descend into subdirectories.
  bool recursive = true;
  /// File name extensions to consider, lower case, without the dot. Empty: every file (the
  /// decoder then decides by content).
  std::vector<std::string> extensions = {"jpg", "jpeg", "jpe", "png", "bmp", "gif", "ppm", "pgm", "pnm", "pbm",
                                         "tga", "psd", "hdr", "webp", "tif", "tiff", "heic", "heif", "avif", "jfif"};
  /// Glob patterns (*, ?) matched against paths relative to the directory; matches are skipped.
  std::vector<std::string> exclude;
  /// Remove images whose files under this directory have vanished.
  bool remove_missing = false;
  /// Save after every chunk of files, so an interrupted run resumes where it stopped.
  bool checkpoint = true;
  /// Files embedded, inserted (and checkpointed) at a time; bounds memory and lost work.
  std::size_t chunk = 512;
  /// (done, total) after each chunk.
  std::function<void(std::size_t, std::size_t)> progress;
  /// Asked between batches of embedding; true stops the run there: what was embedded so far is
  /// stored (and checkpointed), the rest is not looked at, and the report says `interrupted`.
  /// For Ctrl-C: set a flag in the signal handler, return it here.
  std::function<bool()> cancel;
  /// Read the photo facts and analysis of unchanged files indexed by an older imgvec
  /// (refresh_photo_facts): their files are decoded again, not embedded again.
  bool refresh = false;
  /// Metadata for a file (given its path), stored with it whether it is new, changed, moved or
  /// unchanged; records whose metadata is already equal are left alone. Called once per file
  /// before any is read.
  std::function<Metadata(const std::string& path)> metadata;
};

struct IndexDirectoryReport {
  std::size_t added = 0, updated = 0, unchanged = 0, renamed = 0, removed = 0, failed = 0;
  /// Records of files under the directory that no longer exist (after any removal); they stay
  /// searchable until removed (IndexDirectoryOptions::remove_missing).
  std::size_t vanished = 0;
  /// The run was cancelled (IndexDirectoryOptions::cancel) before every file was looked at.
  bool interrupted = false;
  /// Of `failed`, how many failed in an earlier run and are unchanged since: they are counted and
  /// listed (with their earlier reason) but not read again until their size or time changes.
  std::size_t failed_unchanged = 0;
  /// The failed files, with their reasons.
  std::vector<AddResult> failures;
  /// Files not looked at because their extension is not in IndexDirectoryOptions::extensions
  /// (never dropped silently): how many, and how many per extension (lower case, without the
  /// dot; "" for none).
  std::size_t skipped = 0;
  std::map<std::string, std::size_t> skipped_extensions;
  /// Files not looked at because they match an IndexDirectoryOptions::exclude pattern.
  std::size_t excluded = 0;
  /// Unchanged files whose photo facts and analysis were read (IndexDirectoryOptions::refresh).
  std::size_t refreshed = 0;
  /// Without refresh: unchanged files indexed by an older imgvec, still without photo facts and
  /// analysis (refresh would read them).
  std::size_t without_facts = 0;
  /// Where the embedding's time went: whether the model was kept busy (decoding kept up).
  PipelineStats embedding;
};

/// An image file embedded outside any database: its vector and the record index_directory would
/// give it (id 0 until imported), or why it failed.
struct EmbeddedFile {
  ImageRecord record;
  std::vector<float> vector;
  ErrorCode code = ErrorCode::invalid_argument;
  std::string error;  ///< names the file and what is wrong; empty on success
  bool ok() const noexcept { return error.empty(); }
};

/// Embeds image files as a database would (the same decoding, vectors, photo facts and
/// analysis, content hash and file facts), for embedding on other machines and importing the
/// results (imgvec.dask in Python writes them as shards that import_vectors reads with new ids).
std::vector<EmbeddedFile> embed_files_as_records(Encoder& encoder, const std::vector<std::string>& paths);

}  // namespace imgvec
IMGVEC_API_END
