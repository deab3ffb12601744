// Prints, as JSON, what a CLIP model bundle makes of a text or an image: the token ids, or the
// embedding. It becomes `imgvec tokenize` and `imgvec embed` in the imgvec command-line tool.
//
//   clip_embed --model BUNDLE --tokens "a photo of a cat"
//   clip_embed --model BUNDLE --text "a photo of a cat"
//   clip_embed --model BUNDLE --image photo.jpg [--image more.png ...] [--device cpu]

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "imgvec/imgvec.hpp"

namespace {

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s --model BUNDLE (--tokens TEXT | --text TEXT | --image FILE...)\n"
               "          [--device cpu|cuda|auto]\n",
               argv0);
  return 2;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

void print_vector(const float* v, std::size_t n) {
  std::printf("[");
  for (std::size_t i = 0; i < n; ++i) std::printf(i ? ", %.9g" : "%.9g", static_cast<double>(v[i]));
  std::printf("]");
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, mode, text;
  std::vector<std::string> images;
  imgvec::ClipEncoderOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage(argv[0]);
    if (arg == "--model") {
      model = argv[++i];
    } else if (arg == "--device") {
      options.device = argv[++i];
    } else if (arg == "--tokens" || arg == "--text") {
      if (!mode.empty()) return usage(argv[0]);
      mode = arg.substr(2);
      text = argv[++i];
    } else if (arg == "--image") {
      if (!mode.empty() && mode != "image") return usage(argv[0]);
      mode = "image";
      images.push_back(argv[++i]);
    } else {
      return usage(argv[0]);
    }
  }
  if (model.empty() || mode.empty()) return usage(argv[0]);

  try {
    imgvec::ClipEncoder encoder(model, options);
    std::printf("{\"model\": %s, \"runtime\": %s", json_string(encoder.info().name).c_str(),
                json_string(encoder.runtime()).c_str());
    if (mode == "tokens") {
      const auto ids = encoder.tokenizer().encode(text);
      std::printf(", \"text\": %s, \"tokens\": [", json_string(text).c_str());
      for (std::size_t i = 0; i < ids.size(); ++i) std::printf(i ? ", %d" : "%d", ids[i]);
      std::printf("]}\n");
      return 0;
    }
    std::printf(", \"dimension\": %zu", encoder.dimension());
    if (mode == "text") {
      const auto v = encoder.embed_text(text);
      std::printf(", \"text\": %s, \"embedding\": ", json_string(text).c_str());
      print_vector(v.data(), v.size());
      std::printf("}\n");
      return 0;
    }
    const auto results = encoder.embed_image_files(images);
    int failures = 0;
    std::printf(", \"images\": [");
    for (std::size_t i = 0; i < results.size(); ++i) {
      std::printf("%s\n  {\"file\": %s, ", i ? "," : "", json_string(images[i]).c_str());
      if (results[i].ok()) {
        std::printf("\"embedding\": ");
        print_vector(results[i].vector.data(), results[i].vector.size());
      } else {
        ++failures;
        std::printf("\"error\": %s", json_string(results[i].error).c_str());
      }
      std::printf("}");
    }
    std::printf("]}\n");
    return failures ? 1 : 0;
  } catch (const imgvec::Error& e) {
    std::fprintf(stderr, "clip_embed: %s\n", e.what());
    return 1;
  }
}
