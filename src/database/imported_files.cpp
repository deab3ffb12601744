#include "database/imported_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "database/database_impl.hpp"
#include "imgvec/database.hpp"
#include "imgvec/error.hpp"
#include "io/binary_io.hpp"

namespace imgvec {
namespace detail {
namespace {

constexpr const char* kExtensions[] = {"jpeg", "png", "bmp", "gif", "pnm", "tga", "psd", "hdr", "webp", "tiff", "heic", "avif"};

// The format's name is the extension: "jpeg", "png", ..., "heic", "avif".
const char* extension_of(ImageFormat f) { return f == ImageFormat::unknown ? nullptr : to_string(f); }

bool same_bytes(const std::string& path, const void* data, std::size_t size) {
  std::ifstream in(path, std::ios::binary);
  const std::string have{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return have.size() == size && std::memcmp(have.data(), data, size) == 0;
}

void sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

std::string files_directory(const std::string& dir) {
  return dir + "/files";
}

std::optional<std::uint64_t> imported_file_hash(const std::string& name) {
  const auto dot = name.find('.');
  if (dot != 16 || name.find_first_not_of("0123456789abcdef") < 16) return std::nullopt;
  const std::string ext = name.substr(17);
  bool known = false;
  for (const char* e : kExtensions) known = known || ext == e;
  if (!known) return std::nullopt;
  return std::strtoull(name.substr(0, 16).c_str(), nullptr, 16);
}

void remove_unused_files(const std::string& dir, const std::function<bool(std::uint64_t)>& in_use) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(files_directory(dir), ec)) {
    const std::string name = entry.path().filename().string();
    // The atomic writer's temporaries: "<imported name>.tmp-<pid>-<n>".
    const auto tmp = name.find(".tmp-");
    const auto hash = imported_file_hash(tmp == std::string::npos ? name : name.substr(0, tmp));
    if (!hash || !entry.is_regular_file(ec)) continue;
    if (tmp != std::string::npos || !in_use(*hash)) std::filesystem::remove(entry.path(), ec);
  }
}

}  // namespace detail

AddResult VectorDatabase::import_image_bytes(const void* data, std::size_t size,
                                             const std::string& name, const Metadata& metadata,
                                             const std::vector<std::string>& tags) {
  const std::string label = name.empty() ? "image" : name;
  const char* ext = detail::extension_of(detect_image_format(data, size));
  if (!ext) decode_image(data, size, label);  // throws, with the reason (unsupported, empty, ...)
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016" PRIx64,
                static_cast<std::uint64_t>(XXH3_64bits(data, size)));
  namespace fs = std::filesystem;
  const std::string folder =
      fs::absolute(detail::files_directory(impl_->dir)).lexically_normal().string();
  const std::string path = folder + "/" + hex + "." + ext;

  // Held until the image is added, so that a save's cleanup never sees the new file unused.
  std::shared_lock<std::shared_mutex> files(impl_->files_mutex);
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    fs::create_directory(folder, ec);
    if (ec) throw Error(ErrorCode::io, folder + ": cannot create the folder: " + ec.message());
    detail::sync_directory(impl_->dir);
  }
  bool wrote = false;
  if (!fs::exists(path, ec) || !detail::same_bytes(path, data, size)) {
    // Written and synced before the image is added (and logged): a logged image always has its
    // file.
    detail::AtomicFileWriter out(path);
    out.write(data, size);
    out.commit();
    wrote = true;
  }
  const auto existing = find_source(path);
  const auto before = existing ? get(*existing) : std::nullopt;
  Metadata m = metadata;
  if (!name.empty() && !m.count("name")) m.emplace("name", name);
  AddInputs in;
  const std::vector<Metadata> ms{m};
  const std::vector<std::vector<std::string>> ts{tags};
  // A new image takes its name; an image uploaded again keeps its metadata unless new is given.
  if (!existing || !metadata.empty()) in.metadata = &ms;
  if (!tags.empty()) in.tags = &ts;
  in.detect_renames = false;
  AddResult r = add_paths({path}, in).front();
  if (r.status == AddStatus::failed) {
    if (wrote && !existing) fs::remove(path, ec);
    std::string why = r.error;
    if (why.rfind(path, 0) == 0) why = label + why.substr(path.size());
    throw Error(r.code, why);
  }
  if (r.status == AddStatus::unchanged && before) {
    const auto after = get(r.id);
    if (after && (after->metadata != before->metadata || after->tags != before->tags))
      r.status = AddStatus::updated;
  }
  return r;
}

}  // namespace imgvec
