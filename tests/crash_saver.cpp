// Helper for the crash-consistency tests: adds images in a loop until it is killed.
//   imgvec_crash_saver DIR         saves after every 40 images and prints the count after each save
//   imgvec_crash_saver DIR --log   adds with Durability::on_write, never saves, and prints each
//                                  acknowledged image's id as add_image_bytes returns it
#include <cstdio>
#include <cstring>
#include <string>

#include "imgvec/database.hpp"
#include "imgvec/encoder/descriptor_encoder.hpp"

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const bool log = argc > 2 && std::strcmp(argv[2], "--log") == 0;
  auto encoder = std::make_shared<imgvec::DescriptorEncoder>();
  imgvec::DatabaseOptions options;
  options.index_kind = imgvec::IndexKind::hnsw;
  options.durability = log ? imgvec::Durability::on_write : imgvec::Durability::on_save;
  auto db = imgvec::VectorDatabase::open_or_create(argv[1], encoder, options);
  std::uint32_t seed = static_cast<std::uint32_t>(db->size()) * 2654435761u + 1;
  for (;;) {
    for (int i = 0; i < 40; ++i) {  // small PPM images of varying colour
      std::string ppm = "P6\n8 8\n255\n";
      for (int p = 0; p < 8 * 8 * 3; ++p) {
        seed = seed * 1664525u + 1013904223u;
        ppm.push_back(static_cast<char>(seed >> 24));
      }
      const auto id = db->add_image_bytes(ppm.data(), ppm.size(), "",
                                          {{"batch", std::int64_t(db->size() / 40)}});
      if (log) {
        std::printf("%llu\n", static_cast<unsigned long long>(id));
        std::fflush(stdout);
      }
    }
    if (!log) {
      db->save();
      std::printf("%zu\n", db->size());
      std::fflush(stdout);
    }
  }
}
