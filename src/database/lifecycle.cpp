// A database's life: create, open (the log replayed: log_replay.cpp), save, destroy.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <thread>

#include "database/database_impl.hpp"
#include "database/imported_files.hpp"
#include "database/log_replay.hpp"
#include "database/manifest.hpp"
#include "database/model_choice.hpp"
#include "imgvec/error.hpp"
#include "imgvec/index/flat_index.hpp"
#include "imgvec/path_text.hpp"

namespace imgvec {
namespace fs = std::filesystem;
namespace {

std::unique_ptr<Index> make_index(IndexKind kind, std::size_t dim, const HnswParams& hnsw) {
  if (kind == IndexKind::flat) return std::make_unique<FlatIndex>(dim, Metric::cosine);
  return std::make_unique<HnswIndex>(dim, Metric::cosine, hnsw);
}

// What the process holding <dir>/LOCK wrote there (describe_holder), for the message of a
// process that finds it locked: one short line, printable characters only.
std::string lock_holder(const std::string& dir) {
  char buf[512];
  const int fd = ::open((dir + "/LOCK").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  std::string text;
  for (ssize_t i = 0; i < n && buf[i] != '\n'; ++i) text += (buf[i] >= 32 && buf[i] < 127) ? buf[i] : '?';
  return text;
}

// One process per database: an exclusive flock on <dir>/LOCK, held while open. The holder's pid
// is written into it, and describe_holder() adds what it is. -1 when another process holds it
// and `or_none`; else that is an Error.
int lock_directory(const std::string& dir, bool or_none = false) {
  const std::string path = dir + "/LOCK";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(ErrorCode::io, path + ": cannot create the lock file: " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    if (or_none) return -1;
    const std::string holder = lock_holder(dir);
    throw Error(ErrorCode::io, dir + ": the database is open in another process" +
                                   (holder.empty() ? std::string() : " (" + holder + ")") +
                                   "; commands that only read work meanwhile (they open it read-only); stop that "
                                   "process to change it");
  }
  const std::string pid = "pid " + std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // Only a courtesy for the message above: the lock itself is what counts.
  }
  return fd;
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
  impl->make_text_cache();
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
  fs::remove(detail::text_cache_path(directory), ec);
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

// The saved generation the manifest names, and the changes logged since: what an open reads,
// with or without the lock.
static void load_state(VectorDatabase::Impl& impl, const OpenOptions& options,
                const std::function<void(VectorDatabase::Impl&)>& attach) {
  const std::string& directory = impl.dir;
  impl.files_prefix = detail::imported_files_prefix(directory);
  impl.manifest = detail::read_manifest(directory);
  attach(impl);
  const std::uint64_t g = impl.manifest.generation;
  const std::string index_file = detail::index_path(directory, g);
  impl.index = options.map_index ? Index::open_mapped(index_file, impl.encoder.dimension())
                                 : Index::load(index_file, impl.encoder.dimension());
  if (impl.index->kind() != impl.manifest.index_kind || impl.index->metric() != Metric::cosine) {
    throw Error(ErrorCode::corrupt_file, detail::index_path(directory, g) + ": not the index the manifest names");
  }
  const std::string records_file = detail::metadata_path(directory, g);
  impl.store = options.map_index ? MetadataStore::open_mapped(records_file, &impl.files_prefix)
                                 : MetadataStore::load(records_file, &impl.files_prefix);
  if (impl.index->ids() != impl.store.ids()) {
    throw Error(ErrorCode::corrupt_file, directory + ": generation " + std::to_string(g) +
                                             ": the index and the records hold different ids");
  }
  impl.failed = detail::load_failed_files(detail::failed_path(directory, g));
  impl.durability = options.durability;
  detail::replay_logs(impl, options.accept_log_damage);
}

// open() but for the encoder, which `attach` gives the database once its manifest is read (and
// before the log is replayed, whose entries are checked against the encoder's dimension).
std::unique_ptr<VectorDatabase> VectorDatabase::open_with(const std::string& directory, const OpenOptions& options,
                                                          const std::function<void(Impl&)>& attach) {
  if (!fs::is_directory(directory)) throw Error(ErrorCode::not_found, directory + ": no such directory");
  if (!exists(directory)) throw Error(ErrorCode::not_found, directory + ": no imgvec database here (no MANIFEST)");
  if (options.read_only) return open_read_only(directory, options, attach);
  auto impl = std::make_unique<Impl>();
  impl->dir = directory;
  impl->lock_fd = lock_directory(directory, options.read_only_if_held);
  if (impl->lock_fd < 0) return open_read_only(directory, options, attach);
  load_state(*impl, options, attach);
  impl->make_text_cache();
  detail::remove_leftovers(directory, impl->manifest.generation);
  detail::remove_logs_before(directory, impl->manifest.log_start);
  return std::unique_ptr<VectorDatabase>(new VectorDatabase(std::move(impl)));
}

// Without the lock, the holder may save meanwhile: its new manifest names new files and the old
// ones (or the logs they follow) are deleted under this reader, which then fails to find a file
// or finds the index and records of two generations. Read again from the new manifest, after a
// pause that grows (1 ms to 64 ms, about a second in all), so that a holder saving again and
// again (a test saves every few milliseconds; under ThreadSanitizer five quick tries all lost)
// lets one read through; after that the error stands.
std::unique_ptr<VectorDatabase> VectorDatabase::open_read_only(const std::string& directory,
                                                               const OpenOptions& options,
                                                               const std::function<void(Impl&)>& attach) {
  constexpr int kTries = 20;
  for (int attempt = 1;; ++attempt) {
    if (attempt > 1) std::this_thread::sleep_for(std::chrono::milliseconds(1 << std::min(attempt - 2, 6)));
    const std::uint64_t before = detail::read_manifest(directory).generation;
    try {
      auto impl = std::make_unique<Impl>();
      impl->dir = directory;
      impl->read_only = true;
      load_state(*impl, options, attach);
      impl->make_text_cache();
      return std::unique_ptr<VectorDatabase>(new VectorDatabase(std::move(impl)));
    } catch (const Error& e) {
      const bool saved_meanwhile = detail::read_manifest(directory).generation != before;
      if (!saved_meanwhile || attempt == kTries || e.code() == ErrorCode::incompatible) throw;
    }
  }
}

void VectorDatabase::describe_holder(const std::string& text) {
  impl_->refuse_if_read_only("describe its holder");
  std::string line = "pid " + std::to_string(::getpid()) + ": ";
  for (const char c : text.substr(0, 400)) line += (c >= 32 && c < 127) ? c : '?';
  line += "\n";
  if (::ftruncate(impl_->lock_fd, 0) != 0 || ::pwrite(impl_->lock_fd, line.data(), line.size(), 0) < 0) {
    throw Error(ErrorCode::io, impl_->dir + "/LOCK: cannot write: " + std::strerror(errno));
  }
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

// A new generation's index and records are written (each atomically) before the manifest
// switches to them; the previous generation's files are deleted only after the switch. A crash
// before the switch leaves the old manifest naming old, complete files; after, the new ones.
void VectorDatabase::save() {
  if (impl_->read_only) return;  // nothing to save: every change was refused
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
  impl_->text_cache->persist();
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

}  // namespace imgvec
