// The CLIP bundle a database remembers as its model: one small file, MODEL, in its folder, owned
// by the library (the CLI and Python wrote it each their own way: the CLI as typed, so a relative
// --model broke every later command run from another folder, issue 20).
#include <filesystem>
#include <fstream>

#include "database/database_impl.hpp"
#include "imgvec/database.hpp"
#include "io/binary_io.hpp"

namespace imgvec {

std::string detail::model_bundle_path(const std::string& dir) {
  return dir + "/MODEL";
}

std::string VectorDatabase::remembered_model_bundle(const std::string& directory) {
  std::ifstream in(detail::model_bundle_path(directory));
  std::string bundle;
  std::getline(in, bundle);
  return bundle;
}

void VectorDatabase::remember_model_bundle(const std::string& bundle) {
  const std::string path = detail::model_bundle_path(impl_->dir);
  if (bundle.empty()) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    return;
  }
  const std::string absolute = std::filesystem::absolute(bundle).lexically_normal().string() + "\n";
  detail::AtomicFileWriter out(path);
  out.write(absolute.data(), absolute.size());
  out.commit();
}

}  // namespace imgvec
