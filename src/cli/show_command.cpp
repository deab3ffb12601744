// imgvec show: one image's whole record, as a table or as the wire format's JSON.
#include <ctime>
#include <string>

#include "cli/command_support.hpp"
#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "wire/wire.hpp"

namespace imgvec::cli {
namespace {

// ms since the Unix epoch as this machine's local time, with its offset ("2024-01-05 09:12:00 +01:00").
std::string local_time(std::int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm t{};
  if (!localtime_r(&seconds, &t)) return std::to_string(ms) + " ms";
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &t);
  const long off = t.tm_gmtoff / 60, a = off < 0 ? -off : off;
  char zone[48];  // room for any long the compiler cannot rule out (-Wformat-truncation)
  std::snprintf(zone, sizeof zone, " %c%02ld:%02ld", off < 0 ? '-' : '+', a / 60, a % 60);
  return std::string(buf) + zone;
}

std::string size_text(std::uint64_t bytes) {
  char buf[32];
  if (bytes >= 1000000) std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  else if (bytes >= 1000) std::snprintf(buf, sizeof buf, "%.1f kB", static_cast<double>(bytes) / 1e3);
  else std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  return buf;
}

void line(const char* name, const std::string& value) {
  if (!value.empty()) std::printf("%-10s  %s\n", name, value.c_str());
}

void print_table(const VectorDatabase& db, const ImageRecord& r) {
  line("id", std::to_string(r.id));
  line("file", r.source.empty() ? std::string("(added from memory: no file)") : escape_path(db.portable_source(r.source)));
  line("image", std::string(to_string(r.format)) + ", " + std::to_string(r.width) + " x " + std::to_string(r.height) +
                    (r.file_size ? ", " + size_text(r.file_size) : std::string()));
  const char* from = r.photo.taken_source == TakenSource::file_name ? "  (from the file's name)" : "  (from its metadata)";
  line("taken", r.photo.taken_ms ? r.photo.taken_text() + from : std::string("no date (its metadata holds none)"));
  if (r.mtime_ns) line("modified", local_time(r.mtime_ns / 1000000) + "  (the file's time)");
  line("added", local_time(r.added_ms));
  line("camera", r.photo.camera());
  line("lens", r.photo.lens);
  if (r.photo.latitude && r.photo.longitude) {
    char gps[64];
    std::snprintf(gps, sizeof gps, "%.6f, %.6f", *r.photo.latitude, *r.photo.longitude);
    line("gps", gps);
  }
  if (r.analysis.analysed()) {
    std::string colours;
    for (const auto& c : r.analysis.colours) {
      char one[64];
      std::snprintf(one, sizeof one, "%s%s %s %.0f%%", colours.empty() ? "" : ", ", to_string(c.name),
                    to_hex(c.rgb).c_str(), c.share * 100.0);
      colours += one;
    }
    line("colours", colours);
    char look[128];
    std::snprintf(look, sizeof look, "%s; brightness %.2f, saturation %.2f, colourfulness %.2f", to_string(r.analysis.tone),
                  r.analysis.brightness, r.analysis.saturation, r.analysis.colourfulness);
    line("look", look);
  }
  std::string labels, tags;
  for (const auto& l : r.labels) {
    char score[16];
    std::snprintf(score, sizeof score, " %.3f", l.score);
    labels += (labels.empty() ? "" : ", ") + escape_path(l.name) + score;
  }
  for (const auto& t : r.tags) tags += (tags.empty() ? "" : ", ") + escape_path(t);
  line("labels", labels);
  line("tags", tags);
  line("metadata", r.metadata.empty() ? std::string() : wire::to_json(r.metadata).dump());
}

}  // namespace

int run_show(const TargetsOptions& o) {
  const auto db = open_database_to_read(o, true);
  nlohmann::json all = nlohmann::json::array();
  for (std::size_t i = 0; i < o.targets.size(); ++i) {
    const ImageRecord r = *db->get(resolve(*db, o.targets[i]));
    if (o.json) {
      all.push_back(wire::to_json(r));
      continue;
    }
    if (i) std::printf("\n");
    print_table(*db, r);
  }
  // One image: its record; several: a list of them.
  if (o.json) print_json(all.size() == 1 ? all[0] : all);
  return kOk;
}

}  // namespace imgvec::cli
