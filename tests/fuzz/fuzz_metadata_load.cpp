// Metadata (image record) files, formats 1.x and 2.x, and the database's list of failed files
// (the same reader), chosen by the input's magic.
#include <cstdint>
#include <string>

#include "database/failed_files.hpp"
#include "fuzz_support.hpp"
#include "imgvec/error.hpp"
#include "imgvec/metadata/metadata_store.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  imgvec::fuzz::repair_checked_file(bytes);
  const std::string path = imgvec::fuzz::scratch() + "/metadata";
  imgvec::fuzz::write_file(path, bytes.data(), bytes.size());
  if (bytes.rfind("IMGVFAIL", 0) == 0) {
    try {
      const auto failed = imgvec::detail::load_failed_files(path);
      imgvec::detail::save_failed_files(path + ".again", failed);
      if (imgvec::detail::load_failed_files(path + ".again").size() != failed.size())
        __builtin_trap();
    } catch (const imgvec::Error&) {
    }
    return 0;
  }
  try {
    const imgvec::MetadataStore store = imgvec::MetadataStore::load(path);
    store.save(path + ".again");
    const imgvec::MetadataStore again = imgvec::MetadataStore::load(path + ".again");
    for (imgvec::Id id : store.ids()) {
      if (!(*store.get(id) == *again.get(id))) __builtin_trap();
    }
  } catch (const imgvec::Error&) {
  }
  return 0;
}
