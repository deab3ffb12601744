// Changes to stored images that embed nothing: removal, metadata and tags. (Labels are
// labels.cpp, photo facts refresh_facts.cpp.)
#include "database/database_impl.hpp"
#include "database/write_transaction.hpp"
#include "imgvec/error.hpp"

namespace imgvec {

bool VectorDatabase::remove(Id id) {
  detail::WriteTransaction tx(*impl_);
  if (!impl_->store.get(id)) return false;
  tx.remove(id);
  tx.commit();
  return true;
}

void VectorDatabase::update_metadata(Id id, const Metadata& metadata, const std::vector<std::string>* tags) {
  detail::WriteTransaction tx(*impl_);
  const ImageRecord* r = impl_->store.get(id);
  if (!r) throw Error(ErrorCode::not_found, "update_metadata: no image with id " + std::to_string(id));
  ImageRecord copy = *r;
  copy.metadata = metadata;
  if (tags) copy.tags = *tags;
  tx.put(std::move(copy));
  tx.commit();
}

ImageRecord VectorDatabase::patch_metadata(Id id, const Metadata& set, const std::vector<std::string>& unset,
                                           const std::vector<std::string>* tags) {
  detail::WriteTransaction tx(*impl_);
  const ImageRecord* r = impl_->store.get(id);
  if (!r) throw Error(ErrorCode::not_found, "patch_metadata: no image with id " + std::to_string(id));
  ImageRecord copy = *r;
  for (const auto& key : unset) copy.metadata.erase(key);
  for (const auto& [key, value] : set) copy.metadata[key] = value;
  if (tags) copy.tags = *tags;
  tx.put(copy);
  tx.commit();
  return copy;
}

}  // namespace imgvec
