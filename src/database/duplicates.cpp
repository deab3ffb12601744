#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "database/duplicate_verification.hpp"
#include "imgvec/image/photo_match.hpp"
#include "database/database_impl.hpp"

namespace imgvec {
namespace {

struct UnionFind {
  std::map<Id, Id> parent;
  std::map<Id, DuplicateMatch> evidence;  // the strongest link each member has
  Id find(Id x) {
    auto it = parent.find(x);
    if (it == parent.end()) return parent[x] = x;
    if (it->second == x) return x;
    return it->second = find(it->second);
  }
  void join(Id a, Id b, DuplicateMatch how) {
    for (Id id : {a, b}) {
      const auto [it, fresh] = evidence.emplace(id, how);
      if (!fresh) it->second = std::min(it->second, how);  // identical < similar < verified
    }
    a = find(a);
    b = find(b);
    if (a != b) parent[std::max(a, b)] = std::min(a, b);
  }
};

bool better_keeper(const ImageRecord& a, const ImageRecord& b) {
  const auto pa = std::uint64_t{a.width} * a.height, pb = std::uint64_t{b.width} * b.height;
  if (pa != pb) return pa > pb;
  if (a.file_size != b.file_size) return a.file_size > b.file_size;
  return a.id < b.id;
}

}  // namespace

const char* to_string(DuplicateMatch match) {
  switch (match) {
    case DuplicateMatch::identical: return "identical";
    case DuplicateMatch::similar: return "similar";
    case DuplicateMatch::verified: return "verified";
  }
  return "?";
}

std::vector<DuplicateGroup> VectorDatabase::find_duplicates(const DuplicateOptions& options) const {
  if (options.neighbours == 0) throw Error(ErrorCode::invalid_argument, "find_duplicates: neighbours must be >= 1");
  const bool verify = options.verify && photo_matching_available() && options.candidate_threshold < options.threshold;
  UnionFind uf;
  std::vector<detail::PairToVerify> candidates;  // to verify on their pixels
  std::map<Id, detail::FileToVerify> files;
  {
    Impl::Shared guard(impl_->lock);
    const MetadataStore& store = impl_->store;
    // Identical bytes first: the hash decides, not the vectors.
    std::map<std::uint64_t, Id> first_with_hash;
    store.for_each([&](const ImageRecord& r) {
      if (r.content_hash == 0) return;
      const auto [it, fresh] = first_with_hash.emplace(r.content_hash, r.id);
      if (!fresh && !detail::marked_not_duplicates(r, it->second)) uf.join(it->second, r.id, DuplicateMatch::identical);
    });
    // Then neighbours above the threshold, searched in batches on the index's threads; with
    // verification, those above the candidate threshold are kept for the second stage.
    const std::vector<Id> ids = store.ids();
    const std::size_t d = impl_->index->dimension();
    constexpr std::size_t kBatch = 1024;
    std::vector<float> queries;
    SearchParams params(options.neighbours + 1);
    params.min_score = verify ? options.candidate_threshold : options.threshold;
    std::map<std::pair<Id, Id>, float> seen;
    for (std::size_t first = 0; first < ids.size(); first += kBatch) {
      const std::size_t n = std::min(kBatch, ids.size() - first);
      queries.resize(n * d);
      for (std::size_t i = 0; i < n; ++i) {
        const auto v = impl_->index->get_vector(ids[first + i]);
        std::copy(v.begin(), v.end(), queries.begin() + static_cast<std::ptrdiff_t>(i * d));
      }
      const auto hits = impl_->index->search_batch(MatrixView(queries.data(), n, d), params);
      for (std::size_t i = 0; i < n; ++i) {
        const Id self = ids[first + i];
        const ImageRecord* mine = store.get(self);
        for (const SearchHit& h : hits[i]) {
          if (h.id == self) continue;
          const ImageRecord* theirs = store.get(h.id);
          if (detail::marked_not_duplicates(*mine, h.id) || (theirs && detail::marked_not_duplicates(*theirs, self)))
            continue;  // a person looked and said no
          if (h.score >= options.threshold) {
            uf.join(self, h.id, DuplicateMatch::similar);
          } else if (verify && h.score >= options.candidate_threshold) {
            seen.emplace(std::make_pair(std::min(self, h.id), std::max(self, h.id)), h.score);
          }
        }
      }
    }
    for (const auto& [pair, score] : seen) {
      const auto [a, b] = pair;
      if (uf.find(a) == uf.find(b)) continue;  // already one group: nothing to verify
      const ImageRecord *ra = store.get(a), *rb = store.get(b);
      if (ra->source.empty() || rb->source.empty()) continue;  // added from memory: no file to read
      candidates.push_back({a, b, score});
      files.emplace(a, detail::FileToVerify{ra->source, ra->content_hash});
      files.emplace(b, detail::FileToVerify{rb->source, rb->content_hash});
    }
  }
  // The files are read and compared without the lock: it takes seconds to minutes, and adds and
  // searches go on meanwhile. A record removed in between is dropped below.
  detail::verify_pairs(
      std::move(candidates), files, [&](Id a, Id b) { return uf.find(a) == uf.find(b); },
      [&](Id a, Id b) { uf.join(a, b, DuplicateMatch::verified); }, options.progress);
  Impl::Shared guard(impl_->lock);
  const MetadataStore& store = impl_->store;
  std::map<Id, DuplicateGroup> groups;
  for (const auto& [id, parent] : uf.parent) {
    if (store.get(id)) groups[uf.find(id)].ids.push_back(id);
  }
  std::vector<DuplicateGroup> out;
  for (auto& [root, g] : groups) {
    if (g.ids.size() < 2) continue;
    g.keeper = g.ids.front();
    g.exact = true;
    const std::uint64_t hash = store.get(g.ids.front())->content_hash;
    for (Id id : g.ids) {
      const ImageRecord& r = *store.get(id);
      if (better_keeper(r, *store.get(g.keeper))) g.keeper = id;
      g.exact = g.exact && hash != 0 && r.content_hash == hash;
      g.matched_by.push_back(uf.evidence.at(id));
    }
    // Vectors are unit length (the index is cosine), so a dot product is the cosine.
    const auto keeper = impl_->index->get_vector(g.keeper);
    for (Id id : g.ids) {
      const auto v = impl_->index->get_vector(id);
      double dot = 0;
      for (std::size_t j = 0; j < v.size(); ++j) dot += static_cast<double>(v[j]) * keeper[j];
      g.scores.push_back(static_cast<float>(dot));
    }
    out.push_back(std::move(g));
  }
  return out;
}

std::optional<SearchResult> VectorDatabase::find_duplicate_of(const Image& image, float threshold) const {
  SearchOptions o(1);
  o.min_score = threshold;
  auto hits = search_by_image(image, o);
  if (hits.empty()) return std::nullopt;
  return std::move(hits.front());
}

std::optional<SearchResult> VectorDatabase::find_duplicate_of(const std::string& path, float threshold) const {
  return find_duplicate_of(decode_image_file(path, impl_->encoder.get().decode_options()), threshold);
}

}  // namespace imgvec
