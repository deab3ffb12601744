// The CLI's commands that add and find images: index, search, dups (the others are in
// exchange_commands.cpp, record_commands.cpp, model_commands.cpp and serve_command.cpp).
#include "cli/commands.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <system_error>
#include <tuple>

#include "cli/command_support.hpp"
#include "cli/interrupt.hpp"
#include "cli/output.hpp"
#include "cli/progress.hpp"
#include "wire/wire.hpp"

namespace imgvec::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

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

}  // namespace

// The library chooses the encoder from the database's fingerprint and loads a CLIP model only when
// the command embeds something: stats, meta, tag, remove, export and search --like never load it.
std::unique_ptr<VectorDatabase> open_database(const DbOptions& o, const OpenOptions& open) {
  ModelChoice model;
  model.bundle = o.model;
  model.fast_decode = !o.exact_decode;
  model.device = o.device;
  model.precision = o.precision;
  return VectorDatabase::open(o.db, open, model);
}

std::unique_ptr<VectorDatabase> open_database(const DbOptions& o) { return open_database(o, OpenOptions{}); }

// Commands that only read work while `imgvec serve` or an index run holds the database: then they
// open it read-only, and see what that process saved and logged up to now. Those that search a
// few times map the index instead of reading it (OpenOptions::map_index): a search on a 100k x 512
// database read 220 MB before answering.
std::unique_ptr<VectorDatabase> open_database_to_read(const DbOptions& o, bool map_index) {
  OpenOptions open;
  open.read_only_if_held = true;
  open.map_index = map_index;
  return open_database(o, open);
}

int run_index(const IndexOptions& o) {
  const bool exists = VectorDatabase::exists(o.db);
  std::error_code ec;
  const bool folder_existed = fs::exists(o.db, ec);
  if (exists && (o.flat || o.float16 || o.sq8 || o.sq4)) {
    std::fprintf(stderr,
                 "imgvec index: note: --flat, --float16, --sq8 and --sq4 apply to new databases only; %s keeps "
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
    labels = label_set_named(o.labels);
  }
  if (!exists) {
    DatabaseOptions options;
    options.index_kind = o.flat ? IndexKind::flat : IndexKind::hnsw;
    if (o.float16) options.hnsw.storage = VectorStorage::float16;
    if (o.sq8) options.hnsw.storage = VectorStorage::sq8;
    if (o.sq4) options.hnsw.storage = VectorStorage::sq4;
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
    // New failures in full; those of earlier runs (unchanged files, not read again) in one note,
    // so that a cron job's mail says what changed rather than the same broken file every night.
    std::vector<std::string> known;
    for (const auto& f : r.failures) {
      if (f.remembered) known.push_back(escape_path(f.source));
      else std::fprintf(stderr, "skipped: %s\n", escape_path(f.error).c_str());
    }
    if (!known.empty()) {
      std::string names;
      for (std::size_t i = 0; i < known.size() && i < 3; ++i) names += (i ? ", " : "") + known[i];
      if (known.size() > 3) names += ", ...";
      std::fprintf(stderr,
                   "note: %zu files failed as in an earlier run and are unchanged since, so were not read again "
                   "(%s); --json lists them with their reasons%s\n",
                   known.size(), names.c_str(), o.strict ? "" : "; they do not make the exit code 3 (--strict)");
    }
    std::printf(
        "%zu added, %zu updated, %zu unchanged, %zu moved, %zu removed, %zu failed; %zu images in "
        "%s\n",
        r.added, r.updated, r.unchanged, r.renamed, r.removed, r.failed, db->size(), o.db.c_str());
    if (r.embedding.images > 0 && r.embedding.seconds > 0) {
      // Whether the model or the decoding set the pace: a model busy well below 100% waited for files.
      std::printf("embedded %zu images in %.1f s (%.0f/s); the model was busy %.0f%% of that time\n", r.embedding.images,
                  r.embedding.seconds, r.embedding.images / r.embedding.seconds,
                  100.0 * r.embedding.model_seconds / r.embedding.seconds);
    }
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
  const std::size_t new_failures = r.failed - r.failed_unchanged;
  return (o.strict ? r.failed : new_failures) ? kSomeFailed : kOk;
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
  const auto db = open_database_to_read(o, true);
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
  const auto db = open_database_to_read(o, false);
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

}  // namespace imgvec::cli
