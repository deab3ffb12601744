// imgvec: the command-line tool over the image database. Arguments are parsed by CLI11; each
// command lives in commands.cpp (database) or model_commands.cpp (CLIP bundles).
#include <cstdio>
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/interrupt.hpp"
#include "cli/output.hpp"
#include "imgvec/imgvec.hpp"

namespace {

using namespace imgvec::cli;

const char* const kFooter = R"(
Exit codes: 0 success; 1 failure (the message names the input and why); 2 usage error;
3 index: files failed that had not failed before (the others were indexed, and are saved);
130 index: interrupted by Ctrl-C after saving what was done.
Run `imgvec COMMAND --help` for a command's options.)";

// Each command's help lists its own exit codes (CLI11 gives a subcommand its parent's footer).
const char* const kCommandFooter = R"(
Exit codes: 0 success; 1 failure (the message names the input and why); 2 usage error.)";
const char* const kIndexFooter = R"(
Exit codes: 0 success (files that failed in an earlier run and are unchanged since are counted
in a note, not failed again: see --strict); 1 failure (the message names the input and why);
2 usage error; 3 files failed that had not failed before (the others were indexed, and are
saved); 130 interrupted by Ctrl-C after saving what was done (a second Ctrl-C stops at once).)";
const char* const kTargetsFooter = R"(
Exit codes: 0 success; 1 failure, or a TARGET that names no image (the others are done);
2 usage error.)";

// Every key family --where knows, for its help (Where's class comment is the reference).
const char* const kWhereHelp =
    "conditions KEY=V, KEY!=V, KEY>=N, KEY<=N, KEY>N, KEY<N, KEY=A|B (any of), KEY=LO..HI, KEY=PATTERN* (any "
    "case), tag=T, joined by and, or, not and parentheses (\"format=jpeg and (camera=canon* or tag=best)\"), "
    "KEY=\"literal text\"; repeatable (all must hold). Keys: the file: source, format, width, height, file_size, "
    "modified (the file's time: modified>=2024-01), added_ms, id; the photo: taken (taken>=2023-06-01, "
    "taken=2023-06, taken=2023-06-01..2023-06-15), taken_source (exif, file_name), camera, camera_make, "
    "camera_model, lens, latitude, longitude (latitude=40.5..41); its look: colour (colour=blue|red), tone "
    "(warm, cool, neutral), brightness, saturation, colourfulness, warmth (0..1 except warmth); label (zero-shot "
    "labels: label=beach); tag=T; any other key is user metadata (meta.KEY when a name clashes)";

// Which of the shared options a command takes.
enum DbOption : unsigned { kJson = 1, kModel = 2, kDecode = 4 };

std::string version_text() {
  return std::string("imgvec ") + imgvec::version_string() + "\n" + imgvec::build_features();
}

void db_options(CLI::App* cmd, DbOptions& o, unsigned which, const char* footer = kCommandFooter) {
  cmd->footer(footer);
  cmd->add_option("--db", o.db, "the database folder")->required();
  if (which & kModel) {
    cmd->add_option("--model", o.model,
                    "a CLIP bundle (tools/export_openclip.py); default: the one the database remembers, "
                    "else the built-in encoder");
    cmd->add_option("--device", o.device, "where a CLIP model runs: auto (CUDA when there is one), cpu, cuda, cuda:N")
        ->default_str("auto");
    cmd->add_option("--precision", o.precision,
                    "what a CLIP model computes in: float32; bf16 (a CPU with AVX-512 BF16 or AMX, ~2.5x faster; or "
                    "CUDA); fp16 (CUDA). The vectors are interchangeable (cosine >= 0.999)")
        ->check(CLI::IsMember({"float32", "bf16", "fp16"}))
        ->default_str("float32");
  }
  if (which & kJson) cmd->add_flag("--json", o.json, "print JSON instead of a table");
  if (which & kDecode) {
    cmd->add_flag("--exact-decode", o.exact_decode,
                  "decode every pixel of big JPEGs, as open_clip does (default: at 1/2 to 1/8 scale in "
                  "the DCT domain when that keeps twice the model's input size; several times faster)");
  }
}

// A command over images named by id or path: --db, TARGET...
CLI::App* targets_command(CLI::App& app, const char* name, const char* description, TargetsOptions& o,
                          unsigned which = 0) {
  auto* cmd = app.add_subcommand(name, description);
  db_options(cmd, o, which, kTargetsFooter);
  cmd->add_option("TARGET", o.targets, "ids or paths")->required();
  return cmd;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"imgvec: find similar images, or images that match a text, in a folder of photos", "imgvec"};
  app.footer(kFooter);
  // A function, not its text: building the text loads the OpenCV module (TBB and OpenMP with it),
  // which cost every command 17 ms of start-up (`imgvec --help` 16 ms, `--version` 33: perf stat -r 15).
  app.set_version_flag("--version", std::function<std::string()>(version_text), "print the version and what this build can do");
  app.require_subcommand(1);

  IndexOptions index;
  auto* c_index = app.add_subcommand("index", "add a folder's images to a database (created if missing), update "
                                              "changed ones, skip unchanged ones, recognise moved ones");
  c_index->add_option("DIR", index.dir, "the folder of images")->required();
  db_options(c_index, index, kJson | kModel | kDecode, kIndexFooter);
  c_index->add_flag("--strict", index.strict,
                    "exit 3 when any file failed, also those that failed in an earlier run and are unchanged since");
  c_index->add_flag("--flat", index.flat, "exact index instead of HNSW (new databases only)");
  c_index->add_flag("--float16", index.float16, "HNSW vectors in half precision: half the memory, ~1.5x faster, "
                                                "scores within ~1e-3 (new databases only)")
      ->excludes(c_index->get_option("--flat"));
  c_index->add_flag("--sq8", index.sq8, "HNSW walks 8-bit codes and re-scores its best candidates in half precision: "
                                        "1.6-2x faster searches, 3/4 of the memory, scores within ~1e-3 (new databases only)")
      ->excludes(c_index->get_option("--flat"))
      ->excludes(c_index->get_option("--float16"));
  c_index->add_flag("--sq4", index.sq4, "HNSW walks 4-bit codes and re-scores its best candidates in half precision: "
                                        "the fastest searches at recall 0.95 and above, 2/3 of the memory, scores "
                                        "within ~1e-3 (new databases only)")
      ->excludes(c_index->get_option("--flat"))
      ->excludes(c_index->get_option("--float16"))
      ->excludes(c_index->get_option("--sq8"));
  c_index->add_flag("--no-recursive", index.no_recursive, "only the folder itself, not its subfolders");
  c_index->add_option("--exclude", index.exclude, "skip paths matching this glob (relative to DIR); repeatable");
  c_index->add_flag("--remove-missing", index.remove_missing, "drop images whose files under DIR are gone");
  c_index->add_flag("--all-files", index.all_files, "consider every file, not only image extensions");
  c_index->add_flag("--keep-empty", index.keep_empty, "create the database even when DIR holds no images");
  c_index->add_flag("--refresh", index.refresh,
                    "read the dates, cameras and colours of unchanged images indexed by an older imgvec (their "
                    "files are decoded again, not embedded again)");
  c_index->add_option("--labels", index.labels,
                      "give images not yet labelled zero-shot content labels (CLIP): \"default\" or a label file "
                      "(see imgvec tag --labels)");

  SearchCommand search;
  auto* c_search = app.add_subcommand("search", "the images most like an image, or matching a text (CLIP)");
  db_options(c_search, search, kJson | kModel | kDecode);
  c_search->add_option("--image", search.images, "an image file to search by (FILE or FILE:WEIGHT); repeatable")
      ->allow_extra_args(false);
  c_search->add_option("--image-url", search.image_urls,
                       "an http(s) URL of an image to search by (downloaded: at most 64 MB, 30 s; public "
                       "addresses only, see --allow-private-urls); repeatable")
      ->allow_extra_args(false);
  c_search->add_flag("--allow-private-urls", search.allow_private_urls,
                     "let --image-url reach this machine and private networks (loopback, 10/8, 192.168/16, "
                     "link-local...), refused by default");
  c_search->add_option("--text", search.texts, "a text to search by (needs a CLIP model); repeatable")
      ->allow_extra_args(false);
  c_search->add_option("--like", search.likes,
                       "a stored image to find more like (its id or indexed path, :WEIGHT optional; itself left "
                       "out); repeatable")
      ->allow_extra_args(false);
  c_search->add_option("--minus-image", search.minus_images, "an image file to steer away from; repeatable")
      ->allow_extra_args(false);
  c_search->add_option("--minus-text", search.minus_texts, "a text to steer away from (\"people\"); repeatable")
      ->allow_extra_args(false);
  c_search->add_option("--minus-like", search.minus_likes, "a stored image to steer away from; repeatable")
      ->allow_extra_args(false);
  c_search->add_option("--colour,--color", search.colours,
                       "images whose dominant colours are closest to this one (#2a6fdb, #abc or a name: red, "
                       "blue, ...); repeatable: images holding all of them")
      ->allow_extra_args(false);
  c_search->add_option("-k", search.k, "how many results (1-100000)")->check(CLI::Range(1, 100000));
  c_search->add_option("--offset", search.offset, "skip this many results first (paging)")->check(CLI::Range(0, 1000000));
  c_search->add_option("--where", search.where, kWhereHelp);
  c_search->add_option("--sort", search.sort,
                       "score (most similar first), newest or taken (the newest photo first), oldest; "
                       "orders the results found; undated photos last")
      ->check(CLI::IsMember({"score", "newest", "taken", "oldest"}));
  c_search->add_option("--min-score", search.min_score, "only results at least this similar (cosine, -1..1)")
      ->check(CLI::Range(-1.0, 1.0));

  DupsOptions dups;
  auto* c_dups = app.add_subcommand("dups", "groups of duplicate images, each with the one to keep and each "
                                            "member's similarity to it");
  db_options(c_dups, dups, kJson);
  c_dups->add_option("--threshold", dups.threshold,
                     "cosine similarity that makes a duplicate (default 0.945: precision >= 0.99 for the built-in "
                     "encoder in bench/bench_duplicates.cpp; lower finds more, and more wrongly)")
      ->check(CLI::Range(-1.0, 1.0));
  c_dups->add_flag("--no-verify", dups.no_verify,
                   "vectors only: do not read files again to verify near pairs on their pixels (much faster; misses "
                   "cropped and captioned copies)");
  c_dups->add_option("--candidate-threshold", dups.candidate_threshold,
                     "pairs at least this similar, below --threshold, are verified on their pixels (default 0.55; "
                     "lower verifies more pairs and finds a few more copies)")
      ->check(CLI::Range(-1.0, 1.0));

  ExportOptions exp;
  auto* c_export = app.add_subcommand("export", "records as JSON lines (or one JSON array), vectors for numpy; "
                                                "- writes to standard output; or everything for Qdrant, Milvus or "
                                                "pgvector (--format, --out; docs/scale-out.md)");
  db_options(c_export, exp, 0);
  c_export->add_option("--metadata", exp.metadata,
                       "FILE.jsonl, FILE.json (one array), FILE.csv (a spreadsheet's columns) or - (JSON lines)");
  c_export->add_option("--format", exp.format,
                       "jsonl, json or csv for --metadata (default: from the file name); qdrant, milvus or "
                       "pgvector for --out")
      ->check(CLI::IsMember({"json", "jsonl", "csv", "qdrant", "milvus", "pgvector"}));
  c_export->add_option("--vectors", exp.vectors, "FILE.npy: float32, one row per image, ascending id");
  c_export->add_option("--ids", exp.ids, "FILE.npy: the ids of those rows (uint64)");
  c_export->add_option("--out", exp.out, "a new folder for --format qdrant|milvus|pgvector (must not exist)");
  c_export->add_option("--collection", exp.collection, "the Qdrant or Milvus collection, or the table (default images)");
  c_export->add_option("--points-per-file", exp.points_per_file, "Qdrant: points per request file (default 1000)")
      ->check(CLI::PositiveNumber);
  c_export->add_option("--max-file-mb", exp.max_file_mb, "Milvus: the largest row file, MiB (default 1024)")
      ->check(CLI::PositiveNumber);

  ImportCommand imp;
  auto* c_import = app.add_subcommand("import", "images back from an export: a Qdrant, Milvus or pgvector folder "
                                                "(imgvec export --out), or --vectors/--ids/--metadata; ids, vectors "
                                                "and records as they were (docs/scale-out.md)");
  db_options(c_import, imp, kJson | kModel);
  c_import->add_option("FOLDER", imp.from, "an export folder");
  c_import->add_option("--vectors", imp.vectors, "FILE.npy from imgvec export --vectors");
  c_import->add_option("--ids", imp.ids, "FILE.npy from imgvec export --ids");
  c_import->add_option("--metadata", imp.metadata, "FILE.jsonl from imgvec export --metadata");
  c_import->add_flag("--new-ids", imp.new_ids, "give every image a new id (to merge databases whose ids overlap)");
  c_import->add_option("--source-root", imp.source_root,
                       "images whose source file lies in this folder keep it (served, thumbnailed); others keep "
                       "their export's path as the metadata key imported_source only");
  c_import->add_flag("--flat", imp.flat, "a new database gets an exact index instead of HNSW");
  c_import->add_flag("--float16", imp.float16, "a new database keeps HNSW vectors in half precision");
  c_import->add_flag("--sq8", imp.sq8, "a new database's HNSW walks 8-bit codes (see index --sq8)")
      ->excludes(c_import->get_option("--float16"))
      ->excludes(c_import->get_option("--flat"));
  c_import->add_flag("--sq4", imp.sq4, "a new database's HNSW walks 4-bit codes (see index --sq4)")
      ->excludes(c_import->get_option("--float16"))
      ->excludes(c_import->get_option("--flat"))
      ->excludes(c_import->get_option("--sq8"));

  DbOptions stats;
  auto* c_stats = app.add_subcommand("stats", "count, dimension, encoder, index kind, memory and disk use");
  db_options(c_stats, stats, kJson);

  TargetsOptions show;
  targets_command(app, "show", "everything known about images (by id or path): file, dates, camera, GPS, colours, "
                               "labels, tags, metadata", show, kJson);

  DbOptions repair;
  auto* c_repair = app.add_subcommand(
      "repair", "open a database whose write-ahead log is damaged: keep the changes logged before the damage, drop "
                "the rest, and save (copy the folder first if the dropped changes matter)");
  db_options(c_repair, repair, 0);

  TargetsOptions remove;
  targets_command(app, "remove", "remove images by id or by file path", remove);
  TagOptions tag;
  auto* c_tag = targets_command(app, "tag", "add or remove tags of images (by id or path)", tag, kModel);
  c_tag->add_option("--add", tag.add, "a tag to add; repeatable");
  c_tag->add_option("--remove", tag.remove, "a tag to remove; repeatable");
  c_tag->get_option("TARGET")->required(false);
  c_tag->add_option("--labels", tag.labels,
                    "zero-shot content labels with the database's CLIP model: \"default\" (photo, screenshot, "
                    "document, receipt, ..., beach, food, ...) or a file of NAME or NAME: PROMPT lines; the TARGETs, "
                    "or every image when none is given");
  c_tag->add_option("--top", tag.top, "labels kept per image (with --labels)")->check(CLI::Range(1, 100));
  c_tag->add_option("--min-score", tag.min_score, "the least probability a kept label has (with --labels)")
      ->check(CLI::Range(0.0, 1.0));
  MetaOptions meta;
  auto* c_meta = targets_command(app, "meta", "show or change images' metadata (by id or path)", meta);
  c_meta->add_option("--set", meta.set, "KEY=VALUE (integer, number, true/false, else text); repeatable");
  c_meta->add_option("--unset", meta.unset, "a key to remove; repeatable");

  ServeOptions serve;
  auto* c_serve = app.add_subcommand("serve", "an HTTP JSON API and a web page over a database: search by image, "
                                              "text, vector or id; uploads, metadata changes, deletes; duplicates");
  db_options(c_serve, serve, kModel | kDecode);
  c_serve->add_option("--host", serve.host, "address to listen on (default 127.0.0.1, this machine only)");
  c_serve->add_option("--port", serve.port, "port (0: any free port, printed at start)")->check(CLI::Range(0, 65535));
  c_serve->add_option("--api-key", serve.api_key,
                      "writes and duplicate searches need this key (Authorization: Bearer KEY or X-API-Key: KEY); "
                      "default $IMGVEC_API_KEY, else a token made at each start, printed and given to the page. "
                      "Required for writes on an address other than loopback");
  c_serve->add_flag("--read-only", serve.read_only, "refuse uploads, changes and deletes");
  c_serve->add_option("--cors", serve.cors,
                      "let web pages from this origin (http://host:port) call the API; repeatable; \"*\": any site");
  c_serve->add_option("--allowed-host", serve.allowed_hosts,
                      "another name this server answers to in the Host header (besides its address, localhost "
                      "and IP addresses); repeatable; \"*\": any (behind a proxy that checks it)");
  c_serve->add_flag("--open-reads", serve.open_reads, "let anyone find duplicates without the key");
  c_serve->add_option("--threads", serve.threads, "request threads")->check(CLI::Range(1, 256));
  c_serve->add_option("--max-upload-mb", serve.max_upload_mb, "largest request body, MB")->check(CLI::Range(1, 1024));
  c_serve->add_option("--max-megapixels", serve.max_megapixels, "largest image accepted, in millions of pixels")
      ->check(CLI::Range(1, 1000));
  c_serve->add_option("--text-cache", serve.text_cache, "text queries whose embeddings are kept (LRU)")
      ->check(CLI::Range(0, 1000000));
  c_serve->add_option("--save-every", serve.save_every, "save after this many changes")->check(CLI::Range(1, 100000000));
  c_serve->add_option("--save-interval", serve.save_interval, "or this many seconds after a change")
      ->check(CLI::Range(0.1, 86400.0));

  EmbedOptions embed;
  auto* c_embed = app.add_subcommand("embed", "embeddings from a CLIP bundle, as JSON");
  c_embed->footer(kCommandFooter);
  c_embed->add_option("--model", embed.model, "the CLIP bundle")->required();
  auto* text = c_embed->add_option("--text", embed.text, "a text");
  c_embed->add_option("--image", embed.images, "image files")->excludes(text);
  c_embed->add_option("--device", embed.device, "where the model runs")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  c_embed->add_option("--precision", embed.precision, "what the model computes in: float32, bf16, fp16")
      ->check(CLI::IsMember({"float32", "bf16", "fp16"}));

  TokenizeOptions tok;
  auto* c_tokenize = app.add_subcommand("tokenize", "CLIP token ids of a text, as JSON");
  c_tokenize->footer(kCommandFooter);
  c_tokenize->add_option("TEXT", tok.text, "the text")->required();
  c_tokenize->add_option("--model", tok.model, "a CLIP bundle (its vocabulary)");
  c_tokenize->add_option("--vocab", tok.vocab, "a CLIP merges file (bpe_simple_vocab_16e6.txt.gz)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsage;
  }

  const std::string command = app.get_subcommands().front()->get_name();
  try {
    if (command == "index") {
      install_interrupt_handlers();
      return run_index(index);
    }
    if (command == "search") return run_search(search);
    if (command == "dups") return run_dups(dups);
    if (command == "export") return run_export(exp);
    if (command == "import") return run_import(imp);
    if (command == "stats") return run_stats(stats);
    if (command == "show") return run_show(show);
    if (command == "repair") return run_repair(repair);
    if (command == "remove") return run_remove(remove);
    if (command == "tag") return run_tag(tag);
    if (command == "serve") return run_serve(serve);
    if (command == "meta") return run_meta(meta);
    if (command == "embed") return run_embed(embed);
    if (command == "tokenize") return run_tokenize(tok);
    return kUsage;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "imgvec %s: %s\nRun `imgvec %s --help` for its options.\n", command.c_str(), e.what(),
                 command.c_str());
    return kUsage;
  } catch (const imgvec::Error& e) {
    std::fprintf(stderr, "imgvec %s: %s\n", command.c_str(), e.what());
    return e.code() == imgvec::ErrorCode::invalid_argument ? kUsage : kFailure;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imgvec %s: %s\n", command.c_str(), e.what());
    return kFailure;
  }
}
