// The database as a photo library: images in date order a page at a time, what it holds for a
// page's pickers, and the pairs a person said are not duplicates.
#include <algorithm>
#include <map>
#include <tuple>

#include "database/database_impl.hpp"
#include "database/write_transaction.hpp"
#include "imgvec/error.hpp"

namespace imgvec {
namespace {

constexpr const char* kNotDuplicates = "not_duplicates";

std::vector<FacetCount> most_common(const std::map<std::string, std::size_t>& counts) {
  std::vector<FacetCount> out;
  out.reserve(counts.size());
  for (const auto& [name, n] : counts) out.push_back({name, n});
  std::stable_sort(out.begin(), out.end(), [](const FacetCount& a, const FacetCount& b) { return a.count > b.count; });
  return out;
}

}  // namespace

ImageList VectorDatabase::list_images(const ListOptions& options) const {
  if (options.limit == 0) throw Error(ErrorCode::invalid_argument, "list_images: limit must be at least 1");
  // The sort keys of the matches, read under short shared locks as matching_ids reads them.
  struct Key {
    bool dated;
    std::int64_t taken, added;
    Id id;
  };
  const std::vector<Id> ids = impl_->matching_ids(options.where);
  std::vector<Key> keys;
  keys.reserve(ids.size());
  {
    Impl::Shared guard(impl_->lock);
    for (Id id : ids) {
      if (const ImageRecord* r = impl_->store.get(id))
        keys.push_back({r->photo.taken_ms.has_value(), r->photo.taken_ms.value_or(0), r->added_ms, id});
    }
  }
  const bool oldest = options.sort == SortOrder::oldest;
  const auto before = [&](const Key& a, const Key& b) {
    if (options.sort == SortOrder::score) return a.id < b.id;  // the order they were added
    if (a.dated != b.dated) return a.dated;                    // undated photos last
    if (a.dated && a.taken != b.taken) return oldest ? a.taken < b.taken : a.taken > b.taken;
    return std::tie(b.added, b.id) < std::tie(a.added, a.id);  // then the newest added first
  };
  ImageList out;
  out.total = keys.size();
  const std::size_t first = std::min(options.offset, keys.size());
  const std::size_t last = std::min(keys.size(), first + std::min(options.limit, keys.size() - first));
  std::partial_sort(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(last), keys.end(), before);
  Impl::Shared guard(impl_->lock);
  for (std::size_t i = first; i < last; ++i) {
    if (const ImageRecord* r = impl_->store.get(keys[i].id)) out.records.push_back(*r);  // removed meanwhile: left out
  }
  return out;
}

LibraryFacets VectorDatabase::facets() const {
  LibraryFacets f;
  std::map<std::string, std::size_t> cameras, labels, tags, colours;
  Impl::Shared guard(impl_->lock);
  impl_->store.for_each([&](const ImageRecord& r) {
    ++f.count;
    if (const auto& t = r.photo.taken_ms) {
      ++f.dated;
      f.first_taken_ms = std::min(f.first_taken_ms.value_or(*t), *t);
      f.last_taken_ms = std::max(f.last_taken_ms.value_or(*t), *t);
    }
    if (const std::string camera = r.photo.camera(); !camera.empty()) ++cameras[camera];
    for (const Label& l : r.labels) ++labels[l.name];
    for (const std::string& t : r.tags) ++tags[t];
    std::vector<std::string> names;  // an image counts once per colour name
    for (const DominantColour& c : r.analysis.colours) names.emplace_back(to_string(c.name));
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    for (const std::string& n : names) ++colours[n];
  });
  f.cameras = most_common(cameras);
  f.labels = most_common(labels);
  f.tags = most_common(tags);
  f.colours = most_common(colours);
  return f;
}

void VectorDatabase::mark_not_duplicates(const std::vector<Id>& ids) {
  std::vector<Id> unique = ids;
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  if (unique.size() < 2) throw Error(ErrorCode::invalid_argument, "mark_not_duplicates: give at least two images");
  detail::WriteTransaction tx(*impl_);
  for (Id id : unique) {
    if (!impl_->store.get(id)) throw Error(ErrorCode::not_found, "no image with id " + std::to_string(id));
  }
  for (Id id : unique) {
    ImageRecord r = *impl_->store.get(id);
    std::vector<std::string> others;
    if (const auto it = r.metadata.find(kNotDuplicates); it != r.metadata.end()) {
      if (const auto* list = std::get_if<std::vector<std::string>>(&it->second)) others = *list;
    }
    const std::size_t before = others.size();
    for (Id other : unique) {
      const std::string text = std::to_string(other);
      if (other != id && std::find(others.begin(), others.end(), text) == others.end()) others.push_back(text);
    }
    if (others.size() == before) continue;
    r.metadata[kNotDuplicates] = std::move(others);
    tx.put(std::move(r));
  }
  tx.commit();
}

bool detail::marked_not_duplicates(const ImageRecord& a, Id b) {
  const auto it = a.metadata.find(kNotDuplicates);
  if (it == a.metadata.end()) return false;
  const auto* list = std::get_if<std::vector<std::string>>(&it->second);
  return list && std::find(list->begin(), list->end(), std::to_string(b)) != list->end();
}

}  // namespace imgvec
