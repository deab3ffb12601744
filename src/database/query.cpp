// Queries of several weighted examples (include/imgvec/query.hpp): each example becomes a unit
// vector, and the weighted means of the positive and negative ones combine as Qdrant's
// average-vector recommendation does.
#include <cmath>

#include "database/database_impl.hpp"
#include "imgvec/database.hpp"

namespace imgvec {

QueryExample QueryExample::of_text(std::string text, float weight) {
  QueryExample e;
  e.kind = Kind::text;
  e.text = std::move(text);
  e.weight = weight;
  return e;
}

QueryExample QueryExample::of_image_file(std::string path, float weight) {
  QueryExample e = of_text(std::move(path), weight);
  e.kind = Kind::image_file;
  return e;
}

QueryExample QueryExample::of_image(Image image, float weight) {
  QueryExample e;
  e.kind = Kind::image;
  e.image = std::move(image);
  e.weight = weight;
  return e;
}

QueryExample QueryExample::of_id(Id id, float weight) {
  QueryExample e;
  e.kind = Kind::id;
  e.id = id;
  e.weight = weight;
  return e;
}

QueryExample QueryExample::of_vector(std::vector<float> vector, float weight) {
  QueryExample e;
  e.kind = Kind::vector;
  e.vector = std::move(vector);
  e.weight = weight;
  return e;
}

std::string QueryExample::describe() const {
  switch (kind) {
    case Kind::text: return "text \"" + text + "\"";
    case Kind::image_file: return "image " + text;
    case Kind::image: return "an image of " + std::to_string(image.width) + "x" + std::to_string(image.height);
    case Kind::id: return "image id " + std::to_string(id);
    case Kind::vector: return "a vector of " + std::to_string(vector.size()) + " numbers";
  }
  return "an example";
}

std::vector<float> VectorDatabase::query_vector(const Query& query) const {
  if (query.positive.empty()) {
    throw Error(ErrorCode::invalid_argument, "a query needs at least one positive example (negatives alone say "
                                             "only what not to find)");
  }
  const std::size_t dim = dimension();
  // The weighted mean of one side's unit vectors.
  auto side = [&](const std::vector<QueryExample>& examples) {
    std::vector<double> mean(dim, 0.0);
    double total = 0;
    for (const QueryExample& e : examples) {
      if (!(e.weight > 0) || !std::isfinite(e.weight)) {
        throw Error(ErrorCode::invalid_argument,
                    "the weight of " + e.describe() + " is " + std::to_string(e.weight) + "; weights must be > 0");
      }
      std::vector<float> v;
      switch (e.kind) {
        case QueryExample::Kind::text: v = embed_text(e.text); break;
        case QueryExample::Kind::image_file:
          v = impl_->encoder.get().embed_image(decode_image_file(e.text, impl_->encoder.get().decode_options()));
          break;
        case QueryExample::Kind::image: v = impl_->encoder.get().embed_image(e.image); break;
        case QueryExample::Kind::id: v = get_vector(e.id); break;
        case QueryExample::Kind::vector: v = e.vector; break;
      }
      if (v.size() != dim) {
        throw Error(ErrorCode::invalid_argument, e.describe() + ": this database's vectors have " + std::to_string(dim) +
                                                     " numbers");
      }
      double norm = 0;
      for (float x : v) norm += static_cast<double>(x) * x;
      norm = std::sqrt(norm);
      if (!(norm > 0) || !std::isfinite(norm)) throw Error(ErrorCode::invalid_argument, e.describe() + " is a zero or non-finite vector");
      for (std::size_t i = 0; i < dim; ++i) mean[i] += e.weight * v[i] / norm;
      total += e.weight;
    }
    for (double& x : mean) x /= total;
    return mean;
  };
  const std::vector<double> p = side(query.positive);
  std::vector<double> q = p;
  if (!query.negative.empty()) {
    const std::vector<double> n = side(query.negative);
    for (std::size_t i = 0; i < dim; ++i) q[i] = 2 * p[i] - n[i];  // P + (P - N)
  }
  double norm = 0;
  for (double x : q) norm += x * x;
  norm = std::sqrt(norm);
  if (norm < 1e-6) throw Error(ErrorCode::invalid_argument, "the query's examples cancel each other out");
  std::vector<float> out(dim);
  for (std::size_t i = 0; i < dim; ++i) out[i] = static_cast<float>(q[i] / norm);
  return out;
}

std::vector<SearchResult> VectorDatabase::search(const Query& query, const SearchOptions& options) const {
  const std::vector<float> v = query_vector(query);
  // The stored images given as examples are what the user already has: not results.
  std::vector<Id> examples;
  for (const auto* side : {&query.positive, &query.negative}) {
    for (const QueryExample& e : *side) {
      if (e.kind == QueryExample::Kind::id) examples.push_back(e.id);
    }
  }
  return impl_->search(VectorView(v.data(), v.size()), options, examples);
}

}  // namespace imgvec
