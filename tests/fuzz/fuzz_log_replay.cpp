// A database folder whose write-ahead log is the input (header and entry checksums repaired, so
// mutations reach the entry parser and the replay), opened over a real saved database of two
// images, then searched, changed and saved.
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>

#include "imgvec/database.hpp"
#include "imgvec/encoder/descriptor_encoder.hpp"
#define IMGVEC_FUZZ_DATABASE
#include "fuzz_support.hpp"
#include "imgvec/error.hpp"

namespace {


// The log layout (src/database/write_ahead_log.cpp): a 32-byte header whose last 8 bytes hash
// the first 24, then entries of [u32 length][u32 0][u64 XXH3 of the body][body].
void repair_log(std::string& bytes) {
  if (bytes.size() < 32) return;
  const std::uint64_t h = XXH3_64bits(bytes.data(), 24);
  std::memcpy(&bytes[24], &h, 8);
  std::size_t at = 32;
  while (bytes.size() - at >= 16) {
    std::uint32_t length;
    std::memcpy(&length, &bytes[at], 4);
    if (length > bytes.size() - at - 16) break;
    const std::uint64_t body = XXH3_64bits(bytes.data() + at + 16, length);
    std::memcpy(&bytes[at + 8], &body, 8);
    at += 16 + length;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string dir = imgvec::fuzz::fresh_database_copy();
  std::string bytes(reinterpret_cast<const char*>(data), size);
  repair_log(bytes);
  imgvec::fuzz::write_file(dir + "/log-0.imgvlog", bytes.data(), bytes.size());
  try {
    imgvec::OpenOptions options;
    options.durability = imgvec::Durability::on_write;
    auto db =
        imgvec::VectorDatabase::open(dir, std::make_shared<imgvec::DescriptorEncoder>(), options);
    std::vector<float> q(db->dimension(), 0.1f);
    db->search_by_vector(imgvec::VectorView(q.data(), q.size()), 5);
    for (imgvec::Id id : db->ids()) db->update_metadata(id, {{"k", std::int64_t{1}}});
    db->save();
  } catch (const imgvec::Error&) {
  }
  return 0;
}
