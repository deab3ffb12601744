// Image files embedded outside a database, into the records a database would store: for
// embedding on a cluster and importing the results.
#include "database/database_impl.hpp"
#include "io/binary_io.hpp"

namespace imgvec {

std::vector<EmbeddedFile> embed_files_as_records(Encoder& encoder, const std::vector<std::string>& paths) {
  std::vector<EmbeddedFile> out(paths.size());
  std::vector<detail::FileFacts> facts(paths.size());
  std::vector<std::uint64_t> hashes(paths.size());
  std::vector<std::string> readable;
  std::vector<std::size_t> where;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    out[i].record.source = paths[i];  // failures name their file too
    try {
      facts[i] = detail::stat_file(paths[i]);
      hashes[i] = detail::hash_file(paths[i]);
      readable.push_back(paths[i]);
      where.push_back(i);
    } catch (const Error& e) {
      out[i].code = e.code();
      out[i].error = e.what();
    }
  }
  EmbedFilesOptions options;
  std::vector<ImageEmbedding> embedded = encoder.embed_image_files(readable, options);
  for (std::size_t t = 0; t < where.size(); ++t) {
    EmbeddedFile& f = out[where[t]];
    ImageEmbedding& e = embedded[t];
    if (!e.ok()) {
      f.code = e.code;
      f.error = e.error;
      continue;
    }
    // As VectorDatabase's insert makes a record (database_impl.hpp).
    ImageRecord& r = f.record;
    const std::size_t i = where[t];
    r.content_hash = hashes[i];
    r.file_size = facts[i].size;
    r.mtime_ns = facts[i].mtime_ns;
    r.width = e.width;
    r.height = e.height;
    r.format = e.format;
    r.photo = std::move(e.photo);
    r.analysis = std::move(e.analysis);
    if (!r.photo.taken_ms) set_taken_from_file_time(r.photo, facts[i].mtime_ns);
    r.added_ms = detail::now_ms();
    f.vector = std::move(e.vector);
  }
  return out;
}

}  // namespace imgvec
