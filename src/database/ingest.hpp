#pragma once
// The ingest stage: everything a record needs from an image's bytes, from one read and one decode
// (issue 20: each new file was read twice, hashed and then decoded, and the encoder also read its
// EXIF facts and analysed its colours, so the encoder alone paid for them).

#include <cstdint>
#include <string>
#include <vector>

#include "imgvec/encoder/encoder.hpp"
#include "imgvec/image/analysis.hpp"
#include "imgvec/image/photo_facts.hpp"

namespace imgvec::detail {

/// The bytes of an image to ingest: a file's, read once into `owned`, or a caller's in memory.
struct HeldImage {
  std::string name;  ///< the file's path, or a label for bytes from memory (for messages)
  std::vector<std::uint8_t> owned;
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;

  void hold(std::vector<std::uint8_t> bytes) {
    owned = std::move(bytes);
    data = owned.data();
    size = owned.size();
  }
};

/// An image ingested: its embedding (vector, decoded size and format, or the error), and the
/// photo facts and analysis read from the same bytes and pixels.
struct IngestedImage {
  ImageEmbedding embedding;
  PhotoFacts photo;  ///< no file-time fallback here: the record's maker knows the file
  ImageAnalysis analysis;
};

/// Decodes each image once on the encoder's pipeline workers, which read its photo facts and
/// analyse its pixels on the same thread while the model runs on the previous batch. Owned bytes
/// are released as soon as they are decoded.
std::vector<IngestedImage> ingest_images(Encoder& encoder, std::vector<HeldImage>& images,
                                         const EmbedFilesOptions& options);

}  // namespace imgvec::detail
