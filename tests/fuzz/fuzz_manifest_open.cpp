// A database folder whose MANIFEST is the input (checksums repaired), opened over a real saved
// database, then searched and saved.
#include <cstdint>
#include <filesystem>
#include <string>

#include "fuzz_support.hpp"
#include "imgvec/database.hpp"
#include "imgvec/encoder/descriptor_encoder.hpp"
#include "imgvec/error.hpp"

namespace {

// A database of two images, saved once; each input gets a fresh copy of it.
const std::string& template_db() {
  static const std::string dir = [] {
    const std::string d = imgvec::fuzz::scratch() + "/template";
    auto db = imgvec::VectorDatabase::create(d, std::make_shared<imgvec::DescriptorEncoder>());
    db->add_image(std::string(IMGVEC_FUZZ_IMAGES) + "/giphy.gif", {{"a", std::string("b")}});
    db->add_image(std::string(IMGVEC_FUZZ_IMAGES) + "/Iggy.256.ppm");
    db->save();
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fs = std::filesystem;
  const std::string dir = imgvec::fuzz::scratch() + "/db";
  fs::remove_all(dir);
  fs::copy(template_db(), dir);
  fs::remove(dir + "/LOCK");
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
