// Searches: by vector, image, text and colour, with filters, paging and order; and the reads
// that go with them (records, vectors, ids, metadata keys, filter warnings).
#include <algorithm>
#include <optional>

#include "database/database_impl.hpp"
#include "imgvec/error.hpp"
#include "text/near_names.hpp"

namespace imgvec {
namespace {

// Results in score order, reordered as asked: by date, undated ones last in score order.
void sort_results(std::vector<SearchResult>& out, SortOrder order) {
  if (order == SortOrder::score) return;
  const bool newest = order == SortOrder::newest;
  std::stable_sort(out.begin(), out.end(), [newest](const SearchResult& a, const SearchResult& b) {
    const auto& x = a.record.photo.taken_ms;
    const auto& y = b.record.photo.taken_ms;
    if (!x || !y) return x.has_value() && !y.has_value();
    return newest ? *x > *y : *x < *y;
  });
}

bool is_stored_vector(const Index& index, VectorView q, Id id) {
  const std::vector<float> stored = index.get_vector(id);
  return stored.size() == q.size && std::equal(stored.begin(), stored.end(), q.data);
}

}  // namespace

// The ids whose records match, read a chunk at a time, each chunk under its own shared lock: one
// scan of every record under one lock let a filter of costly patterns hold it for the whole
// scan, and a writer queued behind it (the lock lets writers in first) stalled every other
// search until it ended (issue 19). A writer now waits for one chunk at most. A record changed
// after its chunk is judged again with the results (search() below), so every result matches
// the filter; one that came to match meanwhile may be missed, as if the search ran first.
std::vector<Id> VectorDatabase::Impl::matching_ids(const Where& where) const {
  const VectorDatabase::Impl& db = *this;
  constexpr std::size_t kChunk = 4096;
  std::vector<Id> all, out;
  {
    VectorDatabase::Impl::Shared guard(db.lock);
    all = db.store.ids_unordered();
  }
  for (std::size_t start = 0; start < all.size(); start += kChunk) {
    VectorDatabase::Impl::Shared guard(db.lock);
    for (std::size_t i = start; i < std::min(all.size(), start + kChunk); ++i) {
      const ImageRecord* r = db.store.get(all[i]);
      if (r && where.matches(*r)) out.push_back(all[i]);
    }
  }
  return out;
}

std::vector<SearchResult> VectorDatabase::Impl::search(VectorView q, const SearchOptions& options,
                                                      const std::vector<Id>& excluded) const {
  if (options.k == 0) throw Error(ErrorCode::invalid_argument, "search: k must be at least 1");
  if (options.offset > (std::size_t{1} << 32)) throw Error(ErrorCode::invalid_argument, "search: offset is too large");
  // The examples are dropped from a few more results rather than filtered out of the search: as
  // a filter they became an allow list of every other id (a `search --like ID` on 100k records
  // spent 6% of its time building it, and the search then ran with a filter).
  SearchParams params(options.k + options.offset + excluded.size());
  params.min_score = options.min_score;
  std::optional<Filter> filter;
  if (!options.where.matches_all()) {
    std::vector<Id> allow = matching_ids(options.where);
    if (allow.empty()) return {};
    filter = Filter::allow(std::move(allow));
    params.filter = &*filter;
  }
  Shared guard(lock);
  if (index->size() == 0) return {};
  std::vector<SearchResult> out;
  const auto hits = index->search(q, params);
  std::size_t rank = 0;
  for (std::size_t i = 0; i < hits.size() && out.size() < options.k; ++i) {
    if (std::find(excluded.begin(), excluded.end(), hits[i].id) != excluded.end()) continue;
    const ImageRecord& record = *store.get(hits[i].id);
    // Changed since matching_ids judged it: a result always matches its filter as it now is.
    if (filter && !options.where.matches(record)) continue;
    if (rank++ < options.offset) continue;
    // Unit vectors' cosine lies in [-1, 1], and a vector's with itself is 1; the float sum of
    // its squares lands a rounding step to either side (1.0000001 seen for a search by a
    // stored id), so the stored image that is the query scores exactly 1.
    float score = std::clamp(hits[i].score, -1.0f, 1.0f);
    if (score > 0.9999f && is_stored_vector(*index, q, hits[i].id)) score = 1.0f;
    out.push_back({hits[i].id, score, record});
  }
  sort_results(out, options.sort);
  return out;
}

std::vector<SearchResult> VectorDatabase::Impl::search_colours(const std::vector<Rgb>& colours,
                                                             const SearchOptions& options) const {
  if (options.k == 0) throw Error(ErrorCode::invalid_argument, "search: k must be at least 1");
  if (colours.empty()) throw Error(ErrorCode::invalid_argument, "search_by_colour: no colours given");
  Shared guard(lock);
  std::vector<std::pair<float, Id>> scored;
  const bool filtered = !options.where.matches_all();
  store.for_each([&](const ImageRecord& r) {
    if (!r.analysis.analysed() || (filtered && !options.where.matches(r))) return;
    const float s = palette_similarity(r.analysis, colours);
    if (!options.min_score || s >= *options.min_score) scored.emplace_back(s, r.id);
  });
  const std::size_t want = std::min(scored.size(), options.k + options.offset);
  // Best first; equal scores by id, so pages are stable.
  std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(want), scored.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  std::vector<SearchResult> out;
  for (std::size_t i = options.offset; i < want; ++i) out.push_back({scored[i].second, scored[i].first, *store.get(scored[i].second)});
  sort_results(out, options.sort);
  return out;
}

const char* to_string(SortOrder order) {
  switch (order) {
    case SortOrder::newest: return "newest";
    case SortOrder::oldest: return "oldest";
    case SortOrder::score: break;
  }
  return "score";
}

SortOrder parse_sort_order(const std::string& text) {
  if (text == "taken") return SortOrder::newest;
  for (const SortOrder o : {SortOrder::score, SortOrder::newest, SortOrder::oldest}) {
    if (text == to_string(o)) return o;
  }
  throw Error(ErrorCode::invalid_argument,
              "sort order \"" + text + "\": expected score, newest (or taken) or oldest");
}

std::vector<SearchResult> VectorDatabase::search_by_image(const std::string& path, const SearchOptions& options) const {
  return search_by_image(decode_image_file(path, impl_->encoder.get().decode_options()), options);
}

std::vector<SearchResult> VectorDatabase::search_by_image(const Image& image, const SearchOptions& options) const {
  const auto v = impl_->encoder.get().embed_image(image);
  return impl_->search(VectorView(v.data(), v.size()), options);
}

std::vector<SearchResult> VectorDatabase::search_by_image_bytes(const void* data, std::size_t size,
                                                                const SearchOptions& options) const {
  return search_by_image(decode_image(data, size, "query image", impl_->encoder.get().decode_options()), options);
}

std::vector<SearchResult> VectorDatabase::search_by_image_base64(std::string_view base64,
                                                                 const SearchOptions& options) const {
  return search_by_image(decode_image_base64(base64, impl_->encoder.get().decode_options()), options);
}

std::vector<float> VectorDatabase::Impl::embed_text(const std::string& text) const {
  if (auto hit = text_cache->get(text)) return std::move(*hit);
  std::vector<float> v = encoder.get().embed_text(text);
  text_cache->put(text, v);
  return v;
}

std::vector<SearchResult> VectorDatabase::search_by_text(const std::string& text, const SearchOptions& options) const {
  const auto v = impl_->embed_text(text);
  return impl_->search(VectorView(v.data(), v.size()), options);
}

std::vector<SearchResult> VectorDatabase::search_by_colour(const std::vector<Rgb>& colours,
                                                          const SearchOptions& options) const {
  return impl_->search_colours(colours, options);
}

std::vector<float> VectorDatabase::embed_text(const std::string& text) const {
  return impl_->embed_text(text);
}

VectorDatabase::TextCacheCounts VectorDatabase::text_cache_counts() const {
  const auto c = impl_->text_cache->counts();
  return {c.entries, c.capacity, c.hits, c.misses};
}

void VectorDatabase::set_text_cache_entries(std::size_t entries) { impl_->text_cache->set_capacity(entries); }

std::vector<float> VectorDatabase::embed_image(const Image& image) const {
  return impl_->encoder.get().embed_image(image);
}

std::vector<SearchResult> VectorDatabase::search_by_vector(VectorView vector, const SearchOptions& options) const {
  return impl_->search(vector, options);
}

std::optional<ImageRecord> VectorDatabase::get(Id id) const {
  Impl::Shared guard(impl_->lock);
  const ImageRecord* r = impl_->store.get(id);
  if (!r) return std::nullopt;
  return *r;
}

std::optional<Id> VectorDatabase::find_source(const std::string& path) const {
  Impl::Shared guard(impl_->lock);
  return impl_->store.find_source(path);
}

std::vector<std::string> VectorDatabase::metadata_keys() const {
  Impl::Shared guard(impl_->lock);
  return impl_->store.metadata_keys();
}

std::vector<std::string> VectorDatabase::filter_warnings(const Where& where) const {
  std::vector<std::string> out;
  if (where.matches_all()) return out;
  std::vector<std::string> keys, tags;
  std::size_t labelled = 0;
  {
    Impl::Shared guard(impl_->lock);
    keys = impl_->store.metadata_keys();
    tags = impl_->store.tags();
    labelled = impl_->store.labelled_count();
  }
  // "did you mean" and at most 20 names, so a database of many keys or tags gives a short line.
  auto listed = [](const std::vector<std::string>& names) {
    std::string text;
    for (std::size_t i = 0; i < names.size() && i < 20; ++i) text += (i ? ", " : "") + names[i];
    if (names.size() > 20) text += ", ... (" + std::to_string(names.size()) + " in all)";
    return names.empty() ? std::string("none") : text;
  };
  for (const std::string& key : where.keys()) {
    const bool meta = key.rfind("meta.", 0) == 0;
    const std::string bare = meta ? key.substr(5) : key;
    if (!meta && key == "label" && labelled == 0) {
      out.push_back("no image has labels yet, so label=... matches nothing; label them first (imgvec tag --labels "
                    "default, or imgvec index --labels default; label_images in the library)");
      continue;
    }
    if ((!meta && Where::is_record_field(key)) || std::binary_search(keys.begin(), keys.end(), bare)) continue;
    std::vector<std::string_view> known(keys.begin(), keys.end());
    if (!meta) {
      for (const char* f : {"width", "height", "format", "source", "camera", "lens", "taken", "modified", "colour",
                            "label", "tone", "brightness", "tag"})
        known.emplace_back(f);
    }
    std::string message = "no image has the key \"" + key + "\"";
    if (const std::string hint = detail::did_you_mean(bare, known); !hint.empty()) message += "; " + hint;
    message += " (metadata keys: " + listed(keys) + ")";
    out.push_back(std::move(message));
  }
  for (const std::string& tag : where.tags()) {
    if (std::binary_search(tags.begin(), tags.end(), tag)) continue;
    std::string message = "no image has the tag \"" + tag + "\"";
    const std::vector<std::string_view> known(tags.begin(), tags.end());
    if (const std::string hint = detail::did_you_mean(tag, known); !hint.empty()) message += "; " + hint;
    message += " (tags: " + listed(tags) + ")";
    out.push_back(std::move(message));
  }
  return out;
}

std::vector<float> VectorDatabase::get_vector(Id id) const { return impl_->index->get_vector(id); }

std::vector<Id> VectorDatabase::ids() const {
  Impl::Shared guard(impl_->lock);
  return impl_->store.ids();
}

}  // namespace imgvec
