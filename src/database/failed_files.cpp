#include "database/failed_files.hpp"

#include <sys/stat.h>

#include <cstring>

#include "io/checked_file.hpp"
#include "metadata/record_codec.hpp"

namespace imgvec::detail {
namespace {

constexpr char kMagic[9] = "IMGVFAIL";
constexpr std::uint16_t kMajor = 1, kMinor = 0;

}  // namespace

std::string failed_path(const std::string& dir, std::uint64_t generation) {
  return dir + "/failed-" + std::to_string(generation) + ".imgvfail";
}

void save_failed_files(const std::string& path, const FailedFiles& files) {
  std::string payload;
  put_scalar<std::uint64_t>(payload, files.size());
  for (const auto& [source, f] : files) {
    put_string(payload, source);
    put_scalar<std::uint64_t>(payload, f.size);
    put_scalar<std::int64_t>(payload, f.mtime_ns);
    put_scalar<std::uint32_t>(payload, static_cast<std::uint32_t>(f.code));
    put_string(payload, f.error);
  }
  write_checked_file(path, kMagic, kMajor, kMinor, payload);
}

FailedFiles load_failed_files(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  const CheckedPayload file = read_checked_file(path, kMagic, kMajor);
  RecordReader in(file.bytes, path);
  const std::uint64_t count = in.u64();
  if (count > in.remaining() / 36) in.fail("claims " + std::to_string(count) + " failed files");
  FailedFiles out;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string source = in.string();
    FailedFile f;
    f.size = in.u64();
    f.mtime_ns = static_cast<std::int64_t>(in.u64());
    const std::uint32_t code = in.u32();
    if (code < 1 || code > static_cast<std::uint32_t>(ErrorCode::too_large))
      in.fail("unknown error code");
    f.code = static_cast<ErrorCode>(code);
    f.error = in.string();
    out[std::move(source)] = std::move(f);
  }
  if (in.remaining() != 0) in.fail("bytes follow the last entry");
  return out;
}

}  // namespace imgvec::detail
