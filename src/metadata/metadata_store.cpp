#include "imgvec/metadata/metadata_store.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <new>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "imgvec/error.hpp"
#include "io/checked_file.hpp"
#include "io/mapped_file.hpp"
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
// 2.1: photo facts; 2.2: image analysis; 2.3: labels; 2.4: sources under the database as
// "$DB/..."; 2.5: the precision that embedded it. 3.0: a trailer after the records (the keys',
// tags', formats' and labels' counts and an id -> offset table), so that open_mapped reads no
// record.
constexpr std::uint16_t kMajor = 3, kMinor = 0;

using Counts = std::map<std::string, std::size_t>;

// The trailer of format 3 (docs/file-format.md, "Records payload").
struct Trailer {
  Counts keys, tags, formats;
  std::size_t labelled = 0;
  const char* table = nullptr;  // count entries of (id u64, frame offset u64), by ascending id
  std::size_t count = 0;
};
constexpr std::size_t kTableEntry = 16;

std::uint64_t table_u64(const char* at) {
  std::uint64_t v;
  std::memcpy(&v, at, sizeof v);
  return v;
}

// Reads the trailer that starts where the u64 at the payload's end says; every size is checked
// against the bytes left (the reader throws corrupt_file naming the path).
Trailer read_trailer(std::string_view payload, const std::string& path, std::uint64_t count) {
  detail::RecordReader end(payload, path);
  if (payload.size() < 8) end.fail("too short for the record table");
  const std::uint64_t start = table_u64(payload.data() + payload.size() - 8);
  if (start < 8 || start > payload.size() - 8) end.fail("the record table's position is outside the file");
  detail::RecordReader in(payload.substr(start, payload.size() - 8 - start), path);
  Trailer t;
  for (Counts* counts : {&t.keys, &t.tags, &t.formats}) {
    const std::uint64_t n = in.u64();
    if (n > in.remaining() / 16) in.fail("the record table claims " + std::to_string(n) + " names");
    for (std::uint64_t i = 0; i < n; ++i) {
      std::string name = in.string();
      (*counts)[std::move(name)] = in.u64();
    }
  }
  t.labelled = in.u64();
  if (in.remaining() != count * kTableEntry) in.fail("the record table does not hold one entry per record");
  t.count = count;
  t.table = payload.data() + payload.size() - 8 - count * kTableEntry;
  return t;
}

}  // namespace

struct MetadataStore::Impl {
  std::unordered_map<Id, ImageRecord> records;
  std::unordered_map<std::string, Id> by_source;
  std::unordered_multimap<std::uint64_t, Id> by_hash;
  std::map<std::string, std::size_t> key_counts;  // user metadata keys, by how many records hold them
  std::map<std::string, std::size_t> tag_counts;  // tags, likewise
  std::map<std::string, std::size_t> format_counts;  // image formats by name, likewise
  std::size_t labelled = 0;                       // records with zero-shot labels

  // A store opened mapped (open_mapped) reads its records from the file as they are asked for.
  // `records` then holds only what changed since the open; `replaced` the file's ids that a change
  // replaced or removed. Records read from the file are kept in `decoded` (readers may ask at the
  // same time: `mutex` guards it and the lookups, which are built on their first use).
  struct Mapped {
    detail::CheckedView file;
    std::string path;
    std::optional<SourcePrefix> prefix;
    Trailer trailer;
    std::unordered_set<Id> replaced;
    mutable std::mutex mutex;
    mutable std::unordered_map<Id, std::unique_ptr<ImageRecord>> decoded;
    mutable bool lookups_built = false;
  };
  std::unique_ptr<Mapped> mapped;

  static void drop(std::map<std::string, std::size_t>& counts, const std::string& key) {
    const auto it = counts.find(key);
    if (it != counts.end() && --it->second == 0) counts.erase(it);
  }

  bool lookups_live() const { return !mapped || mapped->lookups_built; }

  void unindex(const ImageRecord& r) {
    for (const auto& [key, value] : r.metadata) drop(key_counts, key);
    for (const auto& tag : r.tags) drop(tag_counts, tag);
    drop(format_counts, to_string(r.format));
    if (!r.labels.empty() && labelled > 0) --labelled;  // a mapped file's count is not checked
    if (!lookups_live()) return;
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
  void count(const ImageRecord& r) {
    for (const auto& [key, value] : r.metadata) ++key_counts[key];
    for (const auto& tag : r.tags) ++tag_counts[tag];
    ++format_counts[to_string(r.format)];
    labelled += r.labels.empty() ? 0 : 1;
  }
  void look_up(const ImageRecord& r) {
    if (!r.source.empty()) by_source[r.source] = r.id;
    if (r.content_hash != 0) by_hash.emplace(r.content_hash, r.id);
  }
  void index(const ImageRecord& r) {
    count(r);
    if (lookups_live()) look_up(r);
  }

  // The file's table entry of `id` (binary search), or null: also for an id a change replaced.
  const char* table_entry(Id id) const {
    const Trailer& t = mapped->trailer;
    std::size_t lo = 0, hi = t.count;
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      const Id at = table_u64(t.table + mid * kTableEntry);
      if (at < id) {
        lo = mid + 1;
      } else if (at > id) {
        hi = mid;
      } else {
        return t.table + mid * kTableEntry;
      }
    }
    return nullptr;
  }
  bool in_file(Id id) const { return mapped && !mapped->replaced.count(id) && table_entry(id); }

  // The file's record of `id`, read once and kept. Damage found here (an offset outside the
  // records, a record that does not read, another id than the table's) is Error(corrupt_file)
  // naming the file. The caller holds mapped->mutex.
  const ImageRecord* decode(Id id, const char* entry) const {
    auto& slot = mapped->decoded[id];
    if (slot) return slot.get();
    const std::string_view payload = mapped->file.bytes;
    const std::uint64_t at = table_u64(entry + 8);
    detail::RecordReader in(payload.substr(0, mapped->trailer.table - payload.data()), mapped->path);
    if (at < 8 || at >= in.remaining()) in.fail("the record table points id " + std::to_string(id) + " outside the records");
    detail::RecordReader frame(payload.substr(at, in.remaining() - at), mapped->path);
    auto r = std::make_unique<ImageRecord>(frame.framed_record());
    if (r->id != id) in.fail("the record table's entry for id " + std::to_string(id) + " holds id " + std::to_string(r->id));
    if (mapped->prefix) r->source = mapped->prefix->apply(r->source, false);
    slot = std::move(r);
    return slot.get();
  }

  const ImageRecord* get(Id id) const {
    if (const auto it = records.find(id); it != records.end()) return &it->second;
    if (!mapped || mapped->replaced.count(id)) return nullptr;
    const char* entry = table_entry(id);
    if (!entry) return nullptr;
    std::lock_guard<std::mutex> lock(mapped->mutex);
    return decode(id, entry);
  }

  // The lock under which a lookup by source or hash reads by_source and by_hash: a mapped store's
  // mutex, after the lookups are built (none for a store that was loaded).
  std::unique_lock<std::mutex> lookups_lock() const {
    if (!mapped) return {};
    std::unique_lock<std::mutex> lock(mapped->mutex);
    build_lookups();
    return lock;
  }

  // Everything the file holds, read (and the source and hash lookups built) the first time a
  // lookup is asked for. The caller holds mapped->mutex.
  void build_lookups() const {
    if (mapped->lookups_built) return;
    auto& self = const_cast<Impl&>(*this);
    const Trailer& t = mapped->trailer;
    for (std::size_t i = 0; i < t.count; ++i) {
      const Id id = table_u64(t.table + i * kTableEntry);
      if (!mapped->replaced.count(id)) self.look_up(*decode(id, t.table + i * kTableEntry));
    }
    for (const auto& [id, r] : records) self.look_up(r);
    mapped->lookups_built = true;
  }
};

MetadataStore::MetadataStore() : impl_(std::make_unique<Impl>()) {}
MetadataStore::MetadataStore(MetadataStore&&) noexcept = default;
MetadataStore& MetadataStore::operator=(MetadataStore&&) noexcept = default;
MetadataStore::~MetadataStore() = default;

void MetadataStore::put(ImageRecord record) {
  if (const ImageRecord* old = impl_->get(record.id)) impl_->unindex(*old);
  if (impl_->mapped) {
    std::lock_guard<std::mutex> lock(impl_->mapped->mutex);
    if (impl_->table_entry(record.id)) impl_->mapped->replaced.insert(record.id);
    impl_->mapped->decoded.erase(record.id);
  }
  impl_->index(record);
  impl_->records[record.id] = std::move(record);
}

const ImageRecord* MetadataStore::get(Id id) const { return impl_->get(id); }

bool MetadataStore::remove(Id id) {
  const ImageRecord* old = impl_->get(id);
  if (!old) return false;
  impl_->unindex(*old);
  if (impl_->mapped) {
    std::lock_guard<std::mutex> lock(impl_->mapped->mutex);
    if (impl_->table_entry(id)) impl_->mapped->replaced.insert(id);
    impl_->mapped->decoded.erase(id);
  }
  impl_->records.erase(id);
  return true;
}

std::size_t MetadataStore::size() const {
  const std::size_t from_file = impl_->mapped ? impl_->mapped->trailer.count - impl_->mapped->replaced.size() : 0;
  return impl_->records.size() + from_file;
}

std::vector<Id> MetadataStore::ids() const {
  std::vector<Id> out = ids_unordered();
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Id> MetadataStore::ids_unordered() const {
  std::vector<Id> out;
  out.reserve(size());
  if (const auto& m = impl_->mapped) {
    for (std::size_t i = 0; i < m->trailer.count; ++i) {
      const Id id = table_u64(m->trailer.table + i * kTableEntry);
      if (!m->replaced.count(id)) out.push_back(id);
    }
  }
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

std::map<std::string, std::size_t> MetadataStore::format_counts() const { return impl_->format_counts; }

std::optional<Id> MetadataStore::find_source(const std::string& source) const {
  const auto lock = impl_->lookups_lock();
  const auto it = impl_->by_source.find(source);
  if (it == impl_->by_source.end()) return std::nullopt;
  return it->second;
}

std::vector<Id> MetadataStore::find_hash(std::uint64_t content_hash) const {
  const auto lock = impl_->lookups_lock();
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
  // Reads the records only: concurrent readers of the store are safe while it saves. A mapped
  // store's file is checked whole first, so that damage is not saved under a fresh checksum.
  if (impl_->mapped && !impl_->mapped->file.intact()) {
    throw Error(ErrorCode::corrupt_file, impl_->mapped->path + ": the payload is damaged (checksum mismatch)");
  }
  std::string payload;
  const std::uint64_t count = size();
  payload.append(reinterpret_cast<const char*>(&count), sizeof count);
  std::string table;
  table.reserve(count * kTableEntry);
  // The trailer's counts come from the records written, not from the store's running counts: a
  // mapped file's were taken on trust.
  Impl counted;
  for_each([&](const ImageRecord& r) {
    counted.count(r);
    detail::put_scalar<std::uint64_t>(table, r.id);
    detail::put_scalar<std::uint64_t>(table, payload.size());
    if (!prefix || !prefix->applies(r.source, true)) {
      detail::encode_record(payload, r);
      return;
    }
    ImageRecord moved = r;
    moved.source = prefix->apply(r.source, true);
    detail::encode_record(payload, moved);
  });
  const std::uint64_t trailer = payload.size();
  for (const Counts* counts : {&counted.key_counts, &counted.tag_counts, &counted.format_counts}) {
    detail::put_scalar<std::uint64_t>(payload, counts->size());
    for (const auto& [name, n] : *counts) {
      detail::put_string(payload, name);
      detail::put_scalar<std::uint64_t>(payload, n);
    }
  }
  detail::put_scalar<std::uint64_t>(payload, counted.labelled);
  payload += table;
  detail::put_scalar<std::uint64_t>(payload, trailer);
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
  std::optional<Trailer> trailer;
  if (file.major >= 3) trailer = read_trailer(file.bytes, path, count);
  MetadataStore store;
  std::vector<std::pair<Id, std::uint64_t>> table;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t at = file.bytes.size() - in.remaining();
    ImageRecord r = legacy ? in.legacy_record() : in.framed_record();
    if (store.contains(r.id)) in.fail("id " + std::to_string(r.id) + " appears twice");
    if (prefix) r.source = prefix->apply(r.source, false);
    table.emplace_back(r.id, at);
    store.put(std::move(r));
  }
  if (trailer) {
    // The trailer repeats what the records say; a load checks that it says the same, so that a
    // mapped open of the file may trust it.
    std::sort(table.begin(), table.end());
    for (std::size_t i = 0; i < count; ++i) {
      const char* entry = trailer->table + i * kTableEntry;
      if (table_u64(entry) != table[i].first || table_u64(entry + 8) != table[i].second) {
        in.fail("the record table disagrees with the records at entry " + std::to_string(i));
      }
    }
    if (trailer->keys != store.impl_->key_counts || trailer->tags != store.impl_->tag_counts ||
        trailer->formats != store.impl_->format_counts || trailer->labelled != store.impl_->labelled) {
      in.fail("the record table's counts of keys, tags, formats or labels disagree with the records");
    }
    const std::uint64_t records_end = file.bytes.size() - in.remaining();
    if (records_end != table_u64(file.bytes.data() + file.bytes.size() - 8)) in.fail("bytes follow the last record");
  } else if (in.remaining() != 0) {
    in.fail("bytes follow the last record");
  }
  return store;
}

MetadataStore MetadataStore::open_mapped(const std::string& path, const SourcePrefix* prefix) {
  detail::CheckedView file = detail::map_checked_file(path, kMagic, kMajor);
  if (file.major < 3) return load(path, prefix);  // no table: read whole
  detail::RecordReader in(file.bytes, path);
  const std::uint64_t count = in.u64();
  if (count > in.remaining() / (8 + kTableEntry)) {
    in.fail("claims " + std::to_string(count) + " records in " + std::to_string(file.bytes.size()) + " bytes");
  }
  MetadataStore store;
  auto mapped = std::make_unique<Impl::Mapped>();
  mapped->trailer = read_trailer(file.bytes, path, count);
  mapped->file = std::move(file);
  mapped->path = path;
  if (prefix) mapped->prefix = *prefix;
  store.impl_->key_counts = mapped->trailer.keys;
  store.impl_->tag_counts = mapped->trailer.tags;
  store.impl_->format_counts = mapped->trailer.formats;
  store.impl_->labelled = mapped->trailer.labelled;
  store.impl_->mapped = std::move(mapped);
  return store;
}

}  // namespace imgvec
