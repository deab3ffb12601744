// Metadata (image record) files, formats 1.x to 3.x, and the database's list of failed files
// (the same reader), chosen by the input's magic. Each metadata file is also opened mapped
// (MetadataStore::open_mapped, which reads records only when asked): every record it lists must
// read or throw imgvec::Error, and so must a change and a save.
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
    imgvec::MetadataStore mapped = imgvec::MetadataStore::open_mapped(path);
    for (imgvec::Id id : mapped.ids_unordered()) mapped.get(id);
    mapped.metadata_keys();
    mapped.find_source("/a");
    const auto first = mapped.ids_unordered();
    if (!first.empty()) mapped.remove(first.front());
    imgvec::ImageRecord r;
    r.id = 12345;
    r.tags = {"x"};
    mapped.put(r);
    mapped.save(path + ".mapped");
  } catch (const imgvec::Error&) {
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
