// Image files embedded outside a database, into the records a database would store: for
// embedding on a cluster and importing the results. The same ingest stage as the database's: each
// file read once and decoded once.
#include "database/file_facts.hpp"
#include "database/ingest.hpp"
#include "imgvec/database.hpp"

namespace imgvec {

std::vector<EmbeddedFile> embed_files_as_records(Encoder& encoder, const std::vector<std::string>& paths) {
  std::vector<EmbeddedFile> out(paths.size());
  std::vector<detail::FileFacts> facts;
  std::vector<detail::IngestItem> items;
  std::vector<std::size_t> where;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    out[i].record.source = paths[i];  // failures name their file too
    try {
      facts.push_back(detail::stat_file(paths[i]));
      items.push_back({paths[i]});
      where.push_back(i);
    } catch (const Error& e) {
      out[i].code = e.code();
      out[i].error = e.what();
    }
  }
  std::vector<detail::IngestedImage> ingested = detail::ingest_images(encoder, items, EmbedFilesOptions{});
  for (std::size_t t = 0; t < where.size(); ++t) {
    EmbeddedFile& f = out[where[t]];
    detail::IngestedImage& in = ingested[t];
    ImageEmbedding& e = in.embedding;
    if (!e.ok()) {
      f.code = e.code;
      f.error = e.error;
      continue;
    }
    // As VectorDatabase's insert makes a record (database_impl.cpp).
    ImageRecord& r = f.record;
    r.content_hash = in.hash;
    r.file_size = facts[t].size;
    r.mtime_ns = facts[t].mtime_ns;
    r.width = e.width;
    r.height = e.height;
    r.format = e.format;
    r.photo = std::move(in.photo);
    r.analysis = std::move(in.analysis);
    r.precision = std::move(in.precision);
    complete_taken(r.photo, r.source);
    r.added_ms = detail::now_ms();
    f.vector = std::move(e.vector);
  }
  return out;
}

}  // namespace imgvec
