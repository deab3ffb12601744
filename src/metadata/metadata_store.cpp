#include "imgvec/metadata/metadata_store.hpp"

#include <algorithm>
#include <map>
#include <new>
#include <sstream>
#include <unordered_map>

#include "imgvec/error.hpp"
#include "io/checked_file.hpp"
#include "metadata/record_codec.hpp"

namespace imgvec {

bool ImageRecord::operator==(const ImageRecord& o) const {
  return id == o.id && source == o.source && content_hash == o.content_hash && file_size == o.file_size &&
         mtime_ns == o.mtime_ns && width == o.width && height == o.height && format == o.format &&
         added_ms == o.added_ms && metadata == o.metadata && tags == o.tags && photo == o.photo &&
         analysis == o.analysis && labels == o.labels && precision == o.precision;
}

namespace {
constexpr char kMagic[9] = "IMGVMETA";
// 2.0: records framed by their length, written by record_codec.cpp. 1.0 (cereal) is still read.
constexpr std::uint16_t kMajor = 2, kMinor = 5;  // 2.1: photo facts; 2.2: image analysis; 2.3: labels;
                                                // 2.4: sources under the database as "$DB/...";
                                                // 2.5: the precision that embedded it
}  // namespace

struct MetadataStore::Impl {
  std::unordered_map<Id, ImageRecord> records;
  std::unordered_map<std::string, Id> by_source;
  std::unordered_multimap<std::uint64_t, Id> by_hash;
  std::map<std::string, std::size_t> key_counts;  // user metadata keys, by how many records hold them
  std::map<std::string, std::size_t> tag_counts;  // tags, likewise
  std::size_t labelled = 0;                       // records with zero-shot labels

  static void drop(std::map<std::string, std::size_t>& counts, const std::string& key) {
    const auto it = counts.find(key);
    if (it != counts.end() && --it->second == 0) counts.erase(it);
  }

  void unindex(const ImageRecord& r) {
    for (const auto& [key, value] : r.metadata) drop(key_counts, key);
    for (const auto& tag : r.tags) drop(tag_counts, tag);
    labelled -= r.labels.empty() ? 0 : 1;
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
    for (const auto& [key, value] : r.metadata) ++key_counts[key];
    for (const auto& tag : r.tags) ++tag_counts[tag];
    labelled += r.labels.empty() ? 0 : 1;
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

std::vector<Id> MetadataStore::ids_unordered() const {
  std::vector<Id> out;
  out.reserve(impl_->records.size());
  for (const auto& [id, r] : impl_->records) out.push_back(id);
  return out;
}

std::vector<std::string> MetadataStore::metadata_keys() const {
  std::vector<std::string> out;
  out.reserve(impl_->key_counts.size());
  for (const auto& [key, count] : impl_->key_counts) out.push_back(key);
  return out;
}

std::vector<std::string> MetadataStore::tags() const {
  std::vector<std::string> out;
  out.reserve(impl_->tag_counts.size());
  for (const auto& [tag, count] : impl_->tag_counts) out.push_back(tag);
  return out;
}

std::size_t MetadataStore::labelled_count() const { return impl_->labelled; }

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

bool SourcePrefix::applies(const std::string& source, bool to_disk) const {
  const std::string& from = to_disk ? in_memory : on_disk;
  return !from.empty() && source.compare(0, from.size(), from) == 0;
}

std::string SourcePrefix::apply(const std::string& source, bool to_disk) const {
  if (!applies(source, to_disk)) return source;
  const std::string& from = to_disk ? in_memory : on_disk;
  return (to_disk ? on_disk : in_memory) + source.substr(from.size());
}

void MetadataStore::save(const std::string& path, const SourcePrefix* prefix) const {
  // Reads the records only: concurrent readers of the store are safe while it saves.
  std::string payload;
  const std::uint64_t count = impl_->records.size();
  payload.append(reinterpret_cast<const char*>(&count), sizeof count);
  for_each([&](const ImageRecord& r) {
    if (!prefix || !prefix->applies(r.source, true)) {
      detail::encode_record(payload, r);
      return;
    }
    ImageRecord moved = r;
    moved.source = prefix->apply(r.source, true);
    detail::encode_record(payload, moved);
  });
  detail::write_checked_file(path, kMagic, kMajor, kMinor, payload);
}

MetadataStore MetadataStore::load(const std::string& path, const SourcePrefix* prefix) {
  const detail::CheckedPayload file = detail::read_checked_file(path, kMagic, kMajor);
  detail::RecordReader in(file.bytes, path);
  const bool legacy = file.major == 1;
  // Format 1 was cereal's portable binary archive: an endianness byte (1: little), the count,
  // and the record type's version before the first record.
  if (legacy && in.u8() != 1) in.fail("records written big-endian");
  const std::uint64_t count = in.u64();
  if (count > in.remaining() / 8) {
    in.fail("claims " + std::to_string(count) + " records in " + std::to_string(file.bytes.size()) + " bytes");
  }
  if (legacy && count > 0 && in.u32() != 1) in.fail("unknown record version");
  MetadataStore store;
  for (std::uint64_t i = 0; i < count; ++i) {
    ImageRecord r = legacy ? in.legacy_record() : in.framed_record();
    if (store.contains(r.id)) in.fail("id " + std::to_string(r.id) + " appears twice");
    if (prefix) r.source = prefix->apply(r.source, false);
    store.put(std::move(r));
  }
  if (in.remaining() != 0) in.fail("bytes follow the last record");
  return store;
}

}  // namespace imgvec
