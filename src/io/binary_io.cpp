#include "io/binary_io.hpp"
#include "io/read_counters.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>

#include "imgvec/error.hpp"

namespace imgvec::detail {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "imgvec files are little-endian; a big-endian port needs byte swapping on I/O");

constexpr std::size_t kWriteBuffer = 1 << 20;

[[noreturn]] void throw_io(const std::string& path, const char* action) {
  throw Error(ErrorCode::io, path + ": cannot " + action + ": " + std::strerror(errno));
}

std::string directory_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void write_all(int fd, const char* data, std::size_t bytes, const std::string& path) {
  while (bytes > 0) {
    ssize_t n = ::write(fd, data, bytes);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io(path, "write");
    }
    data += n;
    bytes -= static_cast<std::size_t>(n);
  }
}

}  // namespace

// What the path holds now decides how it is written. Nothing there, or a regular file: a new file
// replaces it atomically (a temporary beside it, then rename). A FIFO or a character device (a
// pipe, /dev/null, a terminal), also behind a symbolic link: written in place, since a rename
// would put a regular file where the user's node was. Anything else (a link to a file or a
// folder, a folder, a socket, a block device) is refused: a writer never replaces what it did
// not make (issue 19).
AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)) {
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    const bool link = S_ISLNK(st.st_mode);
    struct stat target {};
    const bool resolved = !link || ::stat(path_.c_str(), &target) == 0;
    const mode_t mode = link ? target.st_mode : st.st_mode;
    if (resolved && (S_ISFIFO(mode) || S_ISCHR(mode))) {
      in_place_ = true;
    } else if (link) {
      throw Error(ErrorCode::invalid_argument,
                  path_ + ": is a symbolic link, which imgvec will not replace with a file (remove the link, or "
                          "write to the file it points to)");
    } else if (!S_ISREG(mode)) {
      throw Error(ErrorCode::invalid_argument,
                  path_ + ": is not a regular file (a folder, a socket or a block device); imgvec will not replace it");
    }
  }
  buffer_.reserve(kWriteBuffer);
  if (in_place_) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) throw_io(path_, "open for writing");
  } else {
    std::random_device rd;
    tmp_path_ = path_ + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(rd());
    fd_ = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) throw_io(path_, "create a temporary file beside");
  }
  // Only once nothing can throw any more: a constructor that throws runs no destructor.
  hash_ = XXH3_createState();
  reset_checksum();
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !in_place_) ::unlink(tmp_path_.c_str());
  XXH3_freeState(hash_);
}

void AtomicFileWriter::write(const void* data, std::size_t bytes) {
  XXH3_64bits_update(hash_, data, bytes);
  written_ += bytes;
  if (buffer_.size() + bytes > kWriteBuffer) flush_buffer();
  if (bytes >= kWriteBuffer) {
    write_all(fd_, static_cast<const char*>(data), bytes, path_);
  } else {
    buffer_.append(static_cast<const char*>(data), bytes);
  }
}

void AtomicFileWriter::flush_buffer() {
  write_all(fd_, buffer_.data(), buffer_.size(), path_);
  buffer_.clear();
}

void AtomicFileWriter::overwrite_at(std::uint64_t offset, const void* data, std::size_t bytes) {
  if (in_place_)
    throw Error(ErrorCode::invalid_argument,
                path_ + ": this file is written in two passes, which a FIFO or a device cannot take; write it to a file");
  flush_buffer();
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    ssize_t n = ::pwrite(fd_, p, bytes, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io(path_, "write");
    }
    p += n;
    offset += static_cast<std::uint64_t>(n);
    bytes -= static_cast<std::size_t>(n);
  }
}

void AtomicFileWriter::reset_checksum() { XXH3_64bits_reset(hash_); }
std::uint64_t AtomicFileWriter::checksum() const { return XXH3_64bits_digest(hash_); }

void AtomicFileWriter::commit() {
  flush_buffer();
  if (in_place_) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw_io(path_, "close");
    committed_ = true;
    return;
  }
  if (::fsync(fd_) != 0) throw_io(path_, "flush to disk");
  if (::close(fd_) != 0) {
    fd_ = -1;
    throw_io(path_, "close");
  }
  fd_ = -1;
  if (::rename(tmp_path_.c_str(), path_.c_str()) != 0) throw_io(path_, "rename into place");
  committed_ = true;
  // The rename is durable only once the directory entry is on disk.
  int dir = ::open(directory_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

CheckedFileReader::CheckedFileReader(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    if (errno == ENOENT) throw Error(ErrorCode::not_found, path_ + ": no such file");
    throw_io(path_, "open");
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw_io(path_, "stat");
  if (!S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw Error(ErrorCode::invalid_argument, path_ + ": not a regular file");
  }
  size_ = static_cast<std::uint64_t>(st.st_size);
  hash_ = XXH3_createState();
  reset_checksum();
}

CheckedFileReader::~CheckedFileReader() {
  if (fd_ >= 0) ::close(fd_);
  if (hash_) XXH3_freeState(hash_);
}

CheckedFileReader::CheckedFileReader(std::string path, const char* bytes, std::uint64_t size)
    : path_(std::move(path)), in_memory_(true), memory_(bytes), size_(size) {
  hash_ = XXH3_createState();
  reset_checksum();
}

void CheckedFileReader::need(std::size_t bytes, const char* what) const {
  if (bytes > remaining()) {
    fail(std::string("truncated: the file ends inside the ") + what + " (needs " +
         std::to_string(bytes) + " more bytes at offset " + std::to_string(offset_) + ", has " +
         std::to_string(remaining()) + ")");
  }
}

void CheckedFileReader::read(void* data, std::size_t bytes, const char* what) {
  need(bytes, what);
  if (in_memory_) {
    if (bytes) std::memcpy(data, memory_ + offset_, bytes);
    offset_ += bytes;
    XXH3_64bits_update(hash_, data, bytes);
    return;
  }
  char* p = static_cast<char*>(data);
  std::size_t left = bytes;
  while (left > 0) {
    ssize_t n = ::read(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io(path_, "read");
    }
    if (n == 0) fail(std::string("truncated while reading the ") + what);
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  offset_ += bytes;
  XXH3_64bits_update(hash_, data, bytes);
}

const char* CheckedFileReader::view(std::size_t bytes, const char* what) {
  if (!in_memory_) throw std::logic_error("CheckedFileReader::view on a file that is not in memory");
  need(bytes, what);
  const char* at = memory_ + offset_;
  offset_ += bytes;
  return at;
}

void CheckedFileReader::reset_checksum() { XXH3_64bits_reset(hash_); }
std::uint64_t CheckedFileReader::checksum() const { return XXH3_64bits_digest(hash_); }

void CheckedFileReader::fail(const std::string& message) const {
  throw Error(ErrorCode::corrupt_file, path_ + ": " + message);
}

ReadCounters& read_counters() {
  static ReadCounters counters;
  return counters;
}

std::uint64_t hash_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw Error(errno == ENOENT ? ErrorCode::not_found : ErrorCode::io,
                path + ": cannot open: " + std::strerror(errno));
  }
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  std::string buf(1 << 20, '\0');
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      XXH3_freeState(state);
      ::close(fd);
      throw Error(ErrorCode::io, path + ": read failed: " + std::strerror(err));
    }
    if (n == 0) break;
    read_counters().file_bytes.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
    XXH3_64bits_update(state, buf.data(), static_cast<std::size_t>(n));
  }
  const std::uint64_t h = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  ::close(fd);
  return h;
}

std::string to_hex(std::uint64_t value) {
  static const char* kDigits = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, value >>= 4) out[static_cast<std::size_t>(i)] = kDigits[value & 15];
  return out;
}

}  // namespace imgvec::detail
