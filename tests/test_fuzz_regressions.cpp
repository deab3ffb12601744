#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "../fuzz/fuzz_support.hpp"
#include "../fuzz/index_operations.hpp"
#include "imgvec/error.hpp"
#include "imgvec/index/index.hpp"

// Inputs the fuzz targets (tests/fuzz/) once failed on, replayed by the ordinary test suite so
// that GCC and sanitizer builds without libFuzzer keep them fixed. Each file is the input
// libFuzzer wrote; its checksums are repaired here as the target repairs them.
namespace fs = std::filesystem;

TEST_CASE("index files that fuzzing found problems with load and operate safely", "[io][fuzz]") {
  const fs::path dir = fs::path(IMGVEC_TEST_DATA_DIR) / "fuzz-regressions" / "index_load";
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    INFO(entry.path().string());
    ++files;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    imgvec::fuzz::repair_index_file(bytes);
    const std::string path = imgvec::fuzz::scratch() + "/index";
    imgvec::fuzz::write_file(path, bytes.data(), bytes.size());
    try {
      auto index = imgvec::Index::load(path);
      imgvec::fuzz::exercise_index(*index);
    } catch (const imgvec::Error&) {
      // Refusing the file is as good as handling it; crashing (under ASan/UBSan) is not.
    }
  }
  CHECK(files > 0);
}
