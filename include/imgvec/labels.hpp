#pragma once
// Zero-shot labelling, a database operation (VectorDatabase::label_images): the label sets and
// options. The Label a record holds is metadata (imgvec/metadata/label.hpp).

#include <cstddef>
#include <string>
#include <vector>

#include "imgvec/metadata/label.hpp"
#include "imgvec/types.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

/// Labels and the text prompts CLIP compares images with (one per label).
struct LabelSet {
  std::vector<std::string> names;
  std::vector<std::string> prompts;
};

/// What a photo library holds: kinds of image (photo, screenshot, document, receipt, drawing,
/// diagram or chart, meme, map, logo) and common scenes (beach, mountains, city, food, pets,
/// people, ...), each with a prompt written for CLIP.
LabelSet default_labels();

/// Reads a label file: one label per line, "NAME" (prompt "a photo of a NAME") or
/// "NAME: PROMPT"; blank lines and lines starting with '#' are skipped. Throws imgvec::Error
/// naming the file and line: not_found, invalid_argument (an empty name, a name twice, more than
/// 1000 labels, no labels).
LabelSet read_label_file(const std::string& path);

/// What the CLI's --labels and Python's label_images(labels=...) take: "default" for
/// default_labels(), anything else a label file (read_label_file).
LabelSet label_set_named(const std::string& default_or_file);

struct LabelOptions {
  LabelSet labels = default_labels();
  /// At most this many labels per image, most probable first...
  std::size_t top = 3;
  /// ...each at least this probable.
  float min_score = 0.1f;
  /// Scales cosines before the softmax; 100 is what CLIP was trained with.
  float logit_scale = 100;
  /// Label only images with no labels yet (what index --labels does after adding images).
  bool only_unlabelled = false;
  /// These images only; empty: every image.
  std::vector<Id> ids;
};

}  // namespace imgvec
IMGVEC_API_END
