// The CLI's commands on stored images and the database itself: stats, repair, remove, tag, meta.
#include "cli/commands.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <tuple>

#include "cli/command_support.hpp"
#include "cli/interrupt.hpp"
#include "cli/output.hpp"
#include "cli/progress.hpp"
#include "wire/wire.hpp"

namespace imgvec::cli {
namespace {

using nlohmann::json;

// KEY=VALUE, the value typed as filters type it (parse_metadata_value).
std::pair<std::string, MetadataValue> metadata_entry(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw UsageError("--set takes KEY=VALUE, got \"" + text + "\"");
  return {text.substr(0, eq), parse_metadata_value(text.substr(eq + 1))};
}

}  // namespace

int run_stats(const DbOptions& o) {
  const auto db = open_database_to_read(o, true);
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
    options.labels = label_set_named(o.labels);
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
  const bool changes = !o.set.empty() || !o.unset.empty();
  const auto db = changes ? open_database(o) : open_database_to_read(o, true);
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
