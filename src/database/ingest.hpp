#pragma once
// The ingest stage: everything a record needs from an image's bytes, from one read and one decode
// (issue 20: each new file was read twice, hashed and then decoded, and the encoder also read its
// EXIF facts and analysed its colours, so the encoder alone paid for them).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "imgvec/encoder/encoder.hpp"
#include "imgvec/image/analysis.hpp"
#include "imgvec/image/photo_facts.hpp"

namespace imgvec::detail {

/// An image to ingest: a file, read by the worker that decodes it, or bytes the caller holds.
struct IngestItem {
  std::string name;  ///< the file's path (read when `data` is null), or a label for messages
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
};

/// An image ingested: its embedding (vector, decoded size and format, or the error), the hash of
/// its bytes, and the photo facts and analysis read from the same bytes and pixels.
struct IngestedImage {
  ImageEmbedding embedding;
  std::uint64_t hash = 0;  ///< XXH3-64 of its bytes (0 when they could not be read)
  PhotoFacts photo;  ///< no file-time fallback here: the record's maker knows the file
  ImageAnalysis analysis;
  /// The precision its vector was computed in, as ImageRecord::precision keeps it ("" for float32).
  std::string precision;
  /// `screen` said not to embed it: read and hashed, never decoded (embedding holds no vector).
  bool set_aside = false;
};

/// Whether to go on with image i, whose bytes hash to `hash`; runs on a worker, concurrently.
using IngestScreen = std::function<bool(std::size_t i, std::uint64_t hash)>;

/// Reads (when it is a file), hashes and decodes each image once on the encoder's pipeline
/// workers, which also read its photo facts and analyse its pixels on the same thread while the
/// model runs on the previous batch; a file's bytes are held only while it is decoded. With
/// `screen`, an image it refuses after hashing is set aside, not decoded (a file that moved).
std::vector<IngestedImage> ingest_images(Encoder& encoder, const std::vector<IngestItem>& items,
                                         const EmbedFilesOptions& options, const IngestScreen& screen = {});

}  // namespace imgvec::detail
