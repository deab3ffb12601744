#pragma once
// Reads the reference files tests/reference/pil_preprocess.py writes into the build tree (see its
// docstring for the layout and the sizes).

#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "imgvec/image/image.hpp"

namespace imgvec::testing {

inline const std::string kImages = std::string(IMGVEC_TEST_DATA_DIR) + "/images/";
inline const std::string kReference = IMGVEC_PREPROCESS_REFERENCE_DIR;
inline constexpr int kResizes = 6;
inline const std::uint32_t kPreprocessSizes[] = {224, 61};

struct Reference {
  Image decoded;                     // PIL's decoding with imgvec's conventions
  std::vector<Image> resized;        // PIL's BICUBIC resizes of `decoded`
  std::vector<std::vector<float>> tensors;  // open_clip's transform, per kPreprocessSizes
};

class Reader {
 public:
  explicit Reader(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) FAIL("missing reference file " << path << " (built by the imgvec_test_references target)");
    bytes_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::uint32_t u32() {
    std::uint32_t v;
    take(&v, 4);
    return v;
  }
  Image image() {
    Image im;
    im.width = u32();
    im.height = u32();
    im.rgb.resize(std::size_t{im.width} * im.height * 3);
    take(im.rgb.data(), im.rgb.size());
    return im;
  }
  void take(void* out, std::size_t n) {
    REQUIRE(at_ + n <= bytes_.size());
    std::memcpy(out, bytes_.data() + at_, n);
    at_ += n;
  }
  bool done() const { return at_ == bytes_.size(); }

 private:
  std::vector<char> bytes_;
  std::size_t at_ = 0;
};

inline Reference load_reference(const std::string& file) {
  Reader r(kReference + "/" + file + ".ref");
  Reference ref;
  ref.decoded = r.image();
  for (int i = 0; i < kResizes; ++i) ref.resized.push_back(r.image());
  for (std::uint32_t s : kPreprocessSizes) {
    REQUIRE(r.u32() == s);
    ref.tensors.emplace_back(std::size_t{3} * s * s);
    r.take(ref.tensors.back().data(), ref.tensors.back().size() * sizeof(float));
  }
  REQUIRE(r.done());
  return ref;
}


/// The images the references cover; `lossless` when PIL and stb_image must agree exactly.
struct TestImage {
  const char* file;
  bool lossless;
};
inline const TestImage kTestImages[] = {
    {"ukbench01380.jpg", false},       {"ukbench09060.jpg", false},
    {"ukbench00120_gray.jpg", false},  {"ukbench09380.jpeg", false},
    {"alpha_channel_image.png", true}, {"giphy.gif", true},
    {"Iggy.256.ppm", true},            {"baboon.256.pgm", true},
    {"ukbench09380.webp", false},      {"copyleft.tiff", true},
};

}  // namespace imgvec::testing
