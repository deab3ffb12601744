#include <tuple>
#include <cmath>
#include "cli/commands.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "cli/interrupt.hpp"
#include "cli/output.hpp"
#include "cli/progress.hpp"
#include "wire/wire.hpp"

namespace imgvec::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::shared_ptr<Encoder> make_encoder(const std::string& model, const DbOptions& o) {
  std::shared_ptr<Encoder> encoder;
  if (model.empty()) encoder = std::make_shared<DescriptorEncoder>();
  else encoder = open_clip_encoder(model, "auto");  // libtorch is loaded here
  encoder->set_fast_decode(!o.exact_decode);
  return encoder;
}

// The model a database uses: --model, else the one it remembers, else $IMGVEC_MODEL for new ones.
std::string choose_model(const DbOptions& o, bool creating) {
  if (!o.model.empty()) return o.model;
  const std::string remembered = VectorDatabase::remembered_model_bundle(o.db);
  if (!remembered.empty() || !creating) return remembered;
  const char* env = std::getenv("IMGVEC_MODEL");
  return env ? env : "";
}



}  // namespace

// The library chooses the encoder from the database's fingerprint and loads a CLIP model only when
// the command embeds something: stats, meta, tag, remove, export and search --like never load it.
std::unique_ptr<VectorDatabase> open_database(const DbOptions& o, const OpenOptions& open) {
  ModelChoice model;
  model.bundle = o.model;
  model.fast_decode = !o.exact_decode;
  return VectorDatabase::open(o.db, open, model);
}

std::unique_ptr<VectorDatabase> open_database(const DbOptions& o) { return open_database(o, OpenOptions{}); }

namespace {

void print_json(const json& j) {
  std::printf("%s\n", j.dump(1).c_str());
}

// --labels: "default", or a label file.
LabelSet label_set(const std::string& arg) { return arg == "default" ? default_labels() : read_label_file(arg); }

// "photo.jpg:0.5" is photo.jpg at weight 0.5, unless a file is named so; a weight is a positive
// number.
std::pair<std::string, float> weighted(const std::string& arg) {
  const auto colon = arg.rfind(':');
  std::error_code ec;
  if (colon == std::string::npos || colon == 0 || fs::exists(arg, ec)) return {arg, 1.0f};
  const std::string w = arg.substr(colon + 1);
  char* end = nullptr;
  const float weight = std::strtof(w.c_str(), &end);
  if (w.empty() || *end != '\0') return {arg, 1.0f};  // a colon in the name, not a weight
  if (!(weight > 0) || !std::isfinite(weight)) throw UsageError("\"" + arg + "\": a weight must be a number > 0");
  return {arg.substr(0, colon), weight};
}

// An id (unsigned 64-bit decimal) or a path of an indexed file.
Id resolve(const VectorDatabase& db, const std::string& target) {
  if (!target.empty() && target.find_first_not_of("0123456789") == std::string::npos) {
    errno = 0;
    char* end = nullptr;
    const unsigned long long id = std::strtoull(target.c_str(), &end, 10);
    if (errno == ERANGE || *end != '\0')
      throw UsageError("\"" + target + "\" is not an unsigned 64-bit id");
    if (!db.get(id)) throw Error(ErrorCode::not_found, "no image with id " + target);
    return id;
  }
  for (const std::string& candidate : {target, fs::absolute(target).lexically_normal().string()}) {
    if (const auto id = db.find_source(candidate)) return *id;
  }
  throw Error(ErrorCode::not_found,
              escape_path(target) + ": no indexed image has this path (or id)");
}

// KEY=VALUE, the value typed as filters type it (parse_metadata_value).
std::pair<std::string, MetadataValue> metadata_entry(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw UsageError("--set takes KEY=VALUE, got \"" + text + "\"");
  return {text.substr(0, eq), parse_metadata_value(text.substr(eq + 1))};
}

}  // namespace

int run_index(const IndexOptions& o) {
  const bool exists = VectorDatabase::exists(o.db);
  std::error_code ec;
  const bool folder_existed = fs::exists(o.db, ec);
  if (exists && (o.flat || o.float16)) {
    std::fprintf(stderr,
                 "imgvec index: note: --flat and --float16 apply to new databases only; %s keeps "
                 "its index\n",
                 o.db.c_str());
  }
  if (!fs::is_directory(o.dir, ec))
    throw Error(ErrorCode::not_found, escape_path(o.dir) + ": no such directory");
  const std::string model = exists ? o.model : choose_model(o, true);
  std::unique_ptr<VectorDatabase> db;
  if (exists) {
    db = open_database(o);
    db->encoder();  // index embeds: a missing or wrong model is said now, before any file is read
  }
  // Checked before any file is read: a run should not index for an hour and then refuse.
  LabelSet labels;
  if (!o.labels.empty()) {
    if (exists ? db->encoder_fingerprint().kind != "clip" : model.empty())
      throw UsageError("--labels needs a CLIP model (--model BUNDLE): the built-in encoder cannot compare images with "
                       "texts");
    labels = label_set(o.labels);
  }
  if (!exists) {
    DatabaseOptions options;
    options.index_kind = o.flat ? IndexKind::flat : IndexKind::hnsw;
    if (o.float16) options.hnsw.storage = VectorStorage::float16;
    db = VectorDatabase::create(o.db, make_encoder(model, o), options);
    db->remember_model_bundle(model);
  }
  IndexDirectoryOptions options;
  options.recursive = !o.no_recursive;
  options.exclude = o.exclude;
  options.remove_missing = o.remove_missing;
  options.refresh = o.refresh;
  if (o.all_files) options.extensions.clear();
  options.cancel = [] { return interrupted(); };  // Ctrl-C: stops after the batch being embedded
  IndexDirectoryReport r;
  {
    ProgressBar bar("indexing");
    options.progress = [&](std::size_t done, std::size_t total) { bar.update(done, total); };
    r = db->index_directory(o.dir, options);
  }  // the bar ends its line here, so the summary starts on its own
  const bool changed = r.added + r.updated + r.renamed + r.removed + r.refreshed > 0;
  const bool found_nothing = !exists && db->size() == 0 && r.failed == 0 && !r.interrupted;
  if (found_nothing && !o.keep_empty) {
    // A first run over a mistyped or empty folder leaves nothing behind (--keep-empty keeps it).
    db.reset();
    VectorDatabase::destroy(o.db);
    if (folder_existed) fs::create_directories(o.db, ec);  // the user's own empty folder stays
    std::fprintf(
        stderr,
        "imgvec index: found no images in %s; no database was created (--keep-empty creates one)\n",
        escape_path(o.dir).c_str());
    return kFailure;
  }
  if (changed && !options.checkpoint) db->save();  // checkpoints already saved every change
  if (!o.labels.empty() && !r.interrupted) {
    LabelOptions labelling;
    labelling.labels = labels;
    labelling.only_unlabelled = true;
    db->label_images(labelling);
    db->save();
  }
  if (o.json) {
    json out = wire::to_json(r);
    out["count"] = db->size();
    print_json(out);
  } else {
    for (const auto& f : r.failures) {
      std::fprintf(stderr, "skipped: %s%s\n", escape_path(f.error).c_str(),
                   f.remembered ? " (as in an earlier run; unchanged since, not read again)" : "");
    }
    std::printf(
        "%zu added, %zu updated, %zu unchanged, %zu moved, %zu removed, %zu failed; %zu images in "
        "%s\n",
        r.added, r.updated, r.unchanged, r.renamed, r.removed, r.failed, db->size(), o.db.c_str());
    if (r.refreshed) std::printf("%zu unchanged images got their dates, cameras and colours\n", r.refreshed);
    if (r.without_facts) {
      std::printf("%zu images indexed by an older imgvec have no dates, cameras or colours yet; --refresh reads "
                  "them (without embedding again)\n",
                  r.without_facts);
    }
    if (r.skipped) {
      // The commonest extensions first, so a folder of videos or RAW files explains itself.
      std::vector<std::pair<std::size_t, std::string>> by_count;
      for (const auto& [ext, n] : r.skipped_extensions) by_count.emplace_back(n, ext);
      std::sort(by_count.begin(), by_count.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
      std::string list;
      for (std::size_t i = 0; i < by_count.size() && i < 6; ++i) {
        list += (i ? ", " : "") + (by_count[i].second.empty() ? std::string("no extension") : "." + escape_path(by_count[i].second)) +
                " " + std::to_string(by_count[i].first);
      }
      if (by_count.size() > 6) list += ", ...";
      std::printf("%zu other files skipped by extension (%s); --all-files reads every file\n", r.skipped,
                  list.c_str());
    }
    if (r.vanished) {
      std::printf(
          "%zu indexed files no longer exist; run again with --remove-missing to drop them\n",
          r.vanished);
    }
    if (r.interrupted)
      std::printf("interrupted: what was indexed is saved; run the same command to continue\n");
  }
  if (r.interrupted) return kInterrupted;
  return r.failed ? kSomeFailed : kOk;
}

int run_search(const SearchCommand& o) {
  const std::size_t positives = o.images.size() + o.texts.size() + o.likes.size() + o.image_urls.size();
  const std::size_t negatives = o.minus_images.size() + o.minus_texts.size() + o.minus_likes.size();
  if ((positives > 0) == !o.colours.empty())
    throw UsageError("search needs --image, --image-url, --text or --like (any number of them), or --colour");
  if (negatives > 0 && positives == 0)
    throw UsageError("--minus-* needs at least one --image, --image-url, --text or --like");
  std::vector<Rgb> colours;
  for (const auto& c : o.colours) {
    const auto rgb = parse_colour(c);
    if (!rgb) throw UsageError("--colour \"" + c + "\": expected #RRGGBB, #RGB or a colour name (red, blue, ...)");
    colours.push_back(*rgb);
  }
  SearchOptions s;
  s.k = static_cast<std::size_t>(o.k);
  s.offset = static_cast<std::size_t>(o.offset);
  if (o.min_score) s.min_score = static_cast<float>(*o.min_score);
  for (const auto& w : o.where) s.where = s.where && Where::parse(w);
  s.sort = parse_sort_order(o.sort);
  const auto db = open_database(o);
  // A misspelt key matches nothing; say so instead of answering "no matches".
  for (const std::string& warning : db->filter_warnings(s.where))
    std::fprintf(stderr, "imgvec search: warning: %s\n", warning.c_str());
  UrlFetchOptions fetch;
  fetch.allow_private_addresses = o.allow_private_urls;
  std::vector<SearchResult> hits;
  if (!colours.empty()) {
    hits = db->search_by_colour(colours, s);
  } else if (positives == 1 && negatives == 0 && o.texts.size() == 1) {
    hits = db->search_by_text(o.texts[0], s);
  } else if (positives == 1 && negatives == 0 && o.image_urls.size() == 1) {
    hits = db->search_by_image_url(o.image_urls[0], s, fetch);
  } else {
    Query q;
    for (const auto& url : o.image_urls) {
      const auto bytes = fetch_url(url, fetch);
      q.positive.push_back(
          QueryExample::of_image(decode_image(bytes.data(), bytes.size(), redact_url(url), db->encoder().decode_options())));
    }
    for (const auto& [files, texts, likes, out] :
         {std::tuple{&o.images, &o.texts, &o.likes, &q.positive}, {&o.minus_images, &o.minus_texts, &o.minus_likes, &q.negative}}) {
      for (const auto& f : *files) {
        const auto [path, weight] = weighted(f);
        out->push_back(QueryExample::of_image_file(path, weight));
      }
      for (const auto& t : *texts) out->push_back(QueryExample::of_text(t));
      for (const auto& l : *likes) {
        const auto [target, weight] = weighted(l);
        out->push_back(QueryExample::of_id(resolve(*db, target), weight));
      }
    }
    hits = db->search(q, s);
  }
  if (o.json) {
    json out = json::array();
    for (const auto& h : hits) out.push_back(wire::to_json(h));
    print_json(out);
    return kOk;
  }
  // Sorted by date, the date is what the reader scans: it gets a column.
  const bool dated = s.sort != SortOrder::score;
  if (dated) std::printf("%4s  %7s  %8s  %-19s  %s\n", "rank", "score", "id", "taken", "image");
  else std::printf("%4s  %7s  %8s  %s\n", "rank", "score", "id", "image");
  for (std::size_t i = 0; i < hits.size(); ++i) {
    std::printf("%4zu  %7.4f  %8llu  ", s.offset + i + 1, static_cast<double>(hits[i].score),
                static_cast<unsigned long long>(hits[i].id));
    if (dated) std::printf("%-19s  ", hits[i].record.photo.taken_text().substr(0, 19).c_str());
    std::printf("%s\n", display_name(hits[i].record).c_str());
  }
  if (hits.empty()) std::printf("no matches\n");
  return kOk;
}

int run_dups(const DupsOptions& o) {
  DuplicateOptions d;
  d.threshold = static_cast<float>(o.threshold);
  d.candidate_threshold = static_cast<float>(o.candidate_threshold);
  d.verify = !o.no_verify;
  const auto db = open_database(o);
  ProgressBar bar("verifying");
  d.progress = [&](std::size_t done, std::size_t total) { bar.update(done, total); };
  const auto groups = db->find_duplicates(d);
  const bool verified = d.verify && photo_matching_available();
  if (o.json) {
    json out = json::array();
    for (const auto& g : groups) out.push_back(wire::to_json(g, *db));
    print_json(out);
    return kOk;
  }
  for (const auto& g : groups) {
    std::printf("%s group of %zu:\n", g.exact ? "identical" : "similar", g.ids.size());
    for (std::size_t i = 0; i < g.ids.size(); ++i) {
      const auto r = db->get(g.ids[i]);
      const bool keep = g.ids[i] == g.keeper;
      // A verified member's cosine may be far below the threshold: say why it is here.
      std::printf("  %s %8llu  %s  %-9s  %ux%u  %s\n", keep ? "keep" : "    ",
                  static_cast<unsigned long long>(g.ids[i]),
                  keep ? " keeper" : std::to_string(g.scores[i]).substr(0, 7).c_str(), to_string(g.matched_by[i]),
                  r->width, r->height, display_name(*r).c_str());
    }
  }
  std::printf("%zu groups of duplicates among %zu images (threshold %.3f", groups.size(), db->size(), o.threshold);
  if (verified) {
    std::printf("; pairs from %.3f verified on their pixels)\n", o.candidate_threshold);
  } else if (d.verify) {
    std::printf("; not verified on pixels: this imgvec was built without OpenCV)\n");
  } else {
    std::printf("; vectors only)\n");
  }
  return kOk;
}

int run_export(const ExportOptions& o) {
  const bool external = o.format == "qdrant" || o.format == "milvus" || o.format == "pgvector";
  if (external != !o.out.empty()) throw UsageError("--out and --format qdrant|milvus|pgvector go together");
  if (external) {
    if (!o.metadata.empty() || !o.vectors.empty()) throw UsageError("--out writes everything: no --metadata or --vectors");
    ExternalExportOptions options;
    options.format = o.format == "qdrant" ? ExternalFormat::qdrant
                     : o.format == "milvus" ? ExternalFormat::milvus : ExternalFormat::pgvector;
    options.collection = o.collection;
    options.points_per_file = o.points_per_file;
    options.max_file_bytes = std::uint64_t{o.max_file_mb} << 20;
    const auto db = open_database(o);
    const ExternalExportReport r = db->export_external(o.out, options);
    std::printf("wrote %zu images for %s to %s (%zu files); docs/scale-out.md says how to load them\n", r.images,
                o.format.c_str(), o.out.c_str(), r.files.size());
    return kOk;
  }
  if (o.metadata.empty() && o.vectors.empty())
    throw UsageError("export needs --metadata or --vectors (or --format qdrant|milvus|pgvector --out DIR)");
  if (o.vectors.empty() != o.ids.empty()) throw UsageError("--vectors and --ids go together");
  if (!o.vectors.empty() && o.vectors == "-" && o.ids == "-")
    throw UsageError("--vectors and --ids cannot both be -");
  const auto db = open_database(o);
  // Messages go to stderr when data goes to standard output.
  FILE* info = (o.metadata == "-" || o.vectors == "-" || o.ids == "-") ? stderr : stdout;
  if (!o.metadata.empty()) {
    const bool array =
        o.format.empty()
            ? (o.metadata.size() >= 5 && o.metadata.compare(o.metadata.size() - 5, 5, ".json") == 0)
            : o.format == "json";
    const ExportFormat format = array ? ExportFormat::json : ExportFormat::jsonl;
    Output out(o.metadata);
    if (out.atomic)
      db->export_metadata(o.metadata, format);
    else
      db->export_metadata(out.stream(), format);
    std::fprintf(info, "wrote %zu records to %s\n", db->size(), o.metadata.c_str());
  }
  if (!o.vectors.empty()) {
    Output v(o.vectors), i(o.ids);
    if (v.atomic && i.atomic)
      db->export_vectors(o.vectors, o.ids);
    else
      db->export_vectors(v.stream(), i.stream());
    std::fprintf(info, "wrote %zu x %zu vectors to %s, ids to %s\n", db->size(), db->dimension(),
                 o.vectors.c_str(), o.ids.c_str());
  }
  return kOk;
}

int run_import(const ImportCommand& o) {
  const bool pair = !o.vectors.empty() || !o.ids.empty() || !o.metadata.empty();
  if (pair == !o.from.empty()) throw UsageError("import reads an export FOLDER, or --vectors, --ids and --metadata");
  if (pair && (o.vectors.empty() || o.ids.empty() || o.metadata.empty()))
    throw UsageError("--vectors, --ids and --metadata go together");
  std::unique_ptr<VectorDatabase> db;
  const bool created = !VectorDatabase::exists(o.db);
  std::error_code ec;
  const bool folder_existed = fs::exists(o.db, ec);
  std::string model;
  if (!created) {
    db = open_database(o);
  } else {
    // A new database: the encoder must be the export's (checked against imgvec-export.json).
    DatabaseOptions options;
    options.index_kind = o.flat ? IndexKind::flat : IndexKind::hnsw;
    if (o.float16) options.hnsw.storage = VectorStorage::float16;
    model = choose_model(o, true);
    db = VectorDatabase::create(o.db, make_encoder(model, o), options);
  }
  ImportOptions options;
  options.new_ids = o.new_ids;
  options.source_root = o.source_root;
  ProgressBar bar("importing");
  options.progress = [&](std::size_t done, std::size_t total) { bar.update(done, total); };
  ImportReport r;
  try {
    r = pair ? db->import_vectors(o.vectors, o.ids, o.metadata, options) : db->import_export(o.from, options);
  } catch (...) {
    // Nothing was saved: an existing database is as it was; a database made for this import goes.
    db.reset();
    if (created) {
      VectorDatabase::destroy(o.db);
      if (!folder_existed) fs::remove(o.db, ec);  // the folder too, when this command made it (and it is empty)
    }
    throw;
  }
  db->save();
  if (created) db->remember_model_bundle(model);
  if (o.json) {
    print_json({{"format", r.format}, {"imported", r.imported}, {"skipped", r.skipped}, {"count", db->size()}});
  } else {
    std::printf("imported %zu images (%s)%s; %zu images in %s\n", r.imported, r.format.c_str(),
                r.skipped ? (", skipped " + std::to_string(r.skipped) + " whose files it already had").c_str() : "",
                db->size(), o.db.c_str());
  }
  return kOk;
}

int run_stats(const DbOptions& o) {
  const auto db = open_database(o);
  const DatabaseStats s = db->get_stats();
  if (o.json) {
    print_json(wire::to_json(s));
    return kOk;
  }
  std::string formats, decodable;
  for (const auto& [name, n] : s.formats) formats += (formats.empty() ? "" : ", ") + name + " " + std::to_string(n);
  for (const auto& name : s.decodable_formats) decodable += (decodable.empty() ? "" : ", ") + name;
  std::printf(
      "database    %s\nimages      %zu%s%s%s\ndimension   %zu\nencoder     %s\nindex       %s, %s\n"
      "memory      %.1f MB\ndisk        %.1f MB\nsaves       %llu\ndecodes     %s\n",
      s.directory.c_str(), s.count, formats.empty() ? "" : " (", formats.c_str(), formats.empty() ? "" : ")",
      s.dimension, s.encoder.to_string().c_str(), to_string(s.index_kind), to_string(s.storage),
      static_cast<double>(s.memory_bytes) / 1e6, static_cast<double>(s.disk_bytes) / 1e6,
      static_cast<unsigned long long>(s.generation), decodable.c_str());
  if (s.replayed_changes || s.dropped_log_bytes) {
    std::printf("log         %zu unsaved changes replayed%s\n", s.replayed_changes,
                s.dropped_log_bytes
                    ? (", " + std::to_string(s.dropped_log_bytes) +
                       " bytes of an unfinished last write dropped (never acknowledged)").c_str()
                    : "");
  }
  return kOk;
}

// Opens with log damage accepted, saves (which deletes the damaged logs) and says what was lost.
int run_repair(const DbOptions& o) {
  OpenOptions open;
  open.accept_log_damage = true;
  const auto db = open_database(o, open);
  const DatabaseStats s = db->get_stats();
  db->save();
  if (s.dropped_log_bytes == 0) {
    std::printf("%s: nothing to repair (%zu logged changes replayed and saved)\n", o.db.c_str(),
                s.replayed_changes);
  } else {
    std::printf("%s: kept %zu logged changes; dropped %zu bytes of damaged or unreachable log; saved. "
                "%zu images.\n",
                o.db.c_str(), s.replayed_changes, s.dropped_log_bytes, s.count);
  }
  return kOk;
}

int run_remove(const TargetsOptions& o) {
  const auto db = open_database(o);
  int missing = 0;
  bool changed = false;
  std::vector<std::string> done;
  for (const auto& target : o.targets) {
    try {
      const Id id = resolve(*db, target);
      changed = db->remove(id) || changed;
      done.push_back("removed " + std::to_string(id) + " (" + escape_path(target) + ")");
    } catch (const Error& e) {
      if (e.code() != ErrorCode::not_found) throw;
      std::fprintf(stderr, "imgvec remove: %s\n", e.what());
      ++missing;
    }
  }
  // Said only once saved: a save that fails (a full disk) removed nothing, and says so instead.
  if (changed) db->save();
  for (const std::string& line : done) std::printf("%s\n", line.c_str());
  return missing ? kFailure : kOk;
}

int run_tag(const TagOptions& o) {
  if (!o.labels.empty()) {
    if (!o.add.empty() || !o.remove.empty()) throw UsageError("tag takes --labels, or --add and --remove, not both");
    const auto db = open_database(o);
    LabelOptions options;
    options.labels = label_set(o.labels);
    options.top = o.top;
    options.min_score = static_cast<float>(o.min_score);
    for (const auto& t : o.targets) options.ids.push_back(resolve(*db, t));
    const std::size_t n = db->label_images(options);
    db->save();
    std::printf("labelled %zu images with %zu labels\n", n, options.labels.names.size());
    return kOk;
  }
  if (o.add.empty() && o.remove.empty()) throw UsageError("tag needs --add or --remove (or --labels)");
  if (o.targets.empty()) throw UsageError("tag --add and --remove need the images (ids or paths)");
  const auto db = open_database(o);
  std::vector<Id> ids;
  for (const auto& t : o.targets) ids.push_back(resolve(*db, t));
  bool changed = false;
  for (Id id : ids) {
    const auto r = *db->get(id);
    std::vector<std::string> tags = r.tags;
    for (const auto& t : o.add) {
      if (std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(t);
    }
    for (const auto& t : o.remove) tags.erase(std::remove(tags.begin(), tags.end(), t), tags.end());
    if (tags != r.tags) {
      db->update_metadata(id, r.metadata, &tags);
      changed = true;
    }
    std::string all;
    for (const auto& t : tags) all += (all.empty() ? "" : ", ") + t;
    std::printf("%llu  tags: %s\n", static_cast<unsigned long long>(id),
                all.empty() ? "(none)" : all.c_str());
  }
  if (changed) db->save();
  return kOk;
}

int run_meta(const MetaOptions& o) {
  const auto db = open_database(o);
  std::vector<std::pair<std::string, MetadataValue>> set;
  for (const auto& s : o.set) set.push_back(metadata_entry(s));
  std::vector<Id> ids;
  for (const auto& t : o.targets) ids.push_back(resolve(*db, t));
  for (Id id : ids) {
    const auto r = *db->get(id);
    Metadata m = r.metadata;
    for (const auto& [k, v] : set) m[k] = v;
    for (const auto& k : o.unset) m.erase(k);
    if (!set.empty() || !o.unset.empty()) db->update_metadata(id, m);
    const json shown = wire::to_json(db->get(id)->metadata);
    std::printf("%llu  %s\n", static_cast<unsigned long long>(id), shown.dump().c_str());
  }
  if (!set.empty() || !o.unset.empty()) db->save();
  return kOk;
}

}  // namespace imgvec::cli
