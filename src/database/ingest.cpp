#include "database/ingest.hpp"

#include "io/binary_io.hpp"  // XXH3, header-only

namespace imgvec::detail {

std::vector<IngestedImage> ingest_images(Encoder& encoder, const std::vector<IngestItem>& items,
                                         const EmbedFilesOptions& options, const IngestScreen& screen) {
  std::vector<IngestedImage> out(items.size());
  std::vector<std::string> names;
  names.reserve(items.size());
  for (const IngestItem& item : items) names.push_back(item.name);
  const DecodeOptions decode = encoder.decode_options(options.decode);
  // Each worker writes only the entries of the images it makes; they are read after the
  // pipeline has joined its workers.
  std::vector<ImageEmbedding> embedded = encoder.embed_made_images(
      names,
      [&](std::size_t i, Image& image) {
        const IngestItem& item = items[i];
        std::vector<std::uint8_t> owned;
        const std::uint8_t* data = item.data;
        std::size_t size = item.size;
        if (!data) {
          owned = read_image_file(item.name, decode);
          data = owned.data();
          size = owned.size();
        }
        out[i].hash = XXH3_64bits(data, size);
        if (screen && !screen(i, out[i].hash)) {
          out[i].set_aside = true;
          // The pipeline's way to skip an image is to fail it; set_aside tells this failure apart.
          throw Error(ErrorCode::invalid_argument, item.name + ": set aside");
        }
        image = decode_image(data, size, item.name, decode);
        out[i].photo = read_photo_facts(data, size);
        out[i].analysis = analyze_image(image);
      },
      options);
  const std::string precision = encoder.precision() == "float32" ? "" : encoder.precision();
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i].embedding = std::move(embedded[i]);
    out[i].precision = precision;
  }
  return out;
}

}  // namespace imgvec::detail
