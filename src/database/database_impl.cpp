// The database's changes, each made under a WriteTransaction (write_transaction.hpp).
#include "database/database_impl.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include "database/write_transaction.hpp"
#include "imgvec/error.hpp"

namespace imgvec {

void VectorDatabase::Impl::refuse_if_read_only(const char* what) const {
  if (!read_only) return;
  throw Error(ErrorCode::invalid_argument,
              dir + ": opened read-only (another process may hold it), so it cannot " + what +
                  "; open it without read_only once that process has ended");
}

VectorDatabase::Impl::~Impl() {
  if (text_cache) text_cache->persist();  // while the lock is still held
  if (lock_fd >= 0) ::close(lock_fd);
}

void VectorDatabase::Impl::make_text_cache() {
  text_cache = std::make_unique<detail::TextCache>(detail::text_cache_path(dir), !read_only,
                                                   encoder.fingerprint().to_string(), encoder.dimension());
}

void VectorDatabase::Impl::log_put(const ImageRecord& rec, const std::vector<float>* vector) {
  if (durability == Durability::on_write) {
    std::string bytes;
    ImageRecord moved;  // only an uploaded file's record is copied, to write "$DB/..." for it
    const ImageRecord* logged_record = &rec;
    if (files_prefix.applies(rec.source, true)) {
      moved = rec;
      moved.source = files_prefix.apply(rec.source, true);
      logged_record = &moved;
    }
    detail::encode_log_put(bytes, *logged_record, vector ? vector->data() : nullptr, vector ? vector->size() : 0);
    logged = log->append(bytes);
  }
  ++changes;
}

void VectorDatabase::Impl::log_remove(Id id) {
  if (durability == Durability::on_write) {
    std::string bytes;
    detail::encode_log_remove(bytes, id);
    logged = log->append(bytes);
  }
  ++changes;
}

void VectorDatabase::Impl::sync_log(std::uint64_t position) {
  if (position) log->sync(position);
}

// The counter never wraps: after an import of ids up to kMaxId it stops there, and adds are
// refused rather than given id 0, 1, 2... which would replace the images stored under them.
Id VectorDatabase::Impl::take_id() {
  if (manifest.next_id == 0 || manifest.next_id > kMaxId) {
    throw Error(ErrorCode::invalid_argument,
                dir + ": every image id up to 2^64-2 is taken (an import held ids that large), so "
                      "nothing more can be added; export the database and import it with new ids "
                      "(imgvec import --new-ids) to number its images from 1 again");
  }
  return manifest.next_id++;
}

AddResult VectorDatabase::Impl::insert(detail::WriteTransaction& tx, const std::string& source,
                                       const detail::FileFacts* facts, std::uint64_t hash,
                                       const detail::IngestedImage& image, const Metadata* metadata,
                                       const std::vector<std::string>* tags) {
  const ImageEmbedding& e = image.embedding;
  AddResult r;
  r.source = source;
  ImageRecord rec;
  const auto existing = facts ? store.find_source(source) : std::nullopt;
  if (existing) {
    rec = *store.get(*existing);
    r.status = AddStatus::updated;
  } else {
    rec.id = take_id();
    rec.added_ms = detail::now_ms();
    r.status = AddStatus::added;
  }
  rec.source = source;
  rec.content_hash = hash;
  rec.file_size = facts ? facts->size : 0;
  rec.mtime_ns = facts ? facts->mtime_ns : 0;
  rec.width = e.width;
  rec.height = e.height;
  rec.format = e.format;
  rec.photo = image.photo;
  rec.analysis = image.analysis;
  rec.precision = image.precision;
  complete_taken(rec.photo, source);
  if (metadata) rec.metadata = *metadata;
  if (tags) rec.tags = *tags;
  r.id = rec.id;
  tx.put(std::move(rec), &e.vector);
  return r;
}

bool VectorDatabase::Impl::apply_metadata(detail::WriteTransaction& tx, const ImageRecord& rec,
                                          const Metadata* metadata, const std::vector<std::string>* tags) {
  if ((!metadata || *metadata == rec.metadata) && (!tags || *tags == rec.tags)) return false;
  ImageRecord copy = rec;
  if (metadata) copy.metadata = *metadata;
  if (tags) copy.tags = *tags;
  tx.put(std::move(copy));
  return true;
}

bool VectorDatabase::Impl::move_record(detail::WriteTransaction& tx, const std::string& path,
                                       const detail::FileFacts& facts, std::uint64_t hash,
                                       const Metadata* metadata, const std::vector<std::string>* tags,
                                       AddResult& result) {
  const std::optional<Id> id = moved_image(path, hash);
  if (!id) return false;
  ImageRecord moved = *store.get(*id);
  moved.source = path;
  moved.file_size = facts.size;
  moved.mtime_ns = facts.mtime_ns;
  complete_taken(moved.photo, path);
  if (metadata) moved.metadata = *metadata;
  if (tags) moved.tags = *tags;
  tx.put(std::move(moved));
  result.status = AddStatus::renamed;
  result.id = *id;
  return true;
}

std::optional<Id> VectorDatabase::Impl::moved_image(const std::string& path, std::uint64_t hash) const {
  if (store.find_source(path)) return std::nullopt;  // its own record: a changed file, not a moved one
  for (Id id : store.find_hash(hash)) {
    const ImageRecord* rec = store.get(id);
    struct stat st {};
    if (!rec->source.empty() && ::stat(rec->source.c_str(), &st) != 0) return id;
  }
  return std::nullopt;
}

}  // namespace imgvec
