#include "cli/command_support.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "cli/output.hpp"

namespace imgvec::cli {
namespace fs = std::filesystem;

std::shared_ptr<Encoder> make_encoder(const std::string& model, const DbOptions& o) {
  std::shared_ptr<Encoder> encoder;
  if (model.empty()) encoder = std::make_shared<DescriptorEncoder>();
  else encoder = open_clip_encoder(model, o.device, o.precision);  // libtorch is loaded here
  encoder->set_fast_decode(!o.exact_decode);
  return encoder;
}

std::string choose_model(const DbOptions& o, bool creating) {
  if (!o.model.empty()) return o.model;
  const std::string remembered = VectorDatabase::remembered_model_bundle(o.db);
  if (!remembered.empty() || !creating) return remembered;
  const char* env = std::getenv("IMGVEC_MODEL");
  return env ? env : "";
}

void print_json(const nlohmann::json& j) {
  std::printf("%s\n", j.dump(1).c_str());
}

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

}  // namespace imgvec::cli
