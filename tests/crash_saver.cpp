// Helper for the crash-consistency test: adds images and saves in a loop, printing the number of
// images after each completed save, until it is killed.
//   imgvec_crash_saver DIR
#include <cstdio>
#include <string>

#include "imgvec/database.hpp"
#include "imgvec/encoder/descriptor_encoder.hpp"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  auto encoder = std::make_shared<imgvec::DescriptorEncoder>();
  std::unique_ptr<imgvec::VectorDatabase> db;
  try {
    db = imgvec::VectorDatabase::open(argv[1], encoder);
  } catch (const imgvec::Error& e) {
    if (e.code() != imgvec::ErrorCode::not_found) throw;
    db = imgvec::VectorDatabase::create(argv[1], encoder, {imgvec::IndexKind::hnsw, {}});
  }
  std::uint32_t seed = static_cast<std::uint32_t>(db->size()) * 2654435761u + 1;
  for (;;) {
    for (int i = 0; i < 40; ++i) {  // small PPM images of varying colour
      std::string ppm = "P6\n8 8\n255\n";
      for (int p = 0; p < 8 * 8 * 3; ++p) {
        seed = seed * 1664525u + 1013904223u;
        ppm.push_back(static_cast<char>(seed >> 24));
      }
      db->add_image_bytes(ppm.data(), ppm.size(), "", {{"batch", std::int64_t(db->size() / 40)}});
    }
    db->save();
    std::printf("%zu\n", db->size());
    std::fflush(stdout);
  }
}
