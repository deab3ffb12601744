// imgvec: the command-line tool over the image database.
//   imgvec index DIR --db PATH [--model BUNDLE] ...     add or update a folder of images
//   imgvec search --db PATH (--image FILE | --text TEXT) [-k N] [--where K=V ...] [--min-score S]
//   imgvec stats | remove | embed | tokenize            (imgvec help for all options)
// Exit codes: 0 success, 1 failure (the message says which input and why), 2 usage error.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/progress.hpp"
#include "imgvec/imgvec.hpp"

namespace {

using nlohmann::json;
using namespace imgvec;

constexpr int kFailure = 1, kUsage = 2;

const char* const kHelp = R"(usage: imgvec COMMAND [options]

  index DIR --db PATH     add a folder's images to a database (created if missing), update
                          changed ones, skip unchanged ones, recognise moved ones
      [--model BUNDLE]    a CLIP bundle (tools/export_openclip.py); without one (and without
                          IMGVEC_MODEL) the built-in model-free encoder is used: image search only
      [--flat]            exact index instead of HNSW (new databases only)
      [--float16]         HNSW vectors in half precision: half the memory, ~1.5x faster
                          searches, scores within ~1e-3 (new databases only)
      [--no-recursive] [--exclude GLOB ...] [--remove-missing] [--all-files]
  search --db PATH (--image FILE | --text TEXT)
      [-k N] [--where KEY=VALUE ...] [--min-score S]
                          --where takes KEY=V, KEY!=V, KEY>=N, KEY<=N, KEY>N, KEY<N, KEY=A|B,
                          tag=T; keys: width, height, format, source, file_size, or metadata
  dups --db PATH [--threshold 0.95]
                          groups of duplicate images, each with the one to keep
  export --db PATH [--metadata FILE.jsonl|.json] [--vectors FILE.npy --ids FILE.npy]
                          records as JSON lines (or one JSON array), vectors for numpy
  stats --db PATH         count, dimension, encoder, index kind, memory and disk use
  remove --db PATH ID...  remove images by id
  embed --model BUNDLE (--text TEXT | --image FILE ...) [--device cpu|cuda|auto]
                          embeddings as JSON
  tokenize (--model BUNDLE | --vocab FILE) TEXT            CLIP token ids as JSON

  Every command but embed and tokenize prints a table, or JSON with --json.
  A database opened with a CLIP model remembers the bundle's path in DB/MODEL.
)";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Options of one command: which take a value, which repeat, which are switches.
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> values;
  std::set<std::string> switches;

  bool has(const std::string& k) const { return values.count(k) || switches.count(k); }
  std::string one(const std::string& k, const std::string& fallback = "") const {
    const auto it = values.find(k);
    return it == values.end() ? fallback : it->second.back();
  }
  const std::vector<std::string>& many(const std::string& k) const {
    static const std::vector<std::string> none;
    const auto it = values.find(k);
    return it == values.end() ? none : it->second;
  }
  std::string required(const std::string& k) const {
    if (!values.count(k)) throw UsageError("missing " + k);
    return one(k);
  }
};

Args parse(int argc, char** argv, const std::set<std::string>& with_value, const std::set<std::string>& flags) {
  Args a;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.size() > 1 && arg[0] == '-') {
      if (with_value.count(arg)) {
        if (i + 1 >= argc) throw UsageError(arg + " needs a value");
        a.values[arg].push_back(argv[++i]);
      } else if (flags.count(arg)) {
        a.switches.insert(arg);
      } else {
        throw UsageError("unknown option " + arg);
      }
    } else {
      a.positional.push_back(arg);
    }
  }
  return a;
}

double number(const std::string& option, const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0') throw UsageError(option + " needs a number, got \"" + text + "\"");
  return v;
}

std::string model_file(const std::string& db) { return db + "/MODEL"; }

std::string remembered_model(const std::string& db) {
  std::ifstream in(model_file(db));
  std::string path;
  std::getline(in, path);
  return path;
}

std::shared_ptr<Encoder> make_encoder(const std::string& model) {
  if (model.empty()) return std::make_shared<DescriptorEncoder>();
#ifdef IMGVEC_HAS_CLIP_ENCODER
  return std::make_shared<ClipEncoder>(model);
#else
  throw Error(ErrorCode::unsupported, model + ": this imgvec was built without libtorch, so it cannot run CLIP "
                                              "bundles (rebuild with -DIMGVEC_WITH_TORCH=ON)");
#endif
}

// The model a database uses: --model, else the one it remembers, else $IMGVEC_MODEL for new ones.
std::string choose_model(const Args& a, const std::string& db, bool creating) {
  if (a.has("--model")) return a.one("--model");
  const std::string remembered = remembered_model(db);
  if (!remembered.empty() || !creating) return remembered;
  const char* env = std::getenv("IMGVEC_MODEL");
  return env ? env : "";
}

std::unique_ptr<VectorDatabase> open_db(const Args& a) {
  const std::string db = a.required("--db");
  return VectorDatabase::open(db, make_encoder(choose_model(a, db, false)));
}

json record_json(const ImageRecord& r) {
  json meta = json::object();
  for (const auto& [k, v] : r.metadata) {
    std::visit([&, key = k](const auto& x) { meta[key] = x; }, v);
  }
  return {{"id", r.id}, {"source", r.source}, {"width", r.width}, {"height", r.height},
          {"format", to_string(r.format)}, {"file_size", r.file_size}, {"metadata", meta}, {"tags", r.tags}};
}

std::string display_name(const ImageRecord& r) {
  if (!r.source.empty()) return r.source;
  const auto it = r.metadata.find("name");
  if (it != r.metadata.end() && std::holds_alternative<std::string>(it->second)) return std::get<std::string>(it->second);
  return "(from memory)";
}

int cmd_index(int argc, char** argv) {
  const Args a = parse(argc, argv, {"--db", "--model", "--exclude"},
                       {"--flat", "--float16", "--no-recursive", "--remove-missing", "--all-files", "--json"});
  if (a.positional.size() != 1) throw UsageError("index takes one directory");
  const std::string db_dir = a.required("--db");
  const bool exists = std::ifstream(db_dir + "/MANIFEST").good();
  const std::string model = choose_model(a, db_dir, !exists);
  std::unique_ptr<VectorDatabase> db;
  if (exists) {
    db = VectorDatabase::open(db_dir, make_encoder(model));
  } else {
    DatabaseOptions options;
    options.index_kind = a.has("--flat") ? IndexKind::flat : IndexKind::hnsw;
    if (a.has("--float16")) {
      if (a.has("--flat")) throw UsageError("--float16 applies to HNSW indexes, not --flat");
      options.hnsw.storage = VectorStorage::float16;
    }
    db = VectorDatabase::create(db_dir, make_encoder(model), options);
    if (!model.empty()) std::ofstream(model_file(db_dir)) << model << "\n";
  }
  IndexDirectoryOptions o;
  o.recursive = !a.has("--no-recursive");
  o.exclude = a.many("--exclude");
  o.remove_missing = a.has("--remove-missing");
  if (a.has("--all-files")) o.extensions.clear();
  cli::ProgressBar bar("indexing");
  o.progress = [&](std::size_t done, std::size_t total) { bar.update(done, total); };
  const IndexDirectoryReport r = db->index_directory(a.positional[0], o);
  db->save();
  if (a.has("--json")) {
    json failures = json::array();
    for (const auto& f : r.failures) failures.push_back({{"source", f.source}, {"error", f.error}});
    std::printf("%s\n", json({{"added", r.added}, {"updated", r.updated}, {"unchanged", r.unchanged},
                              {"renamed", r.renamed}, {"removed", r.removed}, {"failed", r.failed},
                              {"failures", failures}, {"count", db->size()}})
                            .dump(1)
                            .c_str());
  } else {
    for (const auto& f : r.failures) std::fprintf(stderr, "skipped: %s\n", f.error.c_str());
    std::printf("%zu added, %zu updated, %zu unchanged, %zu moved, %zu removed, %zu failed; %zu images in %s (%s)\n",
                r.added, r.updated, r.unchanged, r.renamed, r.removed, r.failed, db->size(), db_dir.c_str(),
                db->encoder().fingerprint().model.c_str());
  }
  return 0;
}

int cmd_search(int argc, char** argv) {
  const Args a = parse(argc, argv, {"--db", "--model", "--image", "--text", "-k", "--where", "--min-score"}, {"--json"});
  if (a.has("--image") == a.has("--text")) throw UsageError("search needs exactly one of --image and --text");
  SearchOptions o;
  o.k = static_cast<std::size_t>(number("-k", a.one("-k", "10")));
  if (o.k == 0) throw UsageError("-k must be at least 1");
  if (a.has("--min-score")) o.min_score = static_cast<float>(number("--min-score", a.one("--min-score")));
  for (const auto& w : a.many("--where")) o.where = o.where && Where::parse(w);
  const auto db = open_db(a);
  const auto hits = a.has("--image") ? db->search_by_image(a.one("--image"), o) : db->search_by_text(a.one("--text"), o);
  if (a.has("--json")) {
    json out = json::array();
    for (const auto& h : hits) {
      json r = record_json(h.record);
      r["score"] = h.score;
      out.push_back(r);
    }
    std::printf("%s\n", out.dump(1).c_str());
    return 0;
  }
  std::printf("%4s  %7s  %8s  %s\n", "rank", "score", "id", "image");
  for (std::size_t i = 0; i < hits.size(); ++i) {
    std::printf("%4zu  %7.4f  %8llu  %s\n", i + 1, static_cast<double>(hits[i].score),
                static_cast<unsigned long long>(hits[i].id), display_name(hits[i].record).c_str());
  }
  if (hits.empty()) std::printf("no matches\n");
  return 0;
}

int cmd_dups(int argc, char** argv) {
  const Args a = parse(argc, argv, {"--db", "--model", "--threshold"}, {"--json"});
  DuplicateOptions o;
  if (a.has("--threshold")) o.threshold = static_cast<float>(number("--threshold", a.one("--threshold")));
  const auto db = open_db(a);
  const auto groups = db->find_duplicates(o);
  if (a.has("--json")) {
    json out = json::array();
    for (const auto& g : groups) {
      json members = json::array();
      for (Id id : g.ids) members.push_back(record_json(*db->get(id)));
      out.push_back({{"keep", g.keeper}, {"exact", g.exact}, {"images", members}});
    }
    std::printf("%s\n", out.dump(1).c_str());
    return 0;
  }
  for (const auto& g : groups) {
    std::printf("%s group of %zu:\n", g.exact ? "identical" : "similar", g.ids.size());
    for (Id id : g.ids) {
      const auto r = db->get(id);
      std::printf("  %s %8llu  %ux%u  %s\n", id == g.keeper ? "keep" : "    ", static_cast<unsigned long long>(id),
                  r->width, r->height, display_name(*r).c_str());
    }
  }
  std::printf("%zu groups of duplicates among %zu images (threshold %.3f)\n", groups.size(), db->size(),
              static_cast<double>(o.threshold));
  return 0;
}

int cmd_export(int argc, char** argv) {
  const Args a = parse(argc, argv, {"--db", "--model", "--metadata", "--vectors", "--ids"}, {});
  if (!a.has("--metadata") && !a.has("--vectors")) throw UsageError("export needs --metadata or --vectors");
  if (a.has("--vectors") != a.has("--ids")) throw UsageError("--vectors and --ids go together");
  const auto db = open_db(a);
  if (a.has("--metadata")) {
    const std::string path = a.one("--metadata");
    const bool array = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
    db->export_metadata(path, array ? ExportFormat::json : ExportFormat::jsonl);
    std::printf("wrote %zu records to %s\n", db->size(), path.c_str());
  }
  if (a.has("--vectors")) {
    db->export_vectors(a.one("--vectors"), a.one("--ids"));
    std::printf("wrote %zu x %zu vectors to %s, ids to %s\n", db->size(), db->dimension(), a.one("--vectors").c_str(),
                a.one("--ids").c_str());
  }
  return 0;
}

int cmd_stats(int argc, char** argv) {
  const Args a = parse(argc, argv, {"--db", "--model"}, {"--json"});
  const auto db = open_db(a);
  const DatabaseStats s = db->get_stats();
  if (a.has("--json")) {
    std::printf("%s\n", json({{"directory", s.directory}, {"count", s.count}, {"dimension", s.dimension},
                              {"encoder", s.encoder.to_string()}, {"index", to_string(s.index_kind)}, {"storage", to_string(s.storage)},
                              {"memory_bytes", s.memory_bytes}, {"disk_bytes", s.disk_bytes},
                              {"generation", s.generation}})
                            .dump(1)
                            .c_str());
    return 0;
  }
  std::printf("database    %s\nimages      %zu\ndimension   %zu\nencoder     %s\nindex       %s, %s\n"
              "memory      %.1f MB\ndisk        %.1f MB\nsaves       %llu\n",
              s.directory.c_str(), s.count, s.dimension, s.encoder.to_string().c_str(), to_string(s.index_kind),
              to_string(s.storage),
              static_cast<double>(s.memory_bytes) / 1e6, static_cast<double>(s.disk_bytes) / 1e6,
              static_cast<unsigned long long>(s.generation));
  return 0;
}

int cmd_remove(int argc, char** argv) {
  const Args a = parse(argc, argv, {"--db", "--model"}, {});
  if (a.positional.empty()) throw UsageError("remove needs at least one id");
  const auto db = open_db(a);
  int missing = 0;
  for (const auto& text : a.positional) {
    const auto id = static_cast<Id>(number("id", text));
    if (db->remove(id)) {
      std::printf("removed %s\n", text.c_str());
    } else {
      std::fprintf(stderr, "no image with id %s\n", text.c_str());
      ++missing;
    }
  }
  db->save();
  return missing ? kFailure : 0;
}

#ifdef IMGVEC_HAS_CLIP_ENCODER
int cmd_embed(int argc, char** argv) {
  const Args a = parse(argc, argv, {"--model", "--text", "--image", "--device"}, {});
  if (a.has("--image") == a.has("--text")) throw UsageError("embed needs --text or --image");
  ClipEncoderOptions options;
  options.device = a.one("--device", "auto");
  ClipEncoder encoder(a.required("--model"), options);
  json out = {{"model", encoder.info().name}, {"runtime", encoder.runtime()}, {"dimension", encoder.dimension()}};
  if (a.has("--text")) {
    out["text"] = a.one("--text");
    out["embedding"] = encoder.embed_text(a.one("--text"));
  } else {
    json images = json::array();
    bool failed = false;
    const auto& files = a.many("--image");
    const auto results = encoder.embed_image_files(files);
    for (std::size_t i = 0; i < results.size(); ++i) {
      const auto& r = results[i];
      images.push_back(r.ok() ? json{{"file", files[i]}, {"embedding", r.vector}}
                              : json{{"file", files[i]}, {"error", r.error}});
      if (!r.ok()) failed = true;
    }
    out["images"] = images;
    std::printf("%s\n", out.dump().c_str());
    return failed ? kFailure : 0;
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
#endif

int cmd_tokenize(int argc, char** argv) {
  const Args a = parse(argc, argv, {"--model", "--vocab"}, {});
  if (a.positional.size() != 1) throw UsageError("tokenize takes one text");
  std::vector<std::int32_t> ids;
  if (a.has("--vocab")) {
    ids = ClipTokenizer::from_file(a.one("--vocab")).encode(a.positional[0]);
  } else {
#ifdef IMGVEC_HAS_CLIP_ENCODER
    ids = ClipEncoder(a.required("--model")).tokenizer().encode(a.positional[0]);
#else
    throw UsageError("without libtorch, tokenize needs --vocab FILE");
#endif
  }
  std::printf("%s\n", json({{"text", a.positional[0]}, {"tokens", ids}}).dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "help";
  try {
    if (command == "index") return cmd_index(argc, argv);
    if (command == "search") return cmd_search(argc, argv);
    if (command == "stats") return cmd_stats(argc, argv);
    if (command == "dups") return cmd_dups(argc, argv);
    if (command == "export") return cmd_export(argc, argv);
    if (command == "remove") return cmd_remove(argc, argv);
#ifdef IMGVEC_HAS_CLIP_ENCODER
    if (command == "embed") return cmd_embed(argc, argv);
#endif
    if (command == "tokenize") return cmd_tokenize(argc, argv);
    if (command == "help" || command == "--help" || command == "-h") {
      std::printf("%s", kHelp);
      return 0;
    }
    throw UsageError("unknown command \"" + command + "\"");
  } catch (const UsageError& e) {
    std::fprintf(stderr, "imgvec %s: %s\n\n%s", command.c_str(), e.what(), kHelp);
    return kUsage;
  } catch (const Error& e) {
    std::fprintf(stderr, "imgvec %s: %s\n", command.c_str(), e.what());
    return e.code() == ErrorCode::invalid_argument ? kUsage : kFailure;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imgvec %s: %s\n", command.c_str(), e.what());
    return kFailure;
  }
}
