// index_directory: a folder walked (exclusions, extensions, the database's own folder skipped),
// its files added through add_paths, and what vanished counted or removed.
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iterator>
#include <system_error>

#include "database/add_inputs.hpp"
#include "database/database_impl.hpp"
#include "database/write_transaction.hpp"
#include "imgvec/error.hpp"
#include "metadata/glob.hpp"

namespace imgvec {
namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

IndexDirectoryReport VectorDatabase::index_directory(const std::string& dir, const IndexDirectoryOptions& o) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(ErrorCode::not_found, dir + ": no such directory");
  const fs::path root = fs::absolute(dir).lexically_normal();
  for (const auto& pattern : o.exclude) detail::check_glob(pattern, "exclude pattern \"" + pattern.substr(0, 40) + "\"");
  std::vector<std::string> paths;
  IndexDirectoryReport report;
  auto consider = [&](const fs::directory_entry& entry) {
    if (!entry.is_regular_file(ec)) return;
    const fs::path& p = entry.path();
    const std::string rel = p.lexically_relative(root).string();
    for (const auto& pattern : o.exclude) {
      if (detail::glob_match(pattern, rel, /*ignore_case=*/false)) {
        ++report.excluded;
        return;
      }
    }
    if (!o.extensions.empty()) {
      const std::string ext = lower(p.extension().string());
      const std::string bare = ext.empty() ? ext : ext.substr(1);
      if (bare.empty() || std::find(o.extensions.begin(), o.extensions.end(), bare) == o.extensions.end()) {
        ++report.skipped;
        ++report.skipped_extensions[bare];
        return;
      }
    }
    paths.push_back(p.string());
  };
  const auto options = fs::directory_options::skip_permission_denied;
  if (o.recursive) {
    // The database's own folder may sit inside the one indexed (PHOTOS/.imgvec): not walked.
    const fs::path own = fs::weakly_canonical(impl_->dir, ec);
    fs::recursive_directory_iterator it(root, options, ec), end;
    for (; it != end; it.increment(ec)) {
      std::error_code same;
      if (it->is_directory(same) && fs::equivalent(it->path(), own, same)) {
        it.disable_recursion_pending();
        continue;
      }
      consider(*it);
    }
  } else {
    for (const auto& e : fs::directory_iterator(root, options, ec)) consider(e);
  }
  std::sort(paths.begin(), paths.end());

  std::vector<Metadata> metadata;
  if (o.metadata) {
    metadata.reserve(paths.size());
    for (const auto& p : paths) metadata.push_back(o.metadata(p));
  }
  AddInputs in;
  if (o.metadata) in.metadata = &metadata;
  in.progress = &o.progress;
  if (o.cancel) in.cancelled = &o.cancel;
  in.checkpoint = o.checkpoint;
  in.chunk = o.chunk;
  in.remember_failures = true;
  in.stats = &report.embedding;
  const std::vector<AddResult> results = add_paths(paths, in);
  if (o.refresh) {
    std::vector<Id> unchanged;
    for (const AddResult& r : results) {
      if (r.status == AddStatus::unchanged) unchanged.push_back(r.id);
    }
    report.refreshed = refresh_photo_facts(unchanged);
    if (report.refreshed > 0 && o.checkpoint) save();
  } else {
    Impl::Shared guard(impl_->lock);
    for (const AddResult& r : results) {
      const ImageRecord* rec = r.status == AddStatus::unchanged ? impl_->store.get(r.id) : nullptr;
      report.without_facts += rec && !rec->analysis.analysed();
    }
  }
  for (const AddResult& r : results) {
    switch (r.status) {
      case AddStatus::added: ++report.added; break;
      case AddStatus::updated: ++report.updated; break;
      case AddStatus::unchanged: ++report.unchanged; break;
      case AddStatus::renamed: ++report.renamed; break;
      case AddStatus::removed: break;
      case AddStatus::interrupted: report.interrupted = true; break;
      case AddStatus::failed:
        ++report.failed;
        report.failed_unchanged += r.remembered ? 1 : 0;
        report.failures.push_back(r);
        break;
    }
  }
  if (report.interrupted) return report;
  // Failures of files that are gone are forgotten.
  bool forgot = false;
  {
    const std::string prefix = root.string() + "/";
    std::lock_guard<detail::RwLock> guard(impl_->lock);
    for (auto it = impl_->failed.begin(); it != impl_->failed.end();) {
      struct stat st {};
      const bool gone = it->first.rfind(prefix, 0) == 0 && ::stat(it->first.c_str(), &st) != 0;
      it = gone ? impl_->failed.erase(it) : std::next(it);
      forgot = forgot || gone;
    }
  }
  if (forgot && o.checkpoint) save();
  // Records of files under this directory that are gone: removed on request, else counted.
  {
    const std::string prefix = root.string() + "/";
    Impl::Shared guard(impl_->lock);
    impl_->store.for_each([&](const ImageRecord& r) {
      struct stat st {};
      if (r.source.rfind(prefix, 0) == 0 && ::stat(r.source.c_str(), &st) != 0) ++report.vanished;
    });
  }
  if (o.remove_missing) {
    const std::string prefix = root.string() + "/";
    std::vector<Id> gone;
    {
      Impl::Shared guard(impl_->lock);
      impl_->store.for_each([&](const ImageRecord& r) {
        struct stat st {};
        if (r.source.rfind(prefix, 0) == 0 && ::stat(r.source.c_str(), &st) != 0) gone.push_back(r.id);
      });
    }
    for (Id id : gone) report.removed += remove(id);
    report.vanished -= std::min(report.vanished, report.removed);
    if (o.checkpoint && !gone.empty()) save();
  }
  return report;
}

}  // namespace imgvec
