// What the database says about itself and its answers, on the wire (wire.hpp): the encoder's
// fingerprint, the stats, search hits and duplicate groups.
#include "imgvec/path_text.hpp"
#include "wire/wire.hpp"

namespace imgvec::wire {

json to_json(const EncoderFingerprint& e) {
  return {{"kind", e.kind},
          {"model", e.model},
          {"model_hash", e.model_hash},
          {"dimension", e.dimension},
          {"preprocessing", e.preprocessing}};
}

EncoderFingerprint fingerprint_from_json(const json& value, const std::string& what) {
  const auto text = [&](const char* key) {
    const auto it = value.find(key);
    if (it == value.end() || !it->is_string())
      throw Error(ErrorCode::corrupt_file, what + ": \"encoder\": \"" + key + "\" is missing or not a string");
    return it->get<std::string>();
  };
  if (!value.is_object()) throw Error(ErrorCode::corrupt_file, what + ": \"encoder\" is missing or not an object");
  EncoderFingerprint e;
  e.kind = text("kind");
  e.model = text("model");
  e.model_hash = text("model_hash");
  e.preprocessing = text("preprocessing");
  const auto d = value.find("dimension");
  if (d == value.end() || !d->is_number_unsigned() || d->get<std::uint64_t>() > UINT32_MAX)
    throw Error(ErrorCode::corrupt_file, what + ": \"encoder\": \"dimension\" is missing or not a count");
  e.dimension = d->get<std::uint32_t>();
  return e;
}

json to_json(const AddResult& r) {
  json out = {{"source", escape_path(r.source)}, {"status", to_string(r.status)}, {"id", r.id}};
  if (r.status == AddStatus::failed) out["error"] = escape_path(r.error);
  return out;
}

json to_json(const IndexDirectoryReport& r) {
  json failures = json::array();
  for (const AddResult& f : r.failures) failures.push_back(to_json(f));
  json skipped_extensions = json::object();  // names escaped: not every extension is UTF-8
  for (const auto& [ext, n] : r.skipped_extensions) skipped_extensions[escape_path(ext)] = n;
  return {{"added", r.added},
          {"updated", r.updated},
          {"unchanged", r.unchanged},
          {"renamed", r.renamed},
          {"removed", r.removed},
          {"failed", r.failed},
          {"failed_unchanged", r.failed_unchanged},
          {"vanished", r.vanished},
          {"interrupted", r.interrupted},
          {"failures", std::move(failures)},
          {"skipped", r.skipped},
          {"skipped_extensions", std::move(skipped_extensions)},
          {"excluded", r.excluded},
          {"refreshed", r.refreshed},
          {"without_facts", r.without_facts},
          {"embedding", {{"images", r.embedding.images},
                         {"seconds", r.embedding.seconds},
                         {"model_seconds", r.embedding.model_seconds},
                         {"model_waiting_seconds", r.embedding.waiting_seconds}}}};
}

json to_json(const DatabaseStats& s) {
  return {{"directory", escape_path(s.directory)},
          {"count", s.count},
          {"dimension", s.dimension},
          {"encoder", to_json(s.encoder)},
          {"index", to_string(s.index_kind)},
          {"storage", to_string(s.storage)},
          {"memory_bytes", s.memory_bytes},
          {"disk_bytes", s.disk_bytes},
          {"generation", s.generation},
          {"unsaved_changes", s.unsaved_changes},
          {"log_bytes", s.log_bytes},
          {"log_syncs", s.log_syncs},
          {"replayed_changes", s.replayed_changes},
          {"dropped_log_bytes", s.dropped_log_bytes},
          {"formats", s.formats},
          {"decodable_formats", s.decodable_formats}};
}

json to_json(const SearchResult& hit, const VectorDatabase* portable_in) {
  return {{"id", hit.id}, {"score", hit.score}, {"record", to_json(hit.record, portable_in)}};
}

json to_json(const LibraryFacets& f) {
  auto list = [](const std::vector<FacetCount>& counts) {
    json out = json::array();
    for (const FacetCount& c : counts) out.push_back({{"name", escape_path(c.name)}, {"count", c.count}});
    return out;
  };
  auto date = [](std::int64_t ms) {
    PhotoFacts p;
    p.taken_ms = ms;
    return p.taken_text();
  };
  json o = {{"count", f.count}, {"dated", f.dated}, {"cameras", list(f.cameras)}, {"labels", list(f.labels)},
            {"tags", list(f.tags)}, {"colours", list(f.colours)}};
  if (f.first_taken_ms) o["first_taken"] = date(*f.first_taken_ms);
  if (f.last_taken_ms) o["last_taken"] = date(*f.last_taken_ms);
  return o;
}

json to_json(const DuplicateGroup& group, const VectorDatabase& db, bool portable) {
  json images = json::array();
  // The members' files, the keeper's first: what a script or a page acts on ("keep the first").
  json paths = json::array();
  for (std::size_t i = 0; i < group.ids.size(); ++i) {
    const auto record = db.get(group.ids[i]);
    if (!record) continue;  // removed meanwhile
    json r = to_json(*record, portable ? &db : nullptr);
    const bool keeper = group.ids[i] == group.keeper;
    if (!record->source.empty()) {
      if (keeper) paths.insert(paths.begin(), r["source"]);
      else paths.push_back(r["source"]);
    }
    images.push_back({{"id", group.ids[i]},
                      {"score", group.scores[i]},
                      {"matched_by", to_string(group.matched_by[i])},
                      {"keeper", keeper},
                      {"record", std::move(r)}});
  }
  return {{"keeper", group.keeper}, {"exact", group.exact}, {"paths", std::move(paths)}, {"images", std::move(images)}};
}

}  // namespace imgvec::wire
