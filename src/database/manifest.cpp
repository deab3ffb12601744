#include "database/manifest.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <system_error>
#include <vector>

#include "database/failed_files.hpp"
#include "database/write_ahead_log.hpp"
#include "imgvec/error.hpp"
#include "io/checked_file.hpp"

namespace imgvec::detail {
namespace {

constexpr char kMagic[9] = "IMGVMANI";
constexpr std::uint16_t kMajor = 1, kMinor = 2;  // 1.1 added log_start, 1.2 database_id

// Values are single lines: backslashes and newlines are escaped.
std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      out += s[++i] == 'n' ? '\n' : s[i];
    } else {
      out += s[i];
    }
  }
  return out;
}

std::uint64_t number(const std::map<std::string, std::string>& kv, const char* key, const std::string& path) {
  const auto it = kv.find(key);
  if (it == kv.end()) throw Error(ErrorCode::corrupt_file, path + ": the manifest lacks " + key);
  try {
    std::size_t used = 0;
    const auto v = std::stoull(it->second, &used);
    if (used != it->second.size()) throw std::invalid_argument("trailing characters");
    return v;
  } catch (const std::exception&) {
    throw Error(ErrorCode::corrupt_file, path + ": the manifest's " + key + " is not a number");
  }
}

std::string text(const std::map<std::string, std::string>& kv, const char* key, const std::string& path) {
  const auto it = kv.find(key);
  if (it == kv.end()) throw Error(ErrorCode::corrupt_file, path + ": the manifest lacks " + key);
  return it->second;
}

}  // namespace

std::string manifest_path(const std::string& dir) { return dir + "/MANIFEST"; }
std::string index_path(const std::string& dir, std::uint64_t g) {
  return dir + "/index-" + std::to_string(g) + ".imgvidx";
}
std::string text_cache_path(const std::string& dir) { return dir + "/text-cache.imgvtext"; }
std::string metadata_path(const std::string& dir, std::uint64_t g) {
  return dir + "/metadata-" + std::to_string(g) + ".imgvmeta";
}

namespace {

// "<name>.tmp-<pid>-<number>": the temporary name AtomicFileWriter gives `name` (binary_io.cpp).
bool is_temporary_of(const std::string& file, const std::string& name) {
  const std::string prefix = name + ".tmp-";
  if (file.compare(0, prefix.size(), prefix) != 0) return false;
  const std::string rest = file.substr(prefix.size());
  const auto dash = rest.find('-');
  auto digits = [](const std::string& s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
  };
  return dash != std::string::npos && digits(rest.substr(0, dash)) && digits(rest.substr(dash + 1));
}

std::string base_name(const std::string& path) { return path.substr(path.find_last_of('/') + 1); }

}  // namespace

void remove_leftovers(const std::string& dir, std::uint64_t g) {
  std::vector<std::string> stale, names = {"MANIFEST", base_name(text_cache_path(dir))};
  for (std::uint64_t k : {g - 1, g, g + 1}) {
    if (k == static_cast<std::uint64_t>(-1)) continue;  // g - 1 for g = 0
    for (const std::string& path : {index_path(dir, k), metadata_path(dir, k), failed_path(dir, k)}) {
      names.push_back(base_name(path));
      if (k != g) stale.push_back(names.back());
    }
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string file = entry.path().filename().string();
    bool ours = std::find(stale.begin(), stale.end(), file) != stale.end();
    for (const auto& n : names) ours = ours || is_temporary_of(file, n);
    if (ours && entry.is_regular_file(ec)) std::filesystem::remove(entry.path(), ec);
  }
}

std::uint64_t make_database_id() {
  std::random_device source;
  std::uint64_t id = 0;
  while (id == 0) id = (std::uint64_t{source()} << 32) ^ source();
  return id;
}

void remove_logs_before(const std::string& dir, std::uint64_t end) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const auto number = log_number_of(entry.path().filename().string());
    if (number && *number < end && entry.is_regular_file(ec)) std::filesystem::remove(entry.path(), ec);
  }
}

void write_manifest(const std::string& dir, const Manifest& m) {
  std::string p;
  auto line = [&](const char* key, const std::string& value) { p += std::string(key) + "=" + escape(value) + "\n"; };
  line("generation", std::to_string(m.generation));
  line("next_id", std::to_string(m.next_id));
  line("index_kind", std::to_string(static_cast<int>(m.index_kind)));
  line("created_ms", std::to_string(m.created_ms));
  line("log_start", std::to_string(m.log_start));
  line("database_id", std::to_string(m.database_id));
  line("encoder.kind", m.encoder.kind);
  line("encoder.model", m.encoder.model);
  line("encoder.model_hash", m.encoder.model_hash);
  line("encoder.dimension", std::to_string(m.encoder.dimension));
  line("encoder.preprocessing", m.encoder.preprocessing);
  write_checked_file(manifest_path(dir), kMagic, kMajor, kMinor, p);
}

Manifest read_manifest(const std::string& dir) {
  const std::string path = manifest_path(dir);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw Error(ErrorCode::not_found, dir + ": no imgvec database here (no MANIFEST)");
  }
  const std::string payload = read_checked_file(path, kMagic, kMajor).bytes;
  std::map<std::string, std::string> kv;
  std::size_t start = 0;
  while (start < payload.size()) {
    auto end = payload.find('\n', start);
    if (end == std::string::npos) end = payload.size();
    const std::string row = payload.substr(start, end - start);
    const auto eq = row.find('=');
    if (eq != std::string::npos) kv[row.substr(0, eq)] = unescape(row.substr(eq + 1));
    start = end + 1;
  }
  Manifest m;
  m.generation = number(kv, "generation", path);
  m.next_id = number(kv, "next_id", path);
  const auto kind = number(kv, "index_kind", path);
  if (kind != static_cast<int>(IndexKind::flat) && kind != static_cast<int>(IndexKind::hnsw)) {
    throw Error(ErrorCode::corrupt_file, path + ": unknown index kind " + std::to_string(kind));
  }
  m.index_kind = static_cast<IndexKind>(kind);
  m.created_ms = static_cast<std::int64_t>(number(kv, "created_ms", path));
  m.log_start = kv.count("log_start") ? number(kv, "log_start", path) : 0;
  m.database_id = kv.count("database_id") ? number(kv, "database_id", path) : 0;
  m.encoder.kind = text(kv, "encoder.kind", path);
  m.encoder.model = text(kv, "encoder.model", path);
  m.encoder.model_hash = text(kv, "encoder.model_hash", path);
  m.encoder.dimension = static_cast<std::uint32_t>(number(kv, "encoder.dimension", path));
  m.encoder.preprocessing = text(kv, "encoder.preprocessing", path);
  return m;
}

}  // namespace imgvec::detail
