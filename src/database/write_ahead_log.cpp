#include "database/write_ahead_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "imgvec/error.hpp"
#include "io/binary_io.hpp"
#include "io/checked_file.hpp"
#include "metadata/record_codec.hpp"

namespace imgvec::detail {
namespace {

constexpr char kMagic[9] = "IMGVWLOG";
// 2.0 added the database's identity to the header; 1.0 logs (no identity) are still read.
constexpr std::uint16_t kMajor = 2, kMinor = 0;
// magic, major, minor, dimension, number, database id, XXH3 of those (1.0: no database id)
constexpr std::size_t kHeaderBytes = 40, kHeaderBytesV1 = 32;
constexpr std::size_t kFrameBytes = 16;   // body length (u32), zero (u32), XXH3-64 of the body
// A record's metadata is the only unbounded part of an entry; a larger entry is refused when
// written and read as damage.
constexpr std::uint32_t kMaxBody = 64u << 20;

std::string header(std::uint32_t dimension, std::uint64_t number, std::uint64_t database_id) {
  std::string h(kMagic, 8);
  put_scalar<std::uint16_t>(h, kMajor);
  put_scalar<std::uint16_t>(h, kMinor);
  put_scalar<std::uint32_t>(h, dimension);
  put_scalar<std::uint64_t>(h, number);
  put_scalar<std::uint64_t>(h, database_id);
  put_scalar<std::uint64_t>(h, XXH3_64bits(h.data(), h.size()));
  return h;
}

template <typename T>
T read_at(std::string_view bytes, std::size_t at) {
  T v;
  std::memcpy(&v, bytes.data() + at, sizeof v);
  return v;
}

// Whether an intact entry starts at `at`: a frame whose reserved word is zero, whose kind is
// known and whose checksum matches. The cheap tests come first, so scanning a damaged tail for
// one costs about a comparison per byte.
bool intact_entry_at(std::string_view bytes, std::size_t at) {
  if (bytes.size() - at < kFrameBytes + 1) return false;
  const auto length = read_at<std::uint32_t>(bytes, at);
  if (read_at<std::uint32_t>(bytes, at + 4) != 0 || length == 0 || length > kMaxBody ||
      length > bytes.size() - at - kFrameBytes)
    return false;
  const auto kind = static_cast<std::uint8_t>(bytes[at + kFrameBytes]);
  if (kind != static_cast<std::uint8_t>(LogEntry::Kind::put) &&
      kind != static_cast<std::uint8_t>(LogEntry::Kind::remove))
    return false;
  return XXH3_64bits(bytes.data() + at + kFrameBytes, length) == read_at<std::uint64_t>(bytes, at + 8);
}

void write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw std::system_error(errno ? errno : EIO, std::generic_category());
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

LogEntry decode_body(std::string_view body, const std::string& path, std::uint32_t dimension) {
  RecordReader in(body, path);
  LogEntry e;
  const std::uint8_t kind = in.u8();
  if (kind == static_cast<std::uint8_t>(LogEntry::Kind::remove)) {
    e.kind = LogEntry::Kind::remove;
    e.record.id = in.u64();
  } else if (kind == static_cast<std::uint8_t>(LogEntry::Kind::put)) {
    e.kind = LogEntry::Kind::put;
    e.record = in.framed_record();
    const std::uint32_t n = in.u32();
    if (n != 0 && n != dimension) in.fail("a logged vector of " + std::to_string(n) + " values");
    if (in.remaining() != std::uint64_t{n} * sizeof(float))
      in.fail("a logged entry of the wrong size");
    e.vector.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) {
      const std::uint32_t bits = in.u32();
      std::memcpy(&e.vector[i], &bits, sizeof bits);
    }
  } else {
    in.fail("unknown log entry kind " + std::to_string(kind));
  }
  if (in.remaining() != 0) in.fail("trailing bytes in a log entry");
  return e;
}

}  // namespace

std::string log_path(const std::string& dir, std::uint64_t number) {
  return dir + "/log-" + std::to_string(number) + ".imgvlog";
}

namespace {

void finish_frame(std::string& out, std::size_t frame, Id id) {
  const std::size_t body = out.size() - frame - kFrameBytes;
  if (body > kMaxBody) {
    out.resize(frame);
    throw Error(ErrorCode::invalid_argument, "image " + std::to_string(id) + ": its record takes " +
                                                 std::to_string(body) +
                                                 " bytes; at most 64 MiB is allowed");
  }
  const auto length = static_cast<std::uint32_t>(body);
  const std::uint64_t hash = XXH3_64bits(out.data() + frame + kFrameBytes, body);
  std::memcpy(&out[frame], &length, 4);
  std::memcpy(&out[frame + 8], &hash, 8);
}

}  // namespace

void encode_log_put(std::string& out, const ImageRecord& record, const float* vector,
                    std::size_t dimension) {
  const std::size_t frame = out.size();
  out.append(kFrameBytes, '\0');
  put_scalar<std::uint8_t>(out, static_cast<std::uint8_t>(LogEntry::Kind::put));
  encode_record(out, record);
  const std::size_t n = vector ? dimension : 0;
  put_scalar<std::uint32_t>(out, static_cast<std::uint32_t>(n));
  if (n) out.append(reinterpret_cast<const char*>(vector), n * sizeof(float));
  finish_frame(out, frame, record.id);
}

void encode_log_remove(std::string& out, Id id) {
  const std::size_t frame = out.size();
  out.append(kFrameBytes, '\0');
  put_scalar<std::uint8_t>(out, static_cast<std::uint8_t>(LogEntry::Kind::remove));
  put_scalar<std::uint64_t>(out, id);
  finish_frame(out, frame, id);
}

LogContents parse_log(std::string_view bytes, const std::string& path, std::uint32_t dimension,
                      const LogExpectation& expect) {
  LogContents out;
  const bool magic_ok = bytes.size() >= 12 && bytes.compare(0, 8, std::string_view(kMagic, 8)) == 0;
  const std::uint16_t major = magic_ok ? read_at<std::uint16_t>(bytes, 8) : 0;
  const std::size_t header_bytes = major == 1 ? kHeaderBytesV1 : kHeaderBytes;
  if (!magic_ok || bytes.size() < header_bytes ||
      XXH3_64bits(bytes.data(), header_bytes - 8) != read_at<std::uint64_t>(bytes, header_bytes - 8)) {
    // The header is written and synced before any entry, so a bad header with nothing after it is
    // a log whose creation the crash interrupted: empty. With entries after it, it is damage.
    if (bytes.size() <= header_bytes) {
      out.dropped_bytes = bytes.size();
      return out;
    }
    if (magic_ok) refuse_newer_format(path, "log", major, read_at<std::uint16_t>(bytes, 10), kMajor);
    throw Error(ErrorCode::corrupt_file,
                path + ": not an imgvec write-ahead log, or its header is damaged");
  }
  refuse_newer_format(path, "log", major, read_at<std::uint16_t>(bytes, 10), kMajor);
  const auto dim = read_at<std::uint32_t>(bytes, 12);
  const auto number = read_at<std::uint64_t>(bytes, 16);
  const std::uint64_t database_id = major >= 2 ? read_at<std::uint64_t>(bytes, 24) : 0;
  if (dim != dimension) {
    throw Error(ErrorCode::incompatible, path + ": a log of " + std::to_string(dim) +
                                             "-d vectors for a database of " +
                                             std::to_string(dimension));
  }
  if (expect.number != 0 && number != expect.number) {
    throw Error(ErrorCode::corrupt_file,
                path + ": its header says it is log " + std::to_string(number) +
                    "; a log renamed or copied from elsewhere is not replayed. Move it out of "
                    "the database's folder");
  }
  if (expect.database_id != 0 && database_id != 0 && database_id != expect.database_id) {
    throw Error(ErrorCode::incompatible,
                path + ": a log of another database (copied into this folder?); replaying it would "
                       "overwrite this database's images with that one's. Move it out of the "
                       "database's folder");
  }
  std::size_t at = header_bytes;
  while (bytes.size() - at >= kFrameBytes) {
    const auto length = read_at<std::uint32_t>(bytes, at);
    if (length > kMaxBody || length > bytes.size() - at - kFrameBytes) break;
    const std::string_view body = bytes.substr(at + kFrameBytes, length);
    if (XXH3_64bits(body.data(), body.size()) != read_at<std::uint64_t>(bytes, at + 8)) break;
    // A checksummed entry that does not parse was written by a newer or broken writer: refuse.
    out.entries.push_back(decode_body(body, path, dimension));
    at += kFrameBytes + length;
  }
  out.valid_bytes = at;
  out.dropped_bytes = bytes.size() - at;
  // A crash cuts a log short; it does not leave intact entries after a bad one. If one follows,
  // the log was damaged afterwards, and the entries after the damage were acknowledged.
  for (std::size_t next = at + 1; next < bytes.size(); ++next) {
    if (!intact_entry_at(bytes, next)) continue;
    if (expect.accept_damage) {
      out.damaged = true;
      break;
    }
    throw Error(ErrorCode::corrupt_file,
                path + ": the entry at byte " + std::to_string(at) +
                    " is damaged, and intact entries follow it (the first at byte " +
                    std::to_string(next) +
                    "): replaying would silently lose changes that were acknowledged, so the "
                    "database is not opened. Copy the folder somewhere safe; `imgvec repair "
                    "--db DIR` then keeps the changes before the damage and drops the rest");
  }
  return out;
}

std::optional<std::uint64_t> log_number_of(const std::string& file) {
  const std::string prefix = "log-", suffix = ".imgvlog";
  if (file.size() <= prefix.size() + suffix.size() || file.compare(0, prefix.size(), prefix) != 0 ||
      file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  const std::string digits = file.substr(prefix.size(), file.size() - prefix.size() - suffix.size());
  if (digits.size() > 19 || digits.find_first_not_of("0123456789") != std::string::npos ||
      (digits.size() > 1 && digits[0] == '0'))
    return std::nullopt;
  return std::stoull(digits);
}

LogContents read_log(const std::string& path, std::uint32_t dimension, const LogExpectation& expect) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorCode::io, path + ": cannot read: " + std::strerror(errno));
  std::string bytes;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw Error(ErrorCode::io, path + ": cannot read: " + std::strerror(err));
    }
    if (n == 0) break;
    bytes.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return parse_log(bytes, path, dimension, expect);
}

WriteAheadLog::WriteAheadLog(std::string dir, std::uint64_t number, std::uint32_t dimension,
                             std::uint64_t database_id)
    : dir_(std::move(dir)), dimension_(dimension), database_id_(database_id), number_(number) {}

WriteAheadLog::~WriteAheadLog() {
  if (fd_ >= 0) ::close(fd_);
}

void WriteAheadLog::open_file() {
  const std::string path = log_path(dir_, number_);
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw Error(ErrorCode::io, path + ": cannot create the log: " + std::strerror(errno));
  try {
    const std::string h = header(dimension_, number_, database_id_);
    write_all(fd_, h.data(), h.size());
    // The header and the file's name are durable before any entry is acknowledged, so a synced
    // entry is never behind a header or a directory entry the crash could lose.
    if (::fdatasync(fd_) != 0) throw std::system_error(errno, std::generic_category());
    // The directory's sync makes the new name durable; if it cannot be done, no entry in this
    // file may be acknowledged, so its failure is reported like a failed write.
    const int d = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) throw std::system_error(errno, std::generic_category());
    const int rc = ::fsync(d);
    const int err = errno;
    ::close(d);
    if (rc != 0) throw std::system_error(err, std::generic_category());
    file_bytes_ = h.size();
  } catch (const std::system_error& e) {
    ::close(fd_);
    fd_ = -1;
    ::unlink(path.c_str());
    throw Error(ErrorCode::io, path + ": cannot create the log: " + e.code().message());
  }
}

std::uint64_t WriteAheadLog::append(std::string_view encoded) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!broken_.empty()) throw Error(ErrorCode::io, broken_);
  if (fd_ < 0) open_file();
  try {
    write_all(fd_, encoded.data(), encoded.size());
  } catch (const std::system_error& e) {
    // A partly written entry would hide every later one from replay: cut it off.
    const std::string path = log_path(dir_, number_);
    if (::ftruncate(fd_, static_cast<off_t>(file_bytes_)) != 0 ||
        ::lseek(fd_, static_cast<off_t>(file_bytes_), SEEK_SET) < 0) {
      fail_locked(path + ": a failed write could not be undone (" +
                  std::string(std::strerror(errno)) +
                  "); changes are refused until the database is saved");
    }
    throw Error(ErrorCode::io, path + ": cannot append to the log: " + e.code().message());
  }
  file_bytes_ += encoded.size();
  written_ += encoded.size();
  return written_;
}

void WriteAheadLog::fail_locked(const std::string& what) {
  broken_ = what;
  synced_cv_.notify_all();
}

void WriteAheadLog::sync(std::uint64_t position) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (synced_ < position) {
    if (!broken_.empty()) throw Error(ErrorCode::io, broken_);
    if (syncing_) {
      synced_cv_.wait(lock);
      continue;
    }
    // This caller syncs for everyone: all bytes written so far, including those of writers that
    // arrive while the sync runs (they wait for the next one).
    syncing_ = true;
    const std::uint64_t target = written_;
    const int fd = fd_;
    lock.unlock();
    const int rc = fd >= 0 ? ::fdatasync(fd) : 0;
    const int err = errno;
    lock.lock();
    syncing_ = false;
    if (rc != 0) {
      fail_locked(log_path(dir_, number_) + ": cannot flush the log to disk (" +
                  std::strerror(err) + "); changes are refused until the database is saved");
      throw Error(ErrorCode::io, broken_);
    }
    if (target > synced_) synced_ = target;
    ++syncs_;
    synced_cv_.notify_all();
  }
}

std::uint64_t WriteAheadLog::rotate() {
  std::unique_lock<std::mutex> lock(mutex_);
  synced_cv_.wait(lock, [&] { return !syncing_; });
  if (fd_ >= 0) {
    if (synced_ < written_ && ::fdatasync(fd_) != 0) {
      throw Error(ErrorCode::io, log_path(dir_, number_) +
                                     ": cannot flush the log to disk: " + std::strerror(errno));
    }
    ::close(fd_);
    fd_ = -1;
    ++number_;
  }
  synced_ = written_;
  synced_cv_.notify_all();
  file_bytes_ = 0;
  base_ = written_;
  return number_;
}

std::uint64_t WriteAheadLog::pending_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return written_ - base_;
}

std::uint64_t WriteAheadLog::syncs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return syncs_;
}

std::uint64_t WriteAheadLog::number() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return number_;
}

void WriteAheadLog::saved() {
  std::lock_guard<std::mutex> lock(mutex_);
  broken_.clear();
}

}  // namespace imgvec::detail
