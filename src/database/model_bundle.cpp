// The CLIP bundle a database remembers as its model: one small file, MODEL, in its folder, owned
// by the library (the CLI and Python wrote it each their own way: the CLI as typed, so a relative
// --model broke every later command run from another folder, issue 20), and the choice of
// encoder that open(directory) makes from it.
#include <filesystem>
#include <fstream>
#include <system_error>

#include "database/database_impl.hpp"
#include "database/model_choice.hpp"
#include "imgvec/database.hpp"
#include "imgvec/encoder/clip_module.hpp"
#include "imgvec/encoder/descriptor_encoder.hpp"
#include "io/binary_io.hpp"

namespace imgvec {

namespace fs = std::filesystem;

std::string detail::model_bundle_path(const std::string& dir) {
  return dir + "/MODEL";
}

void detail::write_model_bundle(const std::string& dir, const std::string& bundle) {
  const std::string path = model_bundle_path(dir);
  if (bundle.empty()) {
    std::error_code ec;
    fs::remove(path, ec);
    return;
  }
  const std::string absolute = fs::absolute(bundle).lexically_normal().string() + "\n";
  AtomicFileWriter out(path);
  out.write(absolute.data(), absolute.size());
  out.commit();
}

std::string VectorDatabase::remembered_model_bundle(const std::string& directory) {
  std::ifstream in(detail::model_bundle_path(directory));
  std::string bundle;
  std::getline(in, bundle);
  return bundle;
}

void VectorDatabase::remember_model_bundle(const std::string& bundle) {
  impl_->refuse_if_read_only("remember a model bundle");
  detail::write_model_bundle(impl_->dir, bundle);
}

namespace {

bool is_file(const std::string& path) {
  std::error_code ec;
  return !path.empty() && fs::is_regular_file(path, ec);
}

}  // namespace

void detail::choose_encoder(VectorDatabase::Impl& impl, const ModelChoice& choice) {
  const EncoderFingerprint& have = impl.manifest.encoder;
  const std::string& dir = impl.dir;
  if (have.kind == "descriptor") {
    if (!choice.bundle.empty()) {
      throw Error(ErrorCode::incompatible,
                  dir + ": built with imgvec's built-in encoder, not a CLIP model; open it without a model bundle "
                        "(--model " + choice.bundle + ")");
    }
    auto encoder = std::make_shared<DescriptorEncoder>();
    if (encoder->fingerprint() != have) {
      throw Error(ErrorCode::incompatible, dir + ": built with encoder [" + have.to_string() +
                                               "], which this imgvec's built-in encoder [" +
                                               encoder->fingerprint().to_string() + "] is not");
    }
    encoder->set_fast_decode(choice.fast_decode);
    impl.encoder.hold(std::move(encoder));
    return;
  }
  if (have.kind != "clip") {
    impl.encoder.defer(have, dir, [dir, have]() -> std::shared_ptr<Encoder> {
      throw Error(ErrorCode::invalid_argument,
                  dir + ": built with an encoder of the program's own (" + have.kind +
                      "); open it with VectorDatabase::open(directory, encoder)");
    });
    return;
  }
  std::string remembered = VectorDatabase::remembered_model_bundle(dir);
  // A MODEL the CLI wrote before 0.2.0 holds the path as typed, perhaps relative: resolved
  // against the current folder (as those versions did) and stored absolute when it names a file.
  if (!remembered.empty() && fs::path(remembered).is_relative() && is_file(remembered)) {
    remembered = fs::absolute(remembered).lexically_normal().string();
    try {
      if (!impl.read_only) write_model_bundle(dir, remembered);
    } catch (const Error&) {
      // A read-only folder: it stays as it was, and works from this folder as before.
    }
  }
  const std::string bundle =
      choice.bundle.empty() ? remembered : fs::absolute(choice.bundle).lexically_normal().string();
  const bool remember = !impl.read_only && !choice.bundle.empty() && (choice.remember || !is_file(remembered));
  const std::string device = choice.device;
  const std::string precision = choice.precision;
  const bool fast_decode = choice.fast_decode;
  impl.encoder.defer(
      have, dir,
      [dir, have, bundle, device, precision, fast_decode]() -> std::shared_ptr<Encoder> {
        if (bundle.empty()) {
          throw Error(ErrorCode::not_found,
                      dir + ": built with the CLIP model " + have.model +
                          ", but it does not remember where the model bundle is; give it (--model BUNDLE, or "
                          "model= in Python)");
        }
        if (!is_file(bundle)) {
          throw Error(ErrorCode::not_found,
                      bundle + ": the model bundle of " + dir + " (" + have.model +
                          ") is not there; give its new place (--model BUNDLE, or model= in Python), and the "
                          "database remembers it");
        }
        std::shared_ptr<Encoder> encoder = open_clip_encoder(bundle, device, precision);
        encoder->set_fast_decode(fast_decode);
        return encoder;
      },
      [dir, bundle, remember] {
        if (!remember) return;
        try {
          write_model_bundle(dir, bundle);
        } catch (const Error&) {
          // Remembering is a convenience: a read-only folder keeps its old MODEL.
        }
      });
}

}  // namespace imgvec
