#include "imgvec/database.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>
#include <shared_mutex>

#include "database/database_impl.hpp"
#include "text/near_names.hpp"
#include "database/imported_files.hpp"
#include "database/ingest.hpp"
#include "database/manifest.hpp"
#include "database/model_choice.hpp"
#include "metadata/glob.hpp"
#include "imgvec/detail/rw_lock.hpp"
#include "imgvec/error.hpp"
#include "imgvec/index/flat_index.hpp"
#include "imgvec/path_text.hpp"
#include "io/binary_io.hpp"

namespace imgvec {
namespace fs = std::filesystem;

const char* to_string(AddStatus status) {
  switch (status) {
    case AddStatus::added: return "added";
    case AddStatus::updated: return "updated";
    case AddStatus::unchanged: return "unchanged";
    case AddStatus::failed: return "failed";
    case AddStatus::renamed: return "renamed";
    case AddStatus::removed: return "removed";
    case AddStatus::interrupted: return "interrupted";
  }
  return "?";
}

namespace {




std::unique_ptr<Index> make_index(IndexKind kind, std::size_t dim, const HnswParams& hnsw) {
  if (kind == IndexKind::flat) return std::make_unique<FlatIndex>(dim, Metric::cosine);
  return std::make_unique<HnswIndex>(dim, Metric::cosine, hnsw);
}

// One process per database: an exclusive flock on <dir>/LOCK, held while open.
int lock_directory(const std::string& dir) {
  const std::string path = dir + "/LOCK";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(ErrorCode::io, path + ": cannot create the lock file: " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    throw Error(ErrorCode::io, dir + ": the database is open in another process");
  }
  return fd;
}

// Best effort: when the tail cannot be cut (a read-only folder), appends fail there as well.
void truncate_log(const std::string& path, std::uint64_t valid_bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  if (::ftruncate(fd, static_cast<off_t>(valid_bytes)) == 0) ::fdatasync(fd);
  ::close(fd);
}

// Applies the changes logged since the saved generation (log_start and each next log present),
// then points appends at the next log number. A damaged log, or a gap in the numbers, would drop
// acknowledged changes silently: refused, unless `accept_damage` (imgvec repair), which stops at
// the damage and numbers new logs past every log present, so the next save deletes them all.
void replay_logs(VectorDatabase::Impl& impl, bool accept_damage) {
  const auto dim = static_cast<std::uint32_t>(impl.encoder.dimension());
  std::map<std::uint64_t, std::uint64_t> present;  // number -> bytes
  {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(impl.dir, ec)) {
      const auto number = detail::log_number_of(entry.path().filename().string());
      if (number && entry.is_regular_file(ec)) present[*number] = entry.file_size(ec);
    }
  }
  std::uint64_t n = impl.manifest.log_start;
  bool stopped = false;
  for (; present.count(n); ++n) {
    const std::string path = detail::log_path(impl.dir, n);
    const detail::LogContents log =
        detail::read_log(path, dim, {n, impl.manifest.database_id, accept_damage});
    std::size_t k = 0;
    for (const detail::LogEntry& e : log.entries) {
      ++k;
      try {
        const Id id = e.record.id;
        if (id == 0 || id > kMaxId) throw Error(ErrorCode::corrupt_file, "id " + std::to_string(id));
        if (e.kind == detail::LogEntry::Kind::remove) {
          impl.store.remove(id);
          impl.index->remove(id);
          continue;
        }
        if (!e.vector.empty()) {
          impl.index->add(id, VectorView(e.vector.data(), e.vector.size()));
        } else if (!impl.index->contains(id)) {
          throw Error(ErrorCode::corrupt_file, "a record change for image " + std::to_string(id) + ", which has no vector");
        }
        ImageRecord record = e.record;
        record.source = impl.files_prefix.apply(record.source, false);
        impl.store.put(std::move(record));
        impl.manifest.next_id = std::max(impl.manifest.next_id, id + 1);
      } catch (const Error& err) {
        throw Error(ErrorCode::corrupt_file,
                    path + ": entry " + std::to_string(k) + " cannot be applied: " + err.what());
      }
    }
    impl.replayed += log.entries.size();
    impl.dropped_log_bytes += log.dropped_bytes;
    // A log is synced whole before the next one starts, so only the last can end short.
    const bool cut_before_next = log.dropped_bytes > 0 && present.count(n + 1);
    if (log.damaged || cut_before_next) {
      if (!accept_damage) {
        throw Error(ErrorCode::corrupt_file,
                    path + ": its last " + std::to_string(log.dropped_bytes) +
                        " bytes are damaged, yet log " + std::to_string(n + 1) +
                        " follows it: acknowledged changes would be lost silently, so the "
                        "database is not opened. Copy the folder somewhere safe; `imgvec repair "
                        "--db DIR` then keeps the changes before the damage and drops the rest");
      }
      stopped = true;
      break;
    }
    // The last log cut short by a crash: its torn tail was never acknowledged. It is cut off, so
    // that the logs appended after this open do not follow a log that looks damaged.
    if (log.dropped_bytes > 0 && !present.count(n + 1)) truncate_log(path, log.valid_bytes);
  }
  // Logs numbered past the last one replayed: a gap (a log deleted or lost), or what repair drops.
  const auto later = present.upper_bound(n);
  if (later != present.end()) {
    if (!stopped && !accept_damage) {
      throw Error(ErrorCode::corrupt_file,
                  detail::log_path(impl.dir, n) + " is missing, yet " +
                      detail::log_path(impl.dir, later->first) +
                      " exists: the changes logged in between are lost, and replaying the later "
                      "ones alone would be wrong, so the database is not opened. `imgvec repair "
                      "--db DIR` keeps the changes up to the gap and drops the later logs");
    }
    for (auto it = later; it != present.end(); ++it) impl.dropped_log_bytes += it->second;
  }
  // New logs start past every log that was not replayed whole, so the next save deletes them.
  if (stopped || later != present.end()) n = std::max(n, present.rbegin()->first) + 1;
  impl.changes = impl.replayed;
  if (impl.manifest.database_id == 0) impl.manifest.database_id = detail::make_database_id();
  impl.log = std::make_unique<detail::WriteAheadLog>(impl.dir, n, dim, impl.manifest.database_id);
}

}  // namespace


VectorDatabase::VectorDatabase(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VectorDatabase::~VectorDatabase() = default;

bool VectorDatabase::exists(const std::string& directory) {
  struct stat st {};
  return ::stat(detail::manifest_path(directory).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::unique_ptr<VectorDatabase> VectorDatabase::create(const std::string& directory,
                                                       std::shared_ptr<Encoder> encoder,
                                                       const DatabaseOptions& options) {
  if (!encoder) throw Error(ErrorCode::invalid_argument, "create: no encoder given");
  if (exists(directory)) {
    throw Error(ErrorCode::invalid_argument, directory + ": already holds an imgvec database; open it instead");
  }
  // A database folder is imgvec's alone: its cleanup may then delete the names it generates
  // without any risk of meeting a user's file of the same name. So create() takes a new or
  // empty folder only (the LOCK of an earlier create that failed is the one exception).
  std::error_code ec;
  if (fs::exists(directory, ec)) {
    if (!fs::is_directory(directory, ec)) throw Error(ErrorCode::invalid_argument, directory + ": not a directory");
    for (const auto& entry : fs::directory_iterator(directory, ec)) {
      if (entry.path().filename() == "LOCK") continue;
      throw Error(ErrorCode::invalid_argument,
                  directory + ": not empty (it holds " + escape_path(entry.path().filename().string()) +
                      "); imgvec creates a database only in a new or empty folder, never among other files: "
                      "name a subfolder such as " + directory + "/.imgvec");
    }
    if (ec) throw Error(ErrorCode::io, directory + ": cannot list the directory: " + ec.message());
  }
  fs::create_directories(directory, ec);
  if (ec) throw Error(ErrorCode::io, directory + ": cannot create the directory: " + ec.message());
  auto impl = std::make_unique<Impl>();
  impl->dir = directory;
  impl->files_prefix = detail::imported_files_prefix(directory);
  impl->lock_fd = lock_directory(directory);
  if (exists(directory)) {
    throw Error(ErrorCode::invalid_argument, directory + ": already holds an imgvec database; open it instead");
  }
  impl->encoder.hold(std::move(encoder));
  impl->durability = options.durability;
  impl->manifest.database_id = detail::make_database_id();
  impl->log = std::make_unique<detail::WriteAheadLog>(directory, 0, impl->encoder.dimension(),
                                                      impl->manifest.database_id);
  impl->index = make_index(options.index_kind, impl->encoder.dimension(), options.hnsw);
  impl->manifest.index_kind = options.index_kind;
  impl->manifest.encoder = impl->encoder.fingerprint();
  impl->manifest.created_ms = detail::now_ms();
  std::unique_ptr<VectorDatabase> db(new VectorDatabase(std::move(impl)));
  db->save();
  return db;
}

void VectorDatabase::destroy(const std::string& directory) {
  if (!exists(directory)) throw Error(ErrorCode::not_found, directory + ": no imgvec database here (no MANIFEST)");
  const int lock = lock_directory(directory);  // refuses a database that is open
  const std::uint64_t g = detail::read_manifest(directory).generation;
  detail::remove_leftovers(directory, g);
  detail::remove_logs_before(directory, UINT64_MAX);
  detail::remove_unused_files(directory, [](const std::string&) { return false; });
  std::error_code ec;
  fs::remove(detail::files_directory(directory), ec);  // only if now empty
  for (const auto& path : {detail::index_path(directory, g), detail::metadata_path(directory, g),
                           detail::failed_path(directory, g), detail::manifest_path(directory)}) {
    fs::remove(path, ec);
  }
  fs::remove(detail::model_bundle_path(directory), ec);
  fs::remove(directory + "/LOCK", ec);
  ::close(lock);
  fs::remove(directory, ec);  // only if now empty
}

std::unique_ptr<VectorDatabase> VectorDatabase::open_or_create(const std::string& directory,
                                                               std::shared_ptr<Encoder> encoder,
                                                               const DatabaseOptions& options) {
  if (exists(directory)) return open(directory, std::move(encoder), OpenOptions{options.durability});
  return create(directory, std::move(encoder), options);
}

// open() but for the encoder, which `attach` gives the database once its manifest is read (and
// before the log is replayed, whose entries are checked against the encoder's dimension).
std::unique_ptr<VectorDatabase> VectorDatabase::open_with(const std::string& directory, const OpenOptions& options,
                                                          const std::function<void(Impl&)>& attach) {
  if (!fs::is_directory(directory)) throw Error(ErrorCode::not_found, directory + ": no such directory");
  auto impl = std::make_unique<Impl>();
  impl->dir = directory;
  impl->files_prefix = detail::imported_files_prefix(directory);
  if (!exists(directory)) throw Error(ErrorCode::not_found, directory + ": no imgvec database here (no MANIFEST)");
  impl->lock_fd = lock_directory(directory);
  impl->manifest = detail::read_manifest(directory);
  attach(*impl);
  const std::uint64_t g = impl->manifest.generation;
  impl->index = Index::load(detail::index_path(directory, g), impl->encoder.dimension());
  if (impl->index->kind() != impl->manifest.index_kind || impl->index->metric() != Metric::cosine) {
    throw Error(ErrorCode::corrupt_file, detail::index_path(directory, g) + ": not the index the manifest names");
  }
  impl->store = MetadataStore::load(detail::metadata_path(directory, g), &impl->files_prefix);
  if (impl->index->ids() != impl->store.ids()) {
    throw Error(ErrorCode::corrupt_file, directory + ": generation " + std::to_string(g) +
                                             ": the index and the records hold different ids");
  }
  impl->failed = detail::load_failed_files(detail::failed_path(directory, g));
  impl->durability = options.durability;
  replay_logs(*impl, options.accept_log_damage);
  detail::remove_leftovers(directory, g);
  detail::remove_logs_before(directory, impl->manifest.log_start);
  return std::unique_ptr<VectorDatabase>(new VectorDatabase(std::move(impl)));
}

std::unique_ptr<VectorDatabase> VectorDatabase::open(const std::string& directory, std::shared_ptr<Encoder> encoder,
                                                     const OpenOptions& options) {
  if (!encoder) throw Error(ErrorCode::invalid_argument, "open: no encoder given");
  return open_with(directory, options, [&](Impl& impl) {
    const EncoderFingerprint& have = impl.manifest.encoder;
    if (have != encoder->fingerprint()) {
      throw Error(ErrorCode::incompatible,
                  directory + ": built with encoder [" + have.to_string() + "], but the given encoder is [" +
                      encoder->fingerprint().to_string() + "]; open it with the encoder it was built with");
    }
    impl.encoder.hold(std::move(encoder));
  });
}

std::unique_ptr<VectorDatabase> VectorDatabase::open(const std::string& directory, const OpenOptions& options,
                                                     const ModelChoice& model) {
  return open_with(directory, options, [&](Impl& impl) { detail::choose_encoder(impl, model); });
}

Id VectorDatabase::add_image(const std::string& path, const Metadata& metadata, const std::vector<std::string>& tags) {
  // Given metadata or tags replace the old ones; none given keeps them. Either way they are
  // applied in the same write-locked step that stores the image.
  AddInputs in;
  const std::vector<Metadata> m{metadata};
  const std::vector<std::vector<std::string>> t{tags};
  if (!metadata.empty()) in.metadata = &m;
  if (!tags.empty()) in.tags = &t;
  const AddResult r = add_paths({path}, in).front();
  if (r.status == AddStatus::failed) throw Error(r.code, r.error);
  return r.id;
}

Id VectorDatabase::add_image_bytes(const void* data, std::size_t size, const std::string& name,
                                   const Metadata& metadata, const std::vector<std::string>& tags) {
  const Image image = decode_image(data, size, name, impl_->encoder.get().decode_options());
  detail::IngestedImage e;
  e.embedding.vector = impl_->encoder.get().embed_image(image);
  e.embedding.width = image.file_width();
  e.embedding.height = image.file_height();
  e.embedding.format = image.format;
  e.photo = read_photo_facts(data, size);
  e.analysis = analyze_image(image);
  const std::uint64_t hash = XXH3_64bits(data, size);
  // No source path: the name goes into the metadata, so it can never pass for a file's path.
  Metadata m = metadata;
  if (!name.empty()) m.emplace("name", name);
  Id id = 0;
  std::uint64_t logged = 0;
  {
    std::lock_guard<detail::RwLock> guard(impl_->lock);
    id = impl_->insert("", nullptr, hash, e, &m, &tags).id;
    logged = impl_->logged;
  }
  impl_->sync_log(logged);
  return id;
}

std::vector<AddResult> VectorDatabase::add_images_batch(const std::vector<std::string>& paths,
                                                        const std::vector<Metadata>& metadata,
                                                        const std::function<void(std::size_t, std::size_t)>& progress) {
  AddInputs in;
  if (!metadata.empty()) in.metadata = &metadata;
  in.progress = &progress;
  return add_paths(paths, in);
}

namespace {

// Bytes of new files held between their one read (which hashes them) and their one decode: at
// most this many at a time, so a chunk of large photos does not hold them all in memory.
constexpr std::size_t kHeldBytes = std::size_t{256} << 20;

}  // namespace

// Each new or changed file is read once: its bytes are hashed (for renames and the record), then
// decoded once by the ingest stage, which also reads its photo facts and analyses its pixels.
std::vector<AddResult> VectorDatabase::add_paths(const std::vector<std::string>& paths, const AddInputs& in) {
  if (in.chunk == 0) throw Error(ErrorCode::invalid_argument, "index_directory: chunk must be at least 1");
  if (in.metadata && in.metadata->size() != paths.size()) {
    throw Error(ErrorCode::invalid_argument, "add_images_batch: " + std::to_string(in.metadata->size()) +
                                                 " metadata entries for " + std::to_string(paths.size()) + " paths");
  }
  if (in.held_data && paths.size() != 1) throw Error(ErrorCode::invalid_argument, "add_paths: held bytes for one path only");
  const auto* progress = in.progress && *in.progress ? in.progress : nullptr;
  const auto cancelled = [&] { return in.cancelled && (*in.cancelled)(); };
  std::vector<AddResult> results(paths.size());
  std::size_t done = 0;
  for (std::size_t first = 0; first < paths.size(); first += in.chunk) {
    if (cancelled()) break;
    const std::size_t end = std::min(paths.size(), first + in.chunk);
    auto metadata_of = [&](std::size_t i) { return in.metadata ? &(*in.metadata)[i] : nullptr; };
    auto tags_of = [&](std::size_t i) { return in.tags ? &(*in.tags)[i] : nullptr; };
    std::vector<detail::FileFacts> facts(end - first);
    std::vector<std::uint64_t> hashes(end - first);
    bool changed = false;
    std::size_t settled = 0;  // files of this chunk with their outcome, for progress

    // New and changed files wait here, bytes held, until the group is embedded and stored.
    std::vector<std::size_t> group;
    std::vector<detail::HeldImage> held;
    std::size_t held_bytes = 0;
    auto store_group = [&] {
      if (group.empty()) return;
      EmbedFilesOptions options;
      options.decode = in.limits;
      if (in.cancelled) options.cancel = *in.cancelled;  // stops between batches
      if (progress) options.progress = [&](std::size_t d, std::size_t) { (*progress)(done + settled + d, paths.size()); };
      const std::vector<detail::IngestedImage> ingested = detail::ingest_images(impl_->encoder.get(), held, options);
      std::uint64_t logged = 0;
      {
        std::lock_guard<detail::RwLock> guard(impl_->lock);
        for (std::size_t g = 0; g < group.size(); ++g) {
          const std::size_t i = group[g];
          const ImageEmbedding& e = ingested[g].embedding;
          if (e.cancelled) {
            results[i].status = AddStatus::interrupted;
            continue;
          }
          if (!e.ok()) {
            results[i].code = e.code;
            results[i].error = e.error;
            if (in.remember_failures && detail::lasting_failure(e.code)) {
              impl_->failed[paths[i]] = {facts[i - first].size, facts[i - first].mtime_ns, e.code, e.error};
              changed = true;
            }
            continue;
          }
          results[i] = impl_->insert(paths[i], &facts[i - first], hashes[i - first], ingested[g], metadata_of(i),
                                     tags_of(i));
          changed = true;
        }
        logged = impl_->logged;
      }
      impl_->sync_log(logged);
      settled += group.size();
      group.clear();
      held.clear();
      held_bytes = 0;
    };

    for (std::size_t i = first; i < end; ++i) {
      AddResult& r = results[i];
      r.source = paths[i];
      if (cancelled()) {  // Ctrl-C: the files not yet read are left for the next run
        r.status = AddStatus::interrupted;
        ++settled;
        continue;
      }
      try {
        facts[i - first] = detail::stat_file(paths[i]);
        {
          Impl::Shared guard(impl_->lock);
          if (in.remember_failures) {
            const auto f = impl_->failed.find(paths[i]);
            if (f != impl_->failed.end() && f->second.size == facts[i - first].size &&
                f->second.mtime_ns == facts[i - first].mtime_ns) {
              r.code = f->second.code;
              r.error = f->second.error;
              r.remembered = true;
              ++settled;
              continue;
            }
          }
          // Unchanged files (same path, size and modification time) are not read at all.
          const auto id = impl_->store.find_source(paths[i]);
          const ImageRecord* rec = id ? impl_->store.get(*id) : nullptr;
          if (rec && rec->file_size == facts[i - first].size && rec->mtime_ns == facts[i - first].mtime_ns) {
            r.status = AddStatus::unchanged;
            r.id = *id;
            ++settled;
            continue;
          }
        }
        detail::HeldImage image;
        image.name = paths[i];
        if (in.held_data) {
          image.data = static_cast<const std::uint8_t*>(in.held_data);
          image.size = in.held_size;
        } else {
          image.hold(read_image_file(paths[i], in.limits));
        }
        hashes[i - first] = XXH3_64bits(image.data, image.size);
        if (in.detect_renames &&
            impl_->move_record(paths[i], facts[i - first], hashes[i - first], metadata_of(i), tags_of(i), r)) {
          changed = true;
          ++settled;
          continue;
        }
        held_bytes += image.size;
        held.push_back(std::move(image));
        group.push_back(i);
        if (held_bytes >= kHeldBytes) store_group();
      } catch (const Error& e) {
        r.code = e.code();
        r.error = e.what();
        ++settled;
      }
    }
    store_group();
    std::uint64_t logged = 0;
    {
      std::lock_guard<detail::RwLock> guard(impl_->lock);
      // A file that now indexes (fixed, or replaced) is no longer a failure.
      for (std::size_t i = first; i < end; ++i) {
        const AddStatus st = results[i].status;
        if (st != AddStatus::failed && st != AddStatus::interrupted && impl_->failed.erase(paths[i])) changed = true;
      }
      // Unchanged files take the metadata and tags they were given too, in this same step.
      for (std::size_t i = first; i < end; ++i) {
        AddResult& r = results[i];
        if (r.status != AddStatus::unchanged || (!metadata_of(i) && !tags_of(i))) continue;
        const ImageRecord* rec = impl_->store.get(r.id);
        if (!rec || rec->source != paths[i]) {
          r.status = AddStatus::failed;
          r.code = ErrorCode::not_found;
          r.error = paths[i] + ": removed while being added";
          continue;
        }
        changed = impl_->apply_metadata(*rec, metadata_of(i), tags_of(i)) || changed;
      }
      logged = impl_->logged;
    }
    impl_->sync_log(logged);
    done = end;
    if (in.checkpoint && changed) save();
    if (progress) (*progress)(done, paths.size());
  }
  for (std::size_t i = done; i < paths.size(); ++i) {
    results[i].source = paths[i];
    results[i].status = AddStatus::interrupted;
  }
  return results;
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

std::vector<SearchResult> VectorDatabase::search_by_text(const std::string& text, const SearchOptions& options) const {
  const auto v = impl_->encoder.get().embed_text(text);
  return impl_->search(VectorView(v.data(), v.size()), options);
}

std::vector<SearchResult> VectorDatabase::search_by_colour(const std::vector<Rgb>& colours,
                                                          const SearchOptions& options) const {
  return impl_->search_colours(colours, options);
}

std::vector<float> VectorDatabase::embed_text(const std::string& text) const {
  return impl_->encoder.get().embed_text(text);
}

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
  const std::vector<std::string> keys = where.matches_all() ? std::vector<std::string>() : metadata_keys();
  for (const std::string& key : where.keys()) {
    const bool meta = key.rfind("meta.", 0) == 0;
    const std::string bare = meta ? key.substr(5) : key;
    if ((!meta && Where::is_record_field(key)) || std::binary_search(keys.begin(), keys.end(), bare)) continue;
    std::vector<std::string_view> known(keys.begin(), keys.end());
    if (!meta) {
      for (const char* f : {"width", "height", "format", "source", "camera", "lens", "taken", "colour", "label", "tone"})
        known.emplace_back(f);
    }
    std::string message = "no image has the key \"" + key + "\"";
    if (const std::string hint = detail::did_you_mean(bare, known); !hint.empty()) message += "; " + hint;
    std::string listed;
    for (std::size_t i = 0; i < keys.size() && i < 20; ++i) listed += (i ? ", " : "") + keys[i];
    if (keys.size() > 20) listed += ", ... (" + std::to_string(keys.size()) + " in all)";
    message += " (metadata keys: " + (keys.empty() ? std::string("none") : listed) + ")";
    out.push_back(std::move(message));
  }
  return out;
}

std::vector<float> VectorDatabase::get_vector(Id id) const { return impl_->index->get_vector(id); }


std::vector<Id> VectorDatabase::ids() const {
  Impl::Shared guard(impl_->lock);
  return impl_->store.ids();
}

bool VectorDatabase::remove(Id id) {
  std::uint64_t logged = 0;
  {
    std::lock_guard<detail::RwLock> guard(impl_->lock);
    if (!impl_->store.get(id)) return false;
    impl_->log_remove(id);
    impl_->store.remove(id);
    impl_->index->remove(id);
    logged = impl_->logged;
  }
  impl_->sync_log(logged);
  return true;
}

void VectorDatabase::update_metadata(Id id, const Metadata& metadata, const std::vector<std::string>* tags) {
  std::uint64_t logged = 0;
  {
    std::lock_guard<detail::RwLock> guard(impl_->lock);
    const ImageRecord* r = impl_->store.get(id);
    if (!r) throw Error(ErrorCode::not_found, "update_metadata: no image with id " + std::to_string(id));
    ImageRecord copy = *r;
    copy.metadata = metadata;
    if (tags) copy.tags = *tags;
    impl_->log_put(copy, nullptr);
    impl_->store.put(std::move(copy));
    logged = impl_->logged;
  }
  impl_->sync_log(logged);
}

ImageRecord VectorDatabase::patch_metadata(Id id, const Metadata& set, const std::vector<std::string>& unset,
                                           const std::vector<std::string>* tags) {
  std::uint64_t logged = 0;
  ImageRecord copy;
  {
    std::lock_guard<detail::RwLock> guard(impl_->lock);
    const ImageRecord* r = impl_->store.get(id);
    if (!r) throw Error(ErrorCode::not_found, "patch_metadata: no image with id " + std::to_string(id));
    copy = *r;
    for (const auto& key : unset) copy.metadata.erase(key);
    for (const auto& [key, value] : set) copy.metadata[key] = value;
    if (tags) copy.tags = *tags;
    impl_->log_put(copy, nullptr);
    impl_->store.put(copy);
    logged = impl_->logged;
  }
  impl_->sync_log(logged);
  return copy;
}

DatabaseStats VectorDatabase::get_stats() const {
  Impl::Shared guard(impl_->lock);
  DatabaseStats s;
  s.directory = impl_->dir;
  s.count = impl_->store.size();
  s.dimension = impl_->encoder.dimension();
  s.encoder = impl_->encoder.fingerprint();
  s.index_kind = impl_->index->kind();
  s.storage = impl_->index->storage();
  s.memory_bytes = impl_->index->memory_bytes() + impl_->store.size() * sizeof(ImageRecord);
  s.generation = impl_->manifest.generation;
  s.unsaved_changes = impl_->changes - impl_->changes_at_save;
  s.log_bytes = impl_->log->pending_bytes();
  s.log_syncs = impl_->log->syncs();
  s.replayed_changes = impl_->replayed;
  s.dropped_log_bytes = impl_->dropped_log_bytes;
  impl_->store.for_each([&](const ImageRecord& r) { ++s.formats[to_string(r.format)]; });
  s.decodable_formats = supported_image_formats();
  for (const auto& f : {detail::manifest_path(impl_->dir), detail::index_path(impl_->dir, s.generation),
                        detail::metadata_path(impl_->dir, s.generation)}) {
    std::error_code ec;
    const auto n = fs::file_size(f, ec);
    if (!ec) s.disk_bytes += n;
  }
  return s;
}

std::size_t VectorDatabase::unsaved_changes() const {
  Impl::Shared guard(impl_->lock);
  return impl_->changes - impl_->changes_at_save;
}

std::size_t VectorDatabase::size() const {
  Impl::Shared guard(impl_->lock);
  return impl_->store.size();
}
std::size_t VectorDatabase::dimension() const { return impl_->encoder.dimension(); }
const std::string& VectorDatabase::directory() const { return impl_->dir; }
const Encoder& VectorDatabase::encoder() const { return impl_->encoder.get(); }
std::shared_ptr<Encoder> VectorDatabase::shared_encoder() const { return impl_->encoder.shared(); }
const EncoderFingerprint& VectorDatabase::encoder_fingerprint() const { return impl_->encoder.fingerprint(); }
bool VectorDatabase::encoder_loaded() const { return impl_->encoder.loaded(); }

// A new generation's index and records are written (each atomically) before the manifest
// switches to them; the previous generation's files are deleted only after the switch. A crash
// before the switch leaves the old manifest naming old, complete files; after, the new ones.
void VectorDatabase::save() {
  std::lock_guard<std::mutex> saving(impl_->save_mutex);
  detail::Manifest next;
  std::uint64_t changes_in_snapshot = 0;
  {
    Impl::Shared guard(impl_->lock);  // adds wait; searches go on
    next = impl_->manifest;
    next.generation = impl_->manifest.generation + 1;
    // Writers are held off (this shared lock), so the log ends exactly at this snapshot: the
    // changes after it go to the next log, which the new manifest names as the first to replay.
    next.log_start = impl_->log->rotate();
    changes_in_snapshot = impl_->changes;
    impl_->index->save(detail::index_path(impl_->dir, next.generation));
    impl_->store.save(detail::metadata_path(impl_->dir, next.generation), &impl_->files_prefix);
    detail::save_failed_files(detail::failed_path(impl_->dir, next.generation), impl_->failed);
  }
  detail::write_manifest(impl_->dir, next);
  const std::uint64_t old = impl_->manifest.generation;
  {
    std::lock_guard<detail::RwLock> guard(impl_->lock);
    impl_->manifest.generation = next.generation;
    impl_->manifest.log_start = next.log_start;
  }
  impl_->changes_at_save = changes_in_snapshot;
  impl_->log->saved();
  detail::remove_logs_before(impl_->dir, next.log_start);
  // Imported files of removed images go now that a save no longer names them. Records hold them
  // under the folder the database was opened from, wherever it has moved since.
  {
    std::lock_guard<std::shared_mutex> files(impl_->files_mutex);
    Impl::Shared guard(impl_->lock);
    detail::remove_unused_files(impl_->dir, [&](const std::string& path) {
      if (impl_->store.find_source(path)) return true;
      // A name from before 0.3 is the XXH3-64 of the bytes, as the record's content hash: kept
      // while a record has those bytes, as then, for records that still hold the old folder.
      const std::string name = path.substr(path.rfind('/') + 1);
      return name.find('.') == 16 &&
             !impl_->store.find_hash(std::strtoull(name.substr(0, 16).c_str(), nullptr, 16)).empty();
    });
  }
  if (old != next.generation) {
    std::error_code ec;
    fs::remove(detail::index_path(impl_->dir, old), ec);
    fs::remove(detail::metadata_path(impl_->dir, old), ec);
    fs::remove(detail::failed_path(impl_->dir, old), ec);
  }
}

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

IndexDirectoryReport VectorDatabase::index_directory(const std::string& dir, const IndexDirectoryOptions& o) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(ErrorCode::not_found, dir + ": no such directory");
  const fs::path root = fs::absolute(dir).lexically_normal();
  for (const auto& pattern : o.exclude) detail::check_glob(pattern, "exclude pattern \"" + pattern.substr(0, 40) + "\"");
  std::vector<std::string> paths;
  IndexDirectoryReport report;
  auto consider = [&](const fs::directory_entry& entry) {
    if (!entry.is_regular_file(ec)) return;
    const fs::path& p = entry.path();
    const std::string rel = p.lexically_relative(root).string();
    for (const auto& pattern : o.exclude) {
      if (detail::glob_match(pattern, rel, /*ignore_case=*/false)) {
        ++report.excluded;
        return;
      }
    }
    if (!o.extensions.empty()) {
      const std::string ext = lower(p.extension().string());
      const std::string bare = ext.empty() ? ext : ext.substr(1);
      if (bare.empty() || std::find(o.extensions.begin(), o.extensions.end(), bare) == o.extensions.end()) {
        ++report.skipped;
        ++report.skipped_extensions[bare];
        return;
      }
    }
    paths.push_back(p.string());
  };
  const auto options = fs::directory_options::skip_permission_denied;
  if (o.recursive) {
    // The database's own folder may sit inside the one indexed (PHOTOS/.imgvec): not walked.
    const fs::path own = fs::weakly_canonical(impl_->dir, ec);
    fs::recursive_directory_iterator it(root, options, ec), end;
    for (; it != end; it.increment(ec)) {
      std::error_code same;
      if (it->is_directory(same) && fs::equivalent(it->path(), own, same)) {
        it.disable_recursion_pending();
        continue;
      }
      consider(*it);
    }
  } else {
    for (const auto& e : fs::directory_iterator(root, options, ec)) consider(e);
  }
  std::sort(paths.begin(), paths.end());

  std::vector<Metadata> metadata;
  if (o.metadata) {
    metadata.reserve(paths.size());
    for (const auto& p : paths) metadata.push_back(o.metadata(p));
  }
  AddInputs in;
  if (o.metadata) in.metadata = &metadata;
  in.progress = &o.progress;
  if (o.cancel) in.cancelled = &o.cancel;
  in.checkpoint = o.checkpoint;
  in.chunk = o.chunk;
  in.remember_failures = true;
  const std::vector<AddResult> results = add_paths(paths, in);
  if (o.refresh) {
    std::vector<Id> unchanged;
    for (const AddResult& r : results) {
      if (r.status == AddStatus::unchanged) unchanged.push_back(r.id);
    }
    report.refreshed = refresh_photo_facts(unchanged);
    if (report.refreshed > 0 && o.checkpoint) save();
  } else {
    Impl::Shared guard(impl_->lock);
    for (const AddResult& r : results) {
      const ImageRecord* rec = r.status == AddStatus::unchanged ? impl_->store.get(r.id) : nullptr;
      report.without_facts += rec && !rec->analysis.analysed();
    }
  }
  for (const AddResult& r : results) {
    switch (r.status) {
      case AddStatus::added: ++report.added; break;
      case AddStatus::updated: ++report.updated; break;
      case AddStatus::unchanged: ++report.unchanged; break;
      case AddStatus::renamed: ++report.renamed; break;
      case AddStatus::removed: break;
      case AddStatus::interrupted: report.interrupted = true; break;
      case AddStatus::failed:
        ++report.failed;
        report.failed_unchanged += r.remembered ? 1 : 0;
        report.failures.push_back(r);
        break;
    }
  }
  if (report.interrupted) return report;
  // Failures of files that are gone are forgotten.
  bool forgot = false;
  {
    const std::string prefix = root.string() + "/";
    std::lock_guard<detail::RwLock> guard(impl_->lock);
    for (auto it = impl_->failed.begin(); it != impl_->failed.end();) {
      struct stat st {};
      const bool gone = it->first.rfind(prefix, 0) == 0 && ::stat(it->first.c_str(), &st) != 0;
      it = gone ? impl_->failed.erase(it) : std::next(it);
      forgot = forgot || gone;
    }
  }
  if (forgot && o.checkpoint) save();
  // Records of files under this directory that are gone: removed on request, else counted.
  {
    const std::string prefix = root.string() + "/";
    Impl::Shared guard(impl_->lock);
    impl_->store.for_each([&](const ImageRecord& r) {
      struct stat st {};
      if (r.source.rfind(prefix, 0) == 0 && ::stat(r.source.c_str(), &st) != 0) ++report.vanished;
    });
  }
  if (o.remove_missing) {
    const std::string prefix = root.string() + "/";
    std::vector<Id> gone;
    {
      Impl::Shared guard(impl_->lock);
      impl_->store.for_each([&](const ImageRecord& r) {
        struct stat st {};
        if (r.source.rfind(prefix, 0) == 0 && ::stat(r.source.c_str(), &st) != 0) gone.push_back(r.id);
      });
    }
    for (Id id : gone) report.removed += remove(id);
    report.vanished -= std::min(report.vanished, report.removed);
    if (o.checkpoint && !gone.empty()) save();
  }
  return report;
}

}  // namespace imgvec
