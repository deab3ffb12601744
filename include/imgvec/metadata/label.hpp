#pragma once
// A label a record holds (ImageRecord::labels): part of what is known about an image, so it lives
// with the records; labelling itself is the database's (imgvec/labels.hpp).

#include <string>

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

/// A content type an image was given by zero-shot classification, with its probability.
struct Label {
  std::string name;
  float score = 0;  ///< softmax probability among the label set, 0..1
  bool operator==(const Label& o) const { return name == o.name && score == o.score; }
};

}  // namespace imgvec
IMGVEC_API_END
