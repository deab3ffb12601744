#pragma once

#include <string>
#include <string_view>

#include "imgvec/encoder/clip_encoder.hpp"

namespace imgvec::detail {

constexpr const char* kBundleConfigFile = "imgvec/config.json";
constexpr const char* kBundleVocabFile = "imgvec/vocab.txt.gz";
constexpr int kBundleFormatVersion = 1;

/// Parses and checks a bundle's config.json (tools/clip_bundle.py writes it). Throws
/// imgvec::Error naming `path` and the offending key.
ClipModelInfo parse_bundle_config(std::string_view json, const std::string& path);

/// The preprocessing and tokenization a bundle implies, as one line for the fingerprint.
std::string describe_preprocessing(const ClipModelInfo& info);

}  // namespace imgvec::detail
