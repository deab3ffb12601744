#pragma once
// What VectorDatabase::add_paths, the one path by which files and bytes are added, is given by
// the calls built on it (add_image, add_images_batch, index_directory, import_image_bytes).

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "imgvec/database.hpp"

namespace imgvec {

struct VectorDatabase::AddInputs {
  const std::vector<Metadata>* metadata = nullptr;  // one per path, or none
  const std::vector<std::vector<std::string>>* tags = nullptr;
  const std::function<void(std::size_t, std::size_t)>* progress = nullptr;
  const std::function<bool()>* cancelled = nullptr;
  bool detect_renames = true;
  bool checkpoint = false;
  bool remember_failures = false;  // skip files that failed before and have not changed
  std::size_t chunk = 512;
  const void* held_data = nullptr;  // the one path's bytes, in memory: not read from the file
  std::size_t held_size = 0;
  DecodeOptions limits;  // for reading and decoding (min_side: the encoder's)
  PipelineStats* stats = nullptr;  // the embedding runs' figures are added here
};

}  // namespace imgvec
