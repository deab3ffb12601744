// Photo facts and image analysis for images indexed before imgvec read them: an unchanged file is
// never read again by index_directory, so without this an upgraded database would never learn
// when its photos were taken. The file is decoded (at reduced scale) but not embedded again.
#include "database/database_impl.hpp"
#include "database/write_transaction.hpp"
#include "imgvec/database.hpp"

namespace imgvec {

std::size_t VectorDatabase::refresh_photo_facts(const std::vector<Id>& ids) {
  std::size_t refreshed = 0;
  for (Id id : ids) {
    std::string source;
    {
      Impl::Shared guard(impl_->lock);
      const ImageRecord* r = impl_->store.get(id);
      if (!r || r->source.empty() || r->analysis.analysed()) continue;
      source = r->source;
    }
    PhotoFacts photo;
    ImageAnalysis analysis;
    try {
      const std::vector<std::uint8_t> bytes = read_image_file(source, impl_->encoder.get().decode_options());
      const Image image = decode_image(bytes.data(), bytes.size(), source, impl_->encoder.get().decode_options());
      photo = read_photo_facts(bytes.data(), bytes.size());
      analysis = analyze_image(image);
    } catch (const Error&) {
      continue;  // gone or changed since: the next index run handles it as such
    }
    detail::WriteTransaction tx(*impl_);
    const ImageRecord* r = impl_->store.get(id);
    if (!r || r->source != source || r->analysis.analysed()) continue;
    ImageRecord copy = *r;
    complete_taken(photo, source);
    copy.photo = std::move(photo);
    copy.analysis = std::move(analysis);
    tx.put(std::move(copy));
    tx.commit();
    ++refreshed;
  }
  return refreshed;
}

}  // namespace imgvec
