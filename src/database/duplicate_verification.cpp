#include "database/duplicate_verification.hpp"

#include <algorithm>
#include <atomic>
#include <list>
#include <memory>
#include <set>
#include <unordered_map>

#define XXH_INLINE_ALL  // header-only, as in src/io/binary_io.hpp
#include <xxhash.h>

#include "imgvec/error.hpp"
#include "imgvec/image/image.hpp"
#include "imgvec/image/photo_match.hpp"
#include "parallel/parallel.hpp"

namespace imgvec::detail {
namespace {

// Features of at most this many images are kept (least recently used dropped first): about
// 210 KiB each, mostly the 480-pixel gray copy the block comparison needs, so about 55 MiB.
constexpr std::size_t kCachedImages = 256;

// match_photos works on a copy whose longer side is 480 pixels; a JPEG decoded in the DCT domain
// with its shorter side at least 360 has that for every aspect ratio up to 4:3, at 1/8 scale for a
// 12 MP photo (bench_decode: several times faster than a full decode).
constexpr std::uint32_t kDecodeMinSide = 360;

// work(i) for every i < n, on every core (the library's one thread team, parallel/parallel.hpp).
void each_in_parallel(std::size_t n, const std::function<void(std::size_t)>& work) {
  detail::parallel_for(n, detail::available_cores(), 1,
                       [&](std::size_t begin, std::size_t end, std::size_t) {
                         for (std::size_t i = begin; i < end; ++i) work(i);
                       });
}

// Nothing when the file cannot be verified: gone, changed, undecodable.
std::shared_ptr<const PhotoFeatures> features_of(const FileToVerify& file) {
  try {
    DecodeOptions options;
    options.min_side = kDecodeMinSide;
    const std::vector<std::uint8_t> bytes = read_image_file(file.path, options);
    if (XXH3_64bits(bytes.data(), bytes.size()) != file.content_hash) return nullptr;
    return std::make_shared<const PhotoFeatures>(photo_features(decode_image(bytes.data(), bytes.size(), file.path, options)));
  } catch (const Error&) {
    return nullptr;
  } catch (const std::bad_alloc&) {
    return nullptr;  // one huge image is not verified; the others still are
  }
}

class FeatureCache {
 public:
  bool has(Id id) const { return entries_.count(id) != 0; }
  const std::shared_ptr<const PhotoFeatures>& get(Id id) {
    auto& e = entries_.at(id);
    order_.splice(order_.begin(), order_, e.second);  // most recently used first
    return e.first;
  }
  void put(Id id, std::shared_ptr<const PhotoFeatures> f) {
    order_.push_front(id);
    entries_[id] = {std::move(f), order_.begin()};
    while (entries_.size() > kCachedImages) {
      entries_.erase(order_.back());
      order_.pop_back();
    }
  }

 private:
  std::list<Id> order_;
  std::unordered_map<Id, std::pair<std::shared_ptr<const PhotoFeatures>, std::list<Id>::iterator>> entries_;
};

}  // namespace

void verify_pairs(std::vector<PairToVerify> pairs, const std::map<Id, FileToVerify>& files,
                  const std::function<bool(Id, Id)>& joined, const std::function<void(Id, Id)>& join,
                  const std::function<void(std::size_t, std::size_t)>& progress) {
  if (!photo_matching_available() || pairs.empty()) return;
  // Most similar first: they are the likeliest copies, and once they join, the weaker pairs
  // between the same images need no verifying.
  std::stable_sort(pairs.begin(), pairs.end(), [](const PairToVerify& x, const PairToVerify& y) { return x.score > y.score; });
  // Rounds of a few pairs per core: enough to keep the cores busy, few enough that pairs joined
  // in one round spare the next their work.
  const std::size_t round = 8 * detail::available_cores();
  FeatureCache cache;
  std::size_t next = 0;
  while (next < pairs.size()) {
    std::vector<const PairToVerify*> batch;
    std::set<Id> ids;
    for (; next < pairs.size() && batch.size() < round; ++next) {
      const PairToVerify& p = pairs[next];
      if (joined(p.a, p.b)) continue;
      // Features of one round must fit the cache together.
      if (ids.size() + 2 > kCachedImages) break;
      batch.push_back(&p);
      ids.insert(p.a);
      ids.insert(p.b);
    }
    std::vector<Id> missing;
    for (Id id : ids) {
      if (cache.has(id)) {
        cache.get(id);  // most recent now, so adding the missing ones does not drop it
      } else {
        missing.push_back(id);
      }
    }
    std::vector<std::shared_ptr<const PhotoFeatures>> computed(missing.size());
    each_in_parallel(missing.size(), [&](std::size_t i) {
      const auto file = files.find(missing[i]);
      if (file != files.end()) computed[i] = features_of(file->second);
    });
    for (std::size_t i = 0; i < missing.size(); ++i) cache.put(missing[i], std::move(computed[i]));
    std::vector<std::pair<std::shared_ptr<const PhotoFeatures>, std::shared_ptr<const PhotoFeatures>>> work;
    for (const PairToVerify* p : batch) work.emplace_back(cache.get(p->a), cache.get(p->b));
    // Bytes, not vector<bool>'s shared bits: written from several threads.
    std::vector<char> same(batch.size(), 0);
    each_in_parallel(batch.size(), [&](std::size_t i) {
      if (work[i].first && work[i].second) same[i] = match_photos(*work[i].first, *work[i].second).same_photo ? 1 : 0;
    });
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (same[i]) join(batch[i]->a, batch[i]->b);
    }
    if (progress) progress(next, pairs.size());
  }
}

}  // namespace imgvec::detail
