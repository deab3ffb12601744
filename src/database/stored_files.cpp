// The files a database's records name, as the front ends hand them out: read back only when they
// still hold the bytes that were added, and shown without the folder the database lives in.
#include <sys/stat.h>

#include <fstream>

#define XXH_INLINE_ALL  // header-only, as in src/io/binary_io.hpp
#include <xxhash.h>

#include "database/database_impl.hpp"
#include "imgvec/database.hpp"

namespace imgvec {

std::vector<std::uint8_t> VectorDatabase::image_file_bytes(Id id, std::uint64_t max_bytes) const {
  const auto rec = get(id);
  const std::string image = "image " + std::to_string(id);
  if (!rec) throw Error(ErrorCode::not_found, "no " + image);
  if (rec->source.empty()) throw Error(ErrorCode::not_found, image + " was added without a file");
  std::ifstream in(rec->source, std::ios::binary);
  struct stat st {};
  if (!in || ::stat(rec->source.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    throw Error(ErrorCode::not_found, "the file of " + image + " is gone");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size != rec->file_size)
    throw Error(ErrorCode::incompatible, "the file of " + image + " has changed since it was added (" +
                                             std::to_string(rec->file_size) + " bytes then, " + std::to_string(size) +
                                             " now); index it again");
  if (size > max_bytes)
    throw Error(ErrorCode::too_large, "the file of " + image + " is " + std::to_string(size) +
                                          " bytes, over the limit of " + std::to_string(max_bytes));
  std::vector<std::uint8_t> bytes(size);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)) ||
      XXH3_64bits(bytes.data(), bytes.size()) != rec->content_hash)
    throw Error(ErrorCode::incompatible,
                "the file of " + image + " no longer holds the bytes that were added; index it again");
  return bytes;
}

std::string VectorDatabase::portable_source(const std::string& source) const {
  return impl_->files_prefix.apply(source, true);
}

}  // namespace imgvec
