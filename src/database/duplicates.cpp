#include <algorithm>
#include <map>
#include <numeric>

#include "database/database_impl.hpp"

namespace imgvec {
namespace {

struct UnionFind {
  std::map<Id, Id> parent;
  Id find(Id x) {
    auto it = parent.find(x);
    if (it == parent.end()) return parent[x] = x;
    if (it->second == x) return x;
    return it->second = find(it->second);
  }
  void join(Id a, Id b) {
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

std::vector<DuplicateGroup> VectorDatabase::find_duplicates(const DuplicateOptions& options) const {
  if (options.neighbours == 0) throw Error(ErrorCode::invalid_argument, "find_duplicates: neighbours must be >= 1");
  Impl::Shared guard(impl_->lock);
  const MetadataStore& store = impl_->store;
  UnionFind uf;
  // Identical bytes first: the hash decides, not the vectors.
  std::map<std::uint64_t, Id> first_with_hash;
  store.for_each([&](const ImageRecord& r) {
    if (r.content_hash == 0) return;
    const auto [it, fresh] = first_with_hash.emplace(r.content_hash, r.id);
    if (!fresh) uf.join(it->second, r.id);
  });
  // Then neighbours above the threshold, searched in batches on the index's threads.
  const std::vector<Id> ids = store.ids();
  const std::size_t d = impl_->index->dimension();
  constexpr std::size_t kBatch = 1024;
  std::vector<float> queries;
  SearchParams params(options.neighbours + 1);
  params.min_score = options.threshold;
  for (std::size_t first = 0; first < ids.size(); first += kBatch) {
    const std::size_t n = std::min(kBatch, ids.size() - first);
    queries.resize(n * d);
    for (std::size_t i = 0; i < n; ++i) {
      const auto v = impl_->index->get_vector(ids[first + i]);
      std::copy(v.begin(), v.end(), queries.begin() + static_cast<std::ptrdiff_t>(i * d));
    }
    const auto hits = impl_->index->search_batch(MatrixView(queries.data(), n, d), params);
    for (std::size_t i = 0; i < n; ++i) {
      for (const SearchHit& h : hits[i]) {
        if (h.id != ids[first + i] && h.score >= options.threshold) uf.join(ids[first + i], h.id);
      }
    }
  }
  std::map<Id, DuplicateGroup> groups;
  for (Id id : ids) {
    if (uf.parent.count(id)) groups[uf.find(id)].ids.push_back(id);
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
  return find_duplicate_of(decode_image_file(path, impl_->encoder->decode_options()), threshold);
}

}  // namespace imgvec
