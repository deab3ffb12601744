// A downstream program: builds, saves, reloads and searches an index, tokenizes a text, decodes
// an image and, where imgvec has its CLIP encoder, embeds the image, all through the public API,
// so every dependency the installed package exports is linked.
//   consumer INDEX_PATH MERGES_FILE IMAGE_FILE BUNDLE
#include <imgvec/imgvec.hpp>

#include <cstdint>
#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 5) return 2;
  imgvec::HnswIndex index(3, imgvec::Metric::cosine);
  index.add(1, std::vector<float>{1, 0, 0});
  index.add(2, std::vector<float>{0, 1, 0});
  index.add(3, std::vector<float>{0.9f, 0.1f, 0});
  index.save(argv[1]);
  auto loaded = imgvec::Index::load(argv[1], 3);
  auto hits = loaded->search(std::vector<float>{1, 0.05f, 0}, 2);
  const bool index_ok = hits.size() == 2 && hits[0].id == 1 && hits[1].id == 3;

  const auto tokenizer = imgvec::ClipTokenizer::from_file(argv[2]);
  const bool tokens_ok = tokenizer.encode("a photo of a dog") ==
                         std::vector<std::int32_t>{320, 1125, 539, 320, 1929};

  const imgvec::Image image = imgvec::decode_image_file(argv[3]);
  const bool image_ok = image.width == 640 && image.height == 480;

#ifdef IMGVEC_HAS_CLIP_ENCODER
  imgvec::ClipEncoderOptions options;
  options.device = "cpu";
  imgvec::ClipEncoder encoder(argv[4], options);
  const bool encoder_ok = encoder.embed_image(image).size() == encoder.dimension();
  const char* encoder_state = encoder_ok ? "ok" : "WRONG";
#else
  const bool encoder_ok = true;
  const char* encoder_state = "not built";
#endif

  std::printf("imgvec %s consumer: index %s, tokenizer %s, image %s, CLIP encoder %s\n",
              imgvec::version_string(), index_ok ? "ok" : "WRONG", tokens_ok ? "ok" : "WRONG",
              image_ok ? "ok" : "WRONG", encoder_state);
  return index_ok && tokens_ok && image_ok && encoder_ok ? 0 : 1;
}
