#include "imgvec/metadata/metadata_store.hpp"

#include <algorithm>
#include <new>
#include <sstream>
#include <unordered_map>

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

#include "imgvec/error.hpp"
#include "io/checked_file.hpp"

CEREAL_CLASS_VERSION(imgvec::ImageRecord, 1)

namespace imgvec {

// cereal finds these by argument-dependent lookup. The record's version is the file's minor
// version's business: fields are only ever appended, read when the version says they exist.
template <class Archive>
void serialize(Archive& ar, ImageRecord& r, const std::uint32_t /*version*/) {
  auto format = static_cast<std::uint8_t>(r.format);
  ar(r.id, r.source, r.content_hash, r.file_size, r.mtime_ns, r.width, r.height, format, r.added_ms,
     r.metadata, r.tags);
  r.format = static_cast<ImageFormat>(format);
}

bool ImageRecord::operator==(const ImageRecord& o) const {
  return id == o.id && source == o.source && content_hash == o.content_hash && file_size == o.file_size &&
         mtime_ns == o.mtime_ns && width == o.width && height == o.height && format == o.format &&
         added_ms == o.added_ms && metadata == o.metadata && tags == o.tags;
}

namespace {
constexpr char kMagic[9] = "IMGVMETA";
constexpr std::uint16_t kMajor = 1, kMinor = 0;
}  // namespace

struct MetadataStore::Impl {
  std::unordered_map<Id, ImageRecord> records;
  std::unordered_map<std::string, Id> by_source;
  std::unordered_multimap<std::uint64_t, Id> by_hash;

  void unindex(const ImageRecord& r) {
    if (!r.source.empty()) {
      const auto it = by_source.find(r.source);
      if (it != by_source.end() && it->second == r.id) by_source.erase(it);
    }
    auto [lo, hi] = by_hash.equal_range(r.content_hash);
    for (auto it = lo; it != hi; ++it) {
      if (it->second == r.id) {
        by_hash.erase(it);
        break;
      }
    }
  }
  void index(const ImageRecord& r) {
    if (!r.source.empty()) by_source[r.source] = r.id;
    if (r.content_hash != 0) by_hash.emplace(r.content_hash, r.id);
  }
};

MetadataStore::MetadataStore() : impl_(std::make_unique<Impl>()) {}
MetadataStore::MetadataStore(MetadataStore&&) noexcept = default;
MetadataStore& MetadataStore::operator=(MetadataStore&&) noexcept = default;
MetadataStore::~MetadataStore() = default;

void MetadataStore::put(ImageRecord record) {
  const auto it = impl_->records.find(record.id);
  if (it != impl_->records.end()) impl_->unindex(it->second);
  impl_->index(record);
  impl_->records[record.id] = std::move(record);
}

const ImageRecord* MetadataStore::get(Id id) const {
  const auto it = impl_->records.find(id);
  return it == impl_->records.end() ? nullptr : &it->second;
}

bool MetadataStore::remove(Id id) {
  const auto it = impl_->records.find(id);
  if (it == impl_->records.end()) return false;
  impl_->unindex(it->second);
  impl_->records.erase(it);
  return true;
}

std::size_t MetadataStore::size() const { return impl_->records.size(); }

std::vector<Id> MetadataStore::ids() const {
  std::vector<Id> out;
  out.reserve(impl_->records.size());
  for (const auto& [id, r] : impl_->records) out.push_back(id);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<Id> MetadataStore::find_source(const std::string& source) const {
  const auto it = impl_->by_source.find(source);
  if (it == impl_->by_source.end()) return std::nullopt;
  return it->second;
}

std::vector<Id> MetadataStore::find_hash(std::uint64_t content_hash) const {
  std::vector<Id> out;
  auto [lo, hi] = impl_->by_hash.equal_range(content_hash);
  for (auto it = lo; it != hi; ++it) out.push_back(it->second);
  std::sort(out.begin(), out.end());
  return out;
}

void MetadataStore::save(const std::string& path) const {
  std::ostringstream buffer;
  {
    cereal::PortableBinaryOutputArchive ar(buffer);
    const std::uint64_t count = impl_->records.size();
    ar(count);
    for_each([&](const ImageRecord& r) { ar(r); });
  }
  detail::write_checked_file(path, kMagic, kMajor, kMinor, buffer.str());
}

MetadataStore MetadataStore::load(const std::string& path) {
  const std::string payload = detail::read_checked_file(path, kMagic, kMajor);
  MetadataStore store;
  try {
    std::istringstream in(payload);
    cereal::PortableBinaryInputArchive ar(in);
    std::uint64_t count = 0;
    ar(count);
    if (count > payload.size()) {
      throw Error(ErrorCode::corrupt_file, path + ": claims " + std::to_string(count) + " records in " +
                                               std::to_string(payload.size()) + " bytes");
    }
    for (std::uint64_t i = 0; i < count; ++i) {
      ImageRecord r;
      ar(r);
      if (store.contains(r.id)) {
        throw Error(ErrorCode::corrupt_file, path + ": id " + std::to_string(r.id) + " appears twice");
      }
      store.put(std::move(r));
    }
    if (in.peek() != std::char_traits<char>::eof()) {
      throw Error(ErrorCode::corrupt_file, path + ": bytes follow the last record");
    }
  } catch (const cereal::Exception& e) {
    throw Error(ErrorCode::corrupt_file, path + ": unreadable records (" + e.what() + ")");
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::corrupt_file, path + ": a record claims an impossible size");
  } catch (const std::length_error&) {
    throw Error(ErrorCode::corrupt_file, path + ": a record claims an impossible size");
  }
  return store;
}

}  // namespace imgvec
