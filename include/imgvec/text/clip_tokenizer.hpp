#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

/// OpenAI CLIP's byte-level BPE tokenizer, as open_clip uses it: the same text cleaning (ftfy's
/// default fixes that apply to well-formed text, HTML unescaping, whitespace collapsing,
/// lowercasing), the same split into words, digits and symbol runs by Unicode category, the same
/// merges. Token ids match the Python reference exactly (tests/data/tokenizer_cases.jsonl).
///
/// Thread-safe: encode() and tokenize() are const and keep no cache.
class ClipTokenizer {
 public:
  static constexpr std::int32_t kStartOfText = 49406;
  static constexpr std::int32_t kEndOfText = 49407;
  static constexpr std::size_t kContextLength = 77;

  /// Loads CLIP's merges file (bpe_simple_vocab_16e6.txt, optionally gzip-compressed). Throws
  /// imgvec::Error naming the file if it is missing, unreadable or not a CLIP merges file.
  static ClipTokenizer from_file(const std::string& path);
  /// Builds the tokenizer from the merges file's contents, plain or gzip-compressed (as a model
  /// bundle carries it); `source` names it in errors.
  static ClipTokenizer from_merges(std::string_view merges, const std::string& source = "merges");

  ClipTokenizer(ClipTokenizer&&) noexcept;
  ClipTokenizer& operator=(ClipTokenizer&&) noexcept;
  ~ClipTokenizer();

  /// The BPE token ids of `text` (UTF-8; invalid bytes count as U+FFFD), without start and end
  /// tokens and without a length limit.
  std::vector<std::int32_t> encode(std::string_view text) const;

  /// The model input: start token, the ids, end token, zero padding to `context_length`. Longer
  /// texts are cut to `context_length` with the end token kept last, as open_clip does.
  std::vector<std::int64_t> tokenize(std::string_view text,
                                     std::size_t context_length = kContextLength) const;

  /// Number of token ids (49408 for CLIP).
  std::size_t vocab_size() const;

 private:
  static ClipTokenizer from_merges_text(std::string_view text, const std::string& source);
  struct Impl;
  explicit ClipTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace imgvec
IMGVEC_API_END
