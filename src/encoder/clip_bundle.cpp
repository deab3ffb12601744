#include "encoder/clip_bundle.hpp"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "imgvec/detail/json_nesting.hpp"
#include "imgvec/error.hpp"

namespace imgvec::detail {
namespace {

using nlohmann::json;

[[noreturn]] void bad(ErrorCode code, const std::string& path, const std::string& what) {
  throw Error(code, path + ": " + what);
}

const json& field(const json& config, const char* key, const std::string& path) {
  const auto it = config.find(key);
  if (it == config.end()) bad(ErrorCode::corrupt_file, path, std::string("config.json lacks \"") + key + "\"");
  return *it;
}

std::uint64_t integer(const json& config, const char* key, std::uint64_t lo, std::uint64_t hi,
                      const std::string& path) {
  const json& v = field(config, key, path);
  if (!v.is_number_integer() || v.get<std::int64_t>() < static_cast<std::int64_t>(lo) ||
      v.get<std::uint64_t>() > hi) {
    bad(ErrorCode::corrupt_file, path,
        std::string("config.json: \"") + key + "\" must be an integer in [" + std::to_string(lo) +
            ", " + std::to_string(hi) + "], got " + v.dump());
  }
  return v.get<std::uint64_t>();
}

std::string text(const json& config, const char* key, const std::string& path) {
  const json& v = field(config, key, path);
  if (!v.is_string()) {
    bad(ErrorCode::corrupt_file, path, std::string("config.json: \"") + key + "\" must be a string");
  }
  return v.get<std::string>();
}

std::array<float, 3> triple(const json& config, const char* key, bool positive, const std::string& path) {
  const json& v = field(config, key, path);
  std::array<float, 3> out{};
  bool ok = v.is_array() && v.size() == 3;
  for (std::size_t i = 0; ok && i < 3; ++i) {
    ok = v[i].is_number() && (!positive || v[i].get<double>() > 0);
    if (ok) out[i] = v[i].get<float>();
  }
  if (!ok) {
    bad(ErrorCode::corrupt_file, path,
        std::string("config.json: \"") + key + "\" must be three " + (positive ? "positive " : "") +
            "numbers (R, G, B), got " + v.dump());
  }
  return out;
}

void require(const std::string& value, const char* expected, const char* what, const std::string& path) {
  if (value != expected) {
    bad(ErrorCode::unsupported, path,
        std::string("the model wants ") + what + " \"" + value + "\"; imgvec implements \"" +
            expected + "\" only");
  }
}

}  // namespace

ClipModelInfo parse_bundle_config(std::string_view text_json, const std::string& path) {
  json config;
  detail::check_json_nesting(text_json, path + ": config.json", ErrorCode::corrupt_file);
  try {
    config = json::parse(text_json);
  } catch (const json::exception& e) {
    bad(ErrorCode::corrupt_file, path, std::string("config.json is not valid JSON: ") + e.what());
  }
  if (!config.is_object()) bad(ErrorCode::corrupt_file, path, "config.json is not a JSON object");
  const std::uint64_t version = integer(config, "format_version", 1, 1u << 30, path);
  if (version > static_cast<std::uint64_t>(kBundleFormatVersion)) {
    bad(ErrorCode::unsupported, path,
        "bundle format " + std::to_string(version) + " is newer than this imgvec reads (" +
            std::to_string(kBundleFormatVersion) + "); update imgvec");
  }
  ClipModelInfo info;
  info.name = text(config, "name", path);
  info.embed_dim = static_cast<std::uint32_t>(integer(config, "embed_dim", 1, 65536, path));
  info.preprocess.image_size = static_cast<std::uint32_t>(integer(config, "image_size", 1, 4096, path));
  info.preprocess.mean = triple(config, "mean", false, path);
  info.preprocess.std = triple(config, "std", true, path);
  info.context_length = integer(config, "context_length", 3, 4096, path);
  info.vocab_size = integer(config, "vocab_size", 1, 1u << 24, path);
  require(text(config, "interpolation", path), "bicubic", "interpolation", path);
  require(text(config, "resize_mode", path), "shortest", "resize mode", path);
  require(text(config, "tokenizer", path), "clip_bpe", "tokenizer", path);
  const json& truncation = field(config, "text_truncation", path);
  if (!truncation.is_boolean()) {
    bad(ErrorCode::corrupt_file, path, "config.json: \"text_truncation\" must be true or false");
  }
  info.text_truncation = truncation.get<bool>();
  return info;
}

std::string describe_preprocessing(const ClipModelInfo& info) {
  const auto& p = info.preprocess;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "resize shorter side bicubic %u, center crop, mean %.8g %.8g %.8g, std %.8g %.8g "
                "%.8g; clip_bpe tokenizer, context %zu",
                p.image_size, p.mean[0], p.mean[1], p.mean[2], p.std[0], p.std[1], p.std[2],
                info.context_length);
  return buf;
}

}  // namespace imgvec::detail
