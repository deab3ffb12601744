// Images in: files (read once, hashed, renames recognised, then ingested: ingest.hpp) and bytes
// from memory.
#include <algorithm>

#include "database/add_inputs.hpp"
#include "database/database_impl.hpp"
#include "database/ingest.hpp"
#include "database/write_transaction.hpp"
#include "imgvec/error.hpp"

namespace imgvec {

const char* to_string(AddStatus status) {
  switch (status) {
    case AddStatus::added: return "added";
    case AddStatus::updated: return "updated";
    case AddStatus::unchanged: return "unchanged";
    case AddStatus::failed: return "failed";
    case AddStatus::renamed: return "renamed";
    case AddStatus::removed: return "removed";
    case AddStatus::interrupted: return "interrupted";
  }
  return "?";
}

Id VectorDatabase::add_image(const std::string& path, const Metadata& metadata, const std::vector<std::string>& tags) {
  // Given metadata or tags replace the old ones; none given keeps them. Either way they are
  // applied in the same write-locked step that stores the image.
  AddInputs in;
  const std::vector<Metadata> m{metadata};
  const std::vector<std::vector<std::string>> t{tags};
  if (!metadata.empty()) in.metadata = &m;
  if (!tags.empty()) in.tags = &t;
  const AddResult r = add_paths({path}, in).front();
  if (r.status == AddStatus::failed) throw Error(r.code, r.error);
  return r.id;
}

Id VectorDatabase::add_image_bytes(const void* data, std::size_t size, const std::string& name,
                                   const Metadata& metadata, const std::vector<std::string>& tags) {
  // The ingest stage, as for files: one decode, the photo facts and analysis from the same bytes.
  const detail::IngestItem item{name.empty() ? "image" : name, static_cast<const std::uint8_t*>(data), size};
  const detail::IngestedImage e = detail::ingest_images(impl_->encoder.get(), {item}, EmbedFilesOptions{}).front();
  if (!e.embedding.ok()) throw Error(e.embedding.code, e.embedding.error);
  // No source path: the name goes into the metadata, so it can never pass for a file's path.
  Metadata m = metadata;
  if (!name.empty()) m.emplace("name", name);
  detail::WriteTransaction tx(*impl_);
  const Id id = impl_->insert(tx, "", nullptr, e.hash, e, &m, &tags).id;
  tx.commit();
  return id;
}

std::vector<AddResult> VectorDatabase::add_images_batch(const std::vector<std::string>& paths,
                                                        const std::vector<Metadata>& metadata,
                                                        const std::function<void(std::size_t, std::size_t)>& progress) {
  AddInputs in;
  if (!metadata.empty()) in.metadata = &metadata;
  in.progress = &progress;
  return add_paths(paths, in);
}

// Files whose path, size and modification time match their record are not read at all; files
// that failed before and have not changed are not read again. Each other file is read once, by
// the ingest stage's workers (ingest.hpp): its bytes are hashed (for renames and the record) and,
// unless it is a file that moved, decoded once for its vector, photo facts and analysis.
std::vector<AddResult> VectorDatabase::add_paths(const std::vector<std::string>& paths, const AddInputs& in) {
  if (in.chunk == 0) throw Error(ErrorCode::invalid_argument, "index_directory: chunk must be at least 1");
  if (in.metadata && in.metadata->size() != paths.size()) {
    throw Error(ErrorCode::invalid_argument, "add_images_batch: " + std::to_string(in.metadata->size()) +
                                                 " metadata entries for " + std::to_string(paths.size()) + " paths");
  }
  if (in.held_data && paths.size() != 1) throw Error(ErrorCode::invalid_argument, "add_paths: held bytes for one path only");
  const auto* progress = in.progress && *in.progress ? in.progress : nullptr;
  const auto cancelled = [&] { return in.cancelled && (*in.cancelled)(); };
  auto metadata_of = [&](std::size_t i) { return in.metadata ? &(*in.metadata)[i] : nullptr; };
  auto tags_of = [&](std::size_t i) { return in.tags ? &(*in.tags)[i] : nullptr; };
  std::vector<AddResult> results(paths.size());
  std::size_t done = 0;
  for (std::size_t first = 0; first < paths.size(); first += in.chunk) {
    if (cancelled()) break;
    const std::size_t end = std::min(paths.size(), first + in.chunk);
    std::vector<detail::FileFacts> facts(end - first);
    bool changed = false;

    // What can be settled without reading: unchanged files, remembered failures, missing files.
    std::vector<std::size_t> group;  // the files to read, as indexes into paths
    std::vector<detail::IngestItem> items;
    std::size_t settled = 0;  // files of this chunk with their outcome, for progress
    for (std::size_t i = first; i < end; ++i) {
      AddResult& r = results[i];
      r.source = paths[i];
      try {
        facts[i - first] = detail::stat_file(paths[i]);
      } catch (const Error& e) {
        r.code = e.code();
        r.error = e.what();
        ++settled;
        continue;
      }
      Impl::Shared guard(impl_->lock);
      if (in.remember_failures) {
        const auto f = impl_->failed.find(paths[i]);
        if (f != impl_->failed.end() && f->second.size == facts[i - first].size &&
            f->second.mtime_ns == facts[i - first].mtime_ns) {
          r.code = f->second.code;
          r.error = f->second.error;
          r.remembered = true;
          ++settled;
          continue;
        }
      }
      const auto id = impl_->store.find_source(paths[i]);
      const ImageRecord* rec = id ? impl_->store.get(*id) : nullptr;
      if (rec && rec->file_size == facts[i - first].size && rec->mtime_ns == facts[i - first].mtime_ns) {
        r.status = AddStatus::unchanged;
        r.id = *id;
        ++settled;
        continue;
      }
      group.push_back(i);
      items.push_back({paths[i], static_cast<const std::uint8_t*>(in.held_data), in.held_size});
    }

    // Read, hashed and decoded on the workers. A new path whose bytes belong to an image whose
    // own file is gone is set aside after hashing (never decoded): the record moves to it below.
    EmbedFilesOptions options;
    options.decode = in.limits;
    if (in.cancelled) options.cancel = *in.cancelled;  // stops between batches
    options.stats = in.stats;
    if (progress) options.progress = [&](std::size_t d, std::size_t) { (*progress)(done + settled + d, paths.size()); };
    detail::IngestScreen moved_file;
    if (in.detect_renames) {
      moved_file = [&](std::size_t g, std::uint64_t hash) {
        Impl::Shared guard(impl_->lock);
        return !impl_->moved_image(paths[group[g]], hash);
      };
    }
    std::vector<detail::IngestedImage> ingested = detail::ingest_images(impl_->encoder.get(), items, options, moved_file);

    std::vector<std::size_t> embed_after_all;  // set aside, but the moved record is gone meanwhile
    auto store = [&](detail::WriteTransaction& tx, std::size_t g, const detail::IngestedImage& image) {
      const std::size_t i = group[g];
      const ImageEmbedding& e = image.embedding;
      if (e.cancelled) {
        results[i].status = AddStatus::interrupted;
        return;
      }
      if (image.set_aside) {
        if (impl_->move_record(tx, paths[i], facts[i - first], image.hash, metadata_of(i), tags_of(i), results[i])) {
          changed = true;
        } else {
          embed_after_all.push_back(g);
        }
        return;
      }
      if (!e.ok()) {
        results[i].code = e.code;
        results[i].error = e.error;
        if (in.remember_failures && detail::lasting_failure(e.code)) {
          impl_->failed[paths[i]] = {facts[i - first].size, facts[i - first].mtime_ns, e.code, e.error};
          changed = true;
        }
        return;
      }
      results[i] = impl_->insert(tx, paths[i], &facts[i - first], image.hash, image, metadata_of(i), tags_of(i));
      changed = true;
    };
    {
      detail::WriteTransaction tx(*impl_);
      for (std::size_t g = 0; g < group.size(); ++g) store(tx, g, ingested[g]);
      tx.commit();
    }
    if (!embed_after_all.empty()) {
      std::vector<detail::IngestItem> again;
      for (std::size_t g : embed_after_all) again.push_back(items[g]);
      ingested = detail::ingest_images(impl_->encoder.get(), again, options);
      detail::WriteTransaction tx(*impl_);
      for (std::size_t k = 0; k < again.size(); ++k) store(tx, embed_after_all[k], ingested[k]);
      tx.commit();
    }

    {
      detail::WriteTransaction tx(*impl_);
      // A file that now indexes (fixed, or replaced) is no longer a failure.
      for (std::size_t i = first; i < end; ++i) {
        const AddStatus st = results[i].status;
        if (st != AddStatus::failed && st != AddStatus::interrupted && impl_->failed.erase(paths[i])) changed = true;
      }
      // Unchanged files take the metadata and tags they were given too, in this same step.
      for (std::size_t i = first; i < end; ++i) {
        AddResult& r = results[i];
        if (r.status != AddStatus::unchanged || (!metadata_of(i) && !tags_of(i))) continue;
        const ImageRecord* rec = impl_->store.get(r.id);
        if (!rec || rec->source != paths[i]) {
          r.status = AddStatus::failed;
          r.code = ErrorCode::not_found;
          r.error = paths[i] + ": removed while being added";
          continue;
        }
        changed = impl_->apply_metadata(tx, *rec, metadata_of(i), tags_of(i)) || changed;
      }
      tx.commit();
    }
    done = end;
    if (in.checkpoint && changed) save();
    if (progress) (*progress)(done, paths.size());
  }
  for (std::size_t i = done; i < paths.size(); ++i) {
    results[i].source = paths[i];
    results[i].status = AddStatus::interrupted;
  }
  return results;
}

}  // namespace imgvec
