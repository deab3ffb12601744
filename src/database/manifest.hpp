#pragma once

#include <cstdint>
#include <string>

#include "imgvec/encoder/encoder.hpp"
#include "imgvec/index/index.hpp"

namespace imgvec::detail {

/// The database's root file: which generation of index and metadata files is current, the next
/// id to hand out, and the encoder the vectors came from. Replaced atomically by every save, so
/// it always names a complete generation.
struct Manifest {
  std::uint64_t generation = 0;
  Id next_id = 1;
  IndexKind index_kind = IndexKind::hnsw;
  EncoderFingerprint encoder;
  std::int64_t created_ms = 0;
  /// The first write-ahead log (write_ahead_log.hpp) whose changes this generation lacks: open()
  /// replays log-<log_start> and each next number present. 0 in manifests written before logs.
  std::uint64_t log_start = 0;
  /// A random number made when the database is created, written into each of its logs' headers,
  /// so a log copied in from another database is refused instead of replayed. 0 in manifests
  /// written before identities (the next save gives it one).
  std::uint64_t database_id = 0;
};

/// A new random database identity (never 0).
std::uint64_t make_database_id();

std::string manifest_path(const std::string& dir);
/// MODEL: the CLIP bundle the database remembers (model_bundle.cpp).
std::string model_bundle_path(const std::string& dir);
std::string index_path(const std::string& dir, std::uint64_t generation);
/// text-cache.imgvtext: recent text queries' embeddings (text_cache.hpp).
std::string text_cache_path(const std::string& dir);
std::string metadata_path(const std::string& dir, std::uint64_t generation);

/// Deletes what an interrupted save can leave in a database folder, given the current generation
/// `g`: the files (index, metadata, failed) of generations g - 1 (a crash after the switch) and g + 1 (a crash before it),
/// and the atomic writer's temporary files beside MANIFEST, the text cache and generations g - 1 .. g + 1. Only
/// these exact names are touched, never anything else in the folder.
void remove_leftovers(const std::string& dir, std::uint64_t g);
/// Deletes the write-ahead logs numbered below `end` (those a saved generation covers), or all of
/// them when `end` is UINT64_MAX. Only names of the exact form log-<number>.imgvlog are touched.
void remove_logs_before(const std::string& dir, std::uint64_t end);

void write_manifest(const std::string& dir, const Manifest& manifest);
/// Throws Error(not_found) when `dir` holds no database, corrupt_file when the manifest is damaged.
Manifest read_manifest(const std::string& dir);

}  // namespace imgvec::detail
