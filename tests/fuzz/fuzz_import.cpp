// Importing exports from arbitrary bytes: a record's JSON (record_from_json), a pgvector COPY
// file, a Qdrant point batch, or a .npy vectors file, chosen by the first byte. Never a crash;
// a record read back writes out and reads in again as itself.
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>

#include "fuzz_support.hpp"
#include "imgvec/database.hpp"
#include "imgvec/encoder/descriptor_encoder.hpp"
#include "imgvec/error.hpp"
#include "imgvec/path_text.hpp"

namespace {

// A fresh database with the built-in encoder, and an export folder naming it, for each input.
std::unique_ptr<imgvec::VectorDatabase> fresh_database(const std::string& root) {
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
  std::filesystem::create_directories(root + "/x");
  auto db = imgvec::VectorDatabase::create(root + "/db", std::make_shared<imgvec::DescriptorEncoder>());
  return db;
}

void write_manifest(const std::string& root, const imgvec::VectorDatabase& db, const char* format) {
  const imgvec::EncoderFingerprint& f = db.encoder().fingerprint();
  const std::string json = std::string("{\"format\": \"") + format + "\", \"collection\": \"images\", \"images\": 1, " +
                           "\"encoder\": {\"kind\": \"" + f.kind + "\", \"model\": \"" + f.model +
                           "\", \"model_hash\": \"" + f.model_hash + "\", \"dimension\": " + std::to_string(f.dimension) +
                           ", \"preprocessing\": \"" + f.preprocessing + "\"}}";
  imgvec::fuzz::write_file(root + "/x/imgvec-export.json", json.data(), json.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0] % 4;
  ++data;
  --size;
  if (mode == 0) {
    try {
      const imgvec::ImageRecord r = imgvec::record_from_json(std::string_view(reinterpret_cast<const char*>(data), size));
      // Text that is valid UTF-8 comes back exactly (other text comes back escaped, as documented).
      bool utf8 = true;
      auto check = [&](const std::string& s) { utf8 = utf8 && imgvec::is_valid_utf8(s); };
      for (const auto& t : r.tags) check(t);
      for (const auto& [k, v] : r.metadata) {
        check(k);
        if (const auto* s = std::get_if<std::string>(&v)) check(*s);
        if (const auto* l = std::get_if<std::vector<std::string>>(&v)) {
          for (const auto& item : *l) check(item);
        }
      }
      for (const auto& l : r.labels) check(l.name);
      check(r.photo.camera_make);
      check(r.photo.camera_model);
      check(r.photo.lens);
      if (utf8 && !(imgvec::record_from_json(imgvec::record_to_json(r)) == r)) __builtin_trap();
    } catch (const imgvec::Error&) {
    }
    return 0;
  }
  const std::string root = imgvec::fuzz::scratch() + "/import";
  auto db = fresh_database(root);
  try {
    if (mode == 1) {
      write_manifest(root, *db, "pgvector");
      imgvec::fuzz::write_file(root + "/x/images.tsv", data, size);
      db->import_export(root + "/x");
    } else if (mode == 2) {
      write_manifest(root, *db, "qdrant");
      imgvec::fuzz::write_file(root + "/x/points-00000.json", data, size);
      db->import_export(root + "/x");
    } else {
      imgvec::fuzz::write_file(root + "/v.npy", data, size);
      const std::uint8_t ids[] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 118, 0};
      std::string id_file(reinterpret_cast<const char*>(ids), sizeof ids);
      std::string dict = "{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }";
      dict.append(117 - dict.size(), ' ');
      id_file += dict + "\n" + std::string("\x01\0\0\0\0\0\0\0", 8);
      imgvec::fuzz::write_file(root + "/ids.npy", id_file.data(), id_file.size());
      imgvec::fuzz::write_file(root + "/r.jsonl", "{}\n", 3);
      db->import_vectors(root + "/v.npy", root + "/ids.npy", root + "/r.jsonl");
    }
  } catch (const imgvec::Error&) {
  }
  if (db->size() > 1 << 20) __builtin_trap();
  return 0;
}
