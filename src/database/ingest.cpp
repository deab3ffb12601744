#include "database/ingest.hpp"

namespace imgvec::detail {

std::vector<IngestedImage> ingest_images(Encoder& encoder, std::vector<HeldImage>& images,
                                         const EmbedFilesOptions& options) {
  std::vector<IngestedImage> out(images.size());
  std::vector<std::string> names;
  names.reserve(images.size());
  for (const HeldImage& h : images) names.push_back(h.name);
  const DecodeOptions decode = encoder.decode_options(options.decode);
  // Each worker writes only the entries of the images it makes; they are read after the
  // pipeline has joined its workers.
  std::vector<ImageEmbedding> embedded = encoder.embed_made_images(
      names,
      [&](std::size_t i, Image& image) {
        HeldImage& h = images[i];
        image = decode_image(h.data, h.size, h.name, decode);
        out[i].photo = read_photo_facts(h.data, h.size);
        out[i].analysis = analyze_image(image);
        std::vector<std::uint8_t>().swap(h.owned);  // the pixels are all that is used from here
        h.data = nullptr;
        h.size = 0;
      },
      options);
  for (std::size_t i = 0; i < out.size(); ++i) out[i].embedding = std::move(embedded[i]);
  return out;
}

}  // namespace imgvec::detail
