// Index files (flat and HNSW, float32, float16, sq8 and sq4), then every operation on what loaded: a file
// that passes validation must be safe to search, change, save and load again. The same bytes are
// also opened mapped (Index::open_mapped), which checks far less at the open: searching what it
// opens must throw imgvec::Error or answer, never read out of bounds, and changing it must check
// the file whole first.
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "imgvec/error.hpp"
#include "imgvec/index/index.hpp"
#include "index_operations.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  imgvec::fuzz::repair_index_file(bytes);
  const std::string path = imgvec::fuzz::scratch() + "/index";
  imgvec::fuzz::write_file(path, bytes.data(), bytes.size());
  try {
    auto mapped = imgvec::Index::open_mapped(path);
    if (mapped->dimension() <= 4096) imgvec::fuzz::exercise_index(*mapped);
  } catch (const imgvec::Error&) {
  }
  std::unique_ptr<imgvec::Index> index;
  try {
    index = imgvec::Index::load(path);
  } catch (const imgvec::Error&) {
    return 0;
  }
  if (index->dimension() > 4096) return 0;  // valid but slow to exercise
  try {
    imgvec::fuzz::exercise_index(*index);
    index->save(path + ".again");
    auto again = imgvec::Index::load(path + ".again");
    if (again->size() != index->size()) __builtin_trap();
  } catch (const imgvec::Error&) {
  }
  return 0;
}
