// What a database holds and how it stands: stats, size, its encoder.
#include <filesystem>
#include <system_error>

#include "database/database_impl.hpp"
#include "imgvec/image/image.hpp"

namespace imgvec {
namespace fs = std::filesystem;

DatabaseStats VectorDatabase::get_stats() const {
  Impl::Shared guard(impl_->lock);
  DatabaseStats s;
  s.directory = impl_->dir;
  s.count = impl_->store.size();
  s.dimension = impl_->encoder.dimension();
  s.encoder = impl_->encoder.fingerprint();
  s.index_kind = impl_->index->kind();
  s.storage = impl_->index->storage();
  s.memory_bytes = impl_->index->memory_bytes() + impl_->store.size() * sizeof(ImageRecord);
  s.generation = impl_->manifest.generation;
  s.unsaved_changes = impl_->changes - impl_->changes_at_save;
  s.log_bytes = impl_->log->pending_bytes();
  s.log_syncs = impl_->log->syncs();
  s.replayed_changes = impl_->replayed;
  s.dropped_log_bytes = impl_->dropped_log_bytes;
  s.formats = impl_->store.format_counts();
  s.decodable_formats = supported_image_formats();
  for (const auto& f : {detail::manifest_path(impl_->dir), detail::index_path(impl_->dir, s.generation),
                        detail::metadata_path(impl_->dir, s.generation)}) {
    std::error_code ec;
    const auto n = fs::file_size(f, ec);
    if (!ec) s.disk_bytes += n;
  }
  return s;
}

std::size_t VectorDatabase::unsaved_changes() const {
  Impl::Shared guard(impl_->lock);
  return impl_->changes - impl_->changes_at_save;
}

bool VectorDatabase::read_only() const { return impl_->read_only; }

std::size_t VectorDatabase::size() const {
  Impl::Shared guard(impl_->lock);
  return impl_->store.size();
}
std::size_t VectorDatabase::dimension() const { return impl_->encoder.dimension(); }
const std::string& VectorDatabase::directory() const { return impl_->dir; }
const Encoder& VectorDatabase::encoder() const { return impl_->encoder.get(); }
std::shared_ptr<Encoder> VectorDatabase::shared_encoder() const { return impl_->encoder.shared(); }
const EncoderFingerprint& VectorDatabase::encoder_fingerprint() const { return impl_->encoder.fingerprint(); }
bool VectorDatabase::encoder_loaded() const { return impl_->encoder.loaded(); }

}  // namespace imgvec
