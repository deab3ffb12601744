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
#include <system_error>

#include "database/add_inputs.hpp"
#include "database/database_impl.hpp"
#include "imgvec/database.hpp"
#include "imgvec/error.hpp"
#include "io/binary_io.hpp"
#include "io/sha256.hpp"

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

SourcePrefix imported_files_prefix(const std::string& dir) {
  return {std::filesystem::absolute(files_directory(dir)).lexically_normal().string() + "/", "$DB/files/"};
}

bool is_imported_file_name(const std::string& name) {
  // <SHA-256, 64 hex>.<format>, or <XXH3-64, 16 hex>.<format> as databases before 0.3 named them.
  const auto dot = name.find('.');
  if ((dot != 16 && dot != 64) || name.find_first_not_of("0123456789abcdef") < dot) return false;
  const std::string ext = name.substr(dot + 1);
  bool known = false;
  for (const char* e : kExtensions) known = known || ext == e;
  return known;
}

void remove_unused_files(const std::string& dir, const std::function<bool(const std::string&)>& in_use) {
  std::error_code ec;
  const std::string folder = imported_files_prefix(dir).in_memory;
  for (const auto& entry : std::filesystem::directory_iterator(files_directory(dir), ec)) {
    const std::string name = entry.path().filename().string();
    // The atomic writer's temporaries: "<imported name>.tmp-<pid>-<n>".
    const auto tmp = name.find(".tmp-");
    const std::string kept = tmp == std::string::npos ? name : name.substr(0, tmp);
    if (!is_imported_file_name(kept) || !entry.is_regular_file(ec)) continue;
    if (tmp != std::string::npos || !in_use(folder + name)) std::filesystem::remove(entry.path(), ec);
  }
}

}  // namespace detail

AddResult VectorDatabase::import_image_bytes(const void* data, std::size_t size,
                                             const std::string& name, const Metadata& metadata,
                                             const std::vector<std::string>& tags,
                                             const DecodeOptions& limits) {
  const std::string label = name.empty() ? "image" : name;
  const char* ext = detail::extension_of(detect_image_format(data, size));
  if (!ext) decode_image(data, size, label);  // throws, with the reason (unsupported, empty, ...)
  namespace fs = std::filesystem;
  const std::string folder = impl_->files_prefix.in_memory;  // absolute, ends in "/"
  const std::string path = folder + detail::sha256_hex(data, size) + "." + ext;

  // Held until the image is added, so that a save's cleanup never sees the new file unused.
  std::shared_lock<std::shared_mutex> files(impl_->files_mutex);
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    fs::create_directory(folder, ec);
    if (ec) throw Error(ErrorCode::io, folder + ": cannot create the folder: " + ec.message());
    detail::sync_directory(impl_->dir);
  }
  bool wrote = false;
  const bool exists = fs::exists(path, ec);
  if (exists && !detail::same_bytes(path, data, size)) {
    // Named by SHA-256 of its bytes, so other bytes here mean the file was changed behind the
    // database's back: never replaced, so that no upload can overwrite another's file.
    throw Error(ErrorCode::io, "the database's files/ folder holds " + path.substr(folder.size()) +
                                   " with other bytes than its name says; it was changed outside imgvec "
                                   "(imgvec will not overwrite it: move it away and upload again)");
  }
  if (!exists) {
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
  in.held_data = data;  // the bytes just written: hashed and decoded from memory, not read back
  in.held_size = size;
  in.limits = limits;
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
