#pragma once

#include <string>
#include <vector>

#include "imgvec/image/image.hpp"
#include "imgvec/types.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

/// One example of what to find (or to avoid): a text, an image (a file or decoded), a stored
/// image by id, or a vector from the database's encoder, with a weight.
struct QueryExample {
  enum class Kind { text, image_file, image, id, vector };
  Kind kind = Kind::text;
  std::string text;  ///< the text (Kind::text), or the image file's path (Kind::image_file)
  Image image;
  Id id = 0;
  std::vector<float> vector;
  /// How much it counts among the examples on its side; finite and > 0.
  float weight = 1;

  static QueryExample of_text(std::string text, float weight = 1);
  static QueryExample of_image_file(std::string path, float weight = 1);
  static QueryExample of_image(Image image, float weight = 1);
  static QueryExample of_id(Id id, float weight = 1);
  static QueryExample of_vector(std::vector<float> vector, float weight = 1);
  /// "text \"beach\"", "image a.jpg", "id 42", ..., for messages.
  std::string describe() const;
};

/// Positive and negative examples combined into one query vector, as Qdrant's average-vector
/// recommendation does, with weights: each example becomes a unit vector u_i; P and N are the
/// weighted means of the positive and of the negative ones; the query is
///   q = (P + (P - N)) / |P + (P - N)|   with negatives,   q = P / |P|   without.
/// "beach, but no people": positive text "beach", negative text "people".
struct Query {
  std::vector<QueryExample> positive;
  std::vector<QueryExample> negative;
};

}  // namespace imgvec
IMGVEC_API_END
