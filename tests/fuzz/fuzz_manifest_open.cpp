// A database folder whose MANIFEST is the input (checksums repaired), opened over a real saved
// database (a fresh copy per input), then searched and saved.
#include <cstdint>
#include <filesystem>
#include <string>

#include "imgvec/database.hpp"
#include "imgvec/encoder/descriptor_encoder.hpp"
#define IMGVEC_FUZZ_DATABASE
#include "fuzz_support.hpp"
#include "imgvec/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string dir = imgvec::fuzz::fresh_database_copy();
  std::string bytes(reinterpret_cast<const char*>(data), size);
  imgvec::fuzz::repair_checked_file(bytes);
  imgvec::fuzz::write_file(dir + "/MANIFEST", bytes.data(), bytes.size());
  try {
    auto db = imgvec::VectorDatabase::open(dir, std::make_shared<imgvec::DescriptorEncoder>());
    std::vector<float> q(db->dimension(), 0.1f);
    db->search_by_vector(q, 3);
    db->get_stats();
    db->save();
  } catch (const imgvec::Error&) {
  }
  return 0;
}
