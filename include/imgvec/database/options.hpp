#pragma once
// How a database is created and opened: durability, the index it builds, the model it uses.
// Part of imgvec/database.hpp.

#include <string>

#include "imgvec/index/hnsw_index.hpp"
#include "imgvec/index/index.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

/// When a change (add, update, remove, metadata) is safe from a crash.
enum class Durability {
  /// Once save() returns. The fastest, for bulk indexing with checkpoints.
  on_save,
  /// Before the call that made it returns: each change is appended to a write-ahead log in the
  /// database folder and flushed to the disk (fdatasync) first; calls on several threads share
  /// one flush (group commit). open() replays the log; save() starts a fresh one. For services
  /// that acknowledge each upload.
  on_write,
};

/// "on_save", "on_write".
const char* to_string(Durability durability);
/// The inverse of to_string; Error(invalid_argument) naming the text otherwise.
Durability parse_durability(const std::string& text);

/// How a process uses a database it opens.
struct OpenOptions {
  Durability durability = Durability::on_save;
  /// A write-ahead log damaged in the middle (intact entries after a bad one), a log missing
  /// between two present ones, or a log cut short before the next: open() refuses these with
  /// Error(corrupt_file) naming the log, since replaying would lose acknowledged changes
  /// silently. With this set it replays up to the damage, drops the rest (counted in
  /// DatabaseStats::dropped_log_bytes), and the next save deletes the damaged logs (`imgvec
  /// repair`).
  bool accept_log_damage = false;
  /// Opens the state on the disk without taking the database's lock, so it works while another
  /// process (`imgvec serve`, an `imgvec index` run) holds the database: the last saved
  /// generation plus the changes that process has logged (Durability::on_write) up to now. Every
  /// write, save() included, throws Error(invalid_argument); nothing in the folder is changed
  /// (no leftover cleanup, no log repair, no MODEL update). A save by the other process during
  /// the open is retried (for about a second). Changes made by that process later are not seen:
  /// open again.
  bool read_only = false;
  /// Opens as usual, but read_only (above) when another process holds the database, instead of
  /// throwing Error(io); VectorDatabase::read_only() says which it got. For programs that only
  /// read: they work beside a server, and still tidy up and remember a moved model when alone.
  bool read_only_if_held = false;
  /// Searches the saved index where it lies in its file instead of reading it into memory
  /// (Index::open_mapped), and reads image records from their file as they are asked for
  /// (MetadataStore::open_mapped): an open that reads only the pages its searches touch, for a
  /// one-shot command on a large database. The first change to the index (a logged change
  /// replayed at the open, an add, a removal) reads it whole, as an open without this does. Searches of a mapped
  /// graph do not get the 2 MB pages a loaded one has (~15% slower at 100k), so a process that
  /// searches many times is better served without it.
  bool map_index = false;
};

/// For open(directory, options, model), which chooses the encoder from the database's
/// fingerprint: the built-in encoder, or the CLIP bundle the database remembers, loaded the first
/// time something is embedded (a call that embeds nothing never loads libtorch or the model).
struct ModelChoice {
  /// A bundle to use instead of the remembered one (a moved file, another copy); it must have the
  /// database's fingerprint, which is checked when it loads (Error incompatible). A relative path
  /// is resolved against the current folder now.
  std::string bundle;
  /// Store `bundle` as the one the database remembers once it has loaded and matched. Done
  /// without asking when the remembered bundle is missing, so one command with the right --model
  /// repairs a database whose model file moved.
  bool remember = false;
  std::string device = "auto";  ///< where a CLIP model runs: "auto", "cpu", "cuda", "cuda:N"
  /// What a CLIP model computes in: "float32", "bf16", "fp16" (ClipEncoderOptions::precision).
  /// The vectors are interchangeable, so a database may be searched in another precision.
  std::string precision = "float32";
  bool fast_decode = true;      ///< Encoder::set_fast_decode for the encoder it makes
};

struct DatabaseOptions {
  /// hnsw for large collections (approximate, fast), flat for exact search.
  IndexKind index_kind = IndexKind::hnsw;
  HnswParams hnsw;
  /// For the process that creates it (open() takes its own).
  Durability durability = Durability::on_save;
};

}  // namespace imgvec
IMGVEC_API_END
