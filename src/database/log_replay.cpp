#include "database/log_replay.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <system_error>

#include "imgvec/error.hpp"

namespace imgvec::detail {
namespace fs = std::filesystem;
namespace {

// Best effort: when the tail cannot be cut (a read-only folder), appends fail there as well.
void truncate_log(const std::string& path, std::uint64_t valid_bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  if (::ftruncate(fd, static_cast<off_t>(valid_bytes)) == 0) ::fdatasync(fd);
  ::close(fd);
}

}  // namespace

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
    // Read-only: the tail may be an entry the holder is writing now; it is left alone.
    if (log.dropped_bytes > 0 && !present.count(n + 1) && !impl.read_only) truncate_log(path, log.valid_bytes);
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

}  // namespace imgvec::detail
