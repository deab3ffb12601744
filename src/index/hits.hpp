#pragma once

#include <vector>

#include "imgvec/types.hpp"
#include "index/topk.hpp"

namespace imgvec::detail {

// The one place that ties score and distance together (see Metric): score = 1 - distance for
// cosine and inner product, score = -distance for L2.
inline float distance_from_score(Metric metric, float score) {
  return metric == Metric::l2 ? -score : 1.0f - score;
}
inline float score_from_distance(Metric metric, float distance) {
  return metric == Metric::l2 ? -distance : 1.0f - distance;
}

inline std::vector<SearchHit> to_hits(TopK& top, Metric metric) {
  std::vector<TopK::Entry> entries = top.take_sorted();
  std::vector<SearchHit> hits(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    hits[i] = {entries[i].id, entries[i].score, distance_from_score(metric, entries[i].score)};
  }
  return hits;
}

}  // namespace imgvec::detail
