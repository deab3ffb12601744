#include "imgvec/text/clip_tokenizer.hpp"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <string>
#include <unordered_map>

#include "imgvec/error.hpp"
#include "text/text_clean.hpp"

namespace imgvec {
namespace {

// CLIP uses the first 49152 - 256 - 2 merges of its file: 256 byte tokens, their 256 end-of-word
// forms, the merges, and two special tokens make a vocabulary of 49408.
constexpr std::size_t kMerges = 49152 - 256 - 2;
constexpr const char* kEndOfWord = "</w>";

// GPT-2's reversible byte-to-character map: printable Latin-1 bytes map to themselves, the others
// to code points from U+0100 up, so every byte sequence becomes a string of visible characters.
// `order` receives the bytes in the reference's dict order (printable ones first), which is the
// order of the first 512 vocabulary entries.
std::vector<std::string> byte_to_unicode(std::vector<int>& order) {
  order.clear();
  for (int b = '!'; b <= '~'; ++b) order.push_back(b);
  for (int b = 0xA1; b <= 0xAC; ++b) order.push_back(b);
  for (int b = 0xAE; b <= 0xFF; ++b) order.push_back(b);
  std::vector<std::string> map(256);
  std::vector<bool> done(256, false);
  for (int b : order) {
    map[b] = detail::to_utf8(std::u32string(1, static_cast<char32_t>(b)));
    done[b] = true;
  }
  int next = 256;
  for (int b = 0; b < 256; ++b) {
    if (done[b]) continue;
    map[b] = detail::to_utf8(std::u32string(1, static_cast<char32_t>(next++)));
    order.push_back(b);
  }
  return map;
}

std::string read_file(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");  // reads plain files too
  if (!f) throw Error(ErrorCode::not_found, path + ": cannot open the CLIP merges file");
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      gzclose(f);
      throw Error(ErrorCode::corrupt_file, path + ": damaged gzip data");
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  gzclose(f);
  return out;
}

}  // namespace

struct ClipTokenizer::Impl {
  std::vector<std::string> byte_map;
  std::unordered_map<std::string, std::int32_t> encoder;
  std::unordered_map<std::string, std::int32_t> ranks;  // "left right" -> merge rank

  int rank(const std::string& a, const std::string& b) const {
    auto it = ranks.find(a + ' ' + b);
    return it == ranks.end() ? std::numeric_limits<int>::max() : it->second;
  }

  // The reference's bpe(): repeatedly merge the lowest-ranked adjacent pair, everywhere it occurs.
  void bpe(const std::string& token_bytes, std::vector<std::int32_t>& out) const {
    std::vector<std::string> word;
    for (unsigned char b : token_bytes) word.push_back(byte_map[b]);
    word.back() += kEndOfWord;
    while (word.size() > 1) {
      int best = std::numeric_limits<int>::max();
      std::size_t at = 0;
      for (std::size_t i = 0; i + 1 < word.size(); ++i) {
        const int r = rank(word[i], word[i + 1]);
        if (r < best) {
          best = r;
          at = i;
        }
      }
      if (best == std::numeric_limits<int>::max()) break;
      const std::string first = word[at], second = word[at + 1];
      std::vector<std::string> merged;
      merged.reserve(word.size());
      for (std::size_t i = 0; i < word.size();) {
        if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
          merged.push_back(first + second);
          i += 2;
        } else {
          merged.push_back(word[i++]);
        }
      }
      word.swap(merged);
    }
    for (const std::string& piece : word) out.push_back(encoder.at(piece));
  }
};

ClipTokenizer::ClipTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClipTokenizer::ClipTokenizer(ClipTokenizer&&) noexcept = default;
ClipTokenizer& ClipTokenizer::operator=(ClipTokenizer&&) noexcept = default;
ClipTokenizer::~ClipTokenizer() = default;

ClipTokenizer ClipTokenizer::from_file(const std::string& path) {
  return from_merges(read_file(path), path);
}

namespace {

// The merges as a model bundle stores them: gzip-compressed, in memory.
std::string gunzip(std::string_view data, const std::string& source) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
    throw Error(ErrorCode::io, source + ": cannot start zlib");
  }
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[1 << 16];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // truncated: no more input to consume
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END) throw Error(ErrorCode::corrupt_file, source + ": damaged gzip data");
  return out;
}

}  // namespace

ClipTokenizer ClipTokenizer::from_merges(std::string_view text, const std::string& source) {
  if (text.size() >= 2 && static_cast<unsigned char>(text[0]) == 0x1F &&
      static_cast<unsigned char>(text[1]) == 0x8B) {
    return from_merges_text(gunzip(text, source), source);
  }
  return from_merges_text(text, source);
}

ClipTokenizer ClipTokenizer::from_merges_text(std::string_view text, const std::string& source) {
  auto impl = std::make_unique<Impl>();
  std::vector<int> order;
  impl->byte_map = byte_to_unicode(order);
  std::vector<std::string> vocab;
  vocab.reserve(49408);
  for (int b : order) vocab.push_back(impl->byte_map[b]);
  for (int b : order) vocab.push_back(impl->byte_map[b] + kEndOfWord);
  // Line 0 is a version comment; the merges follow, one "left right" pair per line.
  std::size_t pos = text.find('\n');
  std::size_t merges = 0;
  while (pos != std::string_view::npos && merges < kMerges) {
    const std::size_t start = pos + 1;
    pos = text.find('\n', start);
    const std::string_view line =
        text.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start);
    if (line.empty() && pos == std::string_view::npos) break;  // the file's final newline
    const std::size_t space = line.find(' ');
    if (line.empty() || space == std::string_view::npos || space == 0 || space + 1 == line.size()) {
      throw Error(ErrorCode::corrupt_file, source + ": line " + std::to_string(merges + 2) +
                                               " is not a merge (\"left right\")");
    }
    impl->ranks.emplace(std::string(line), static_cast<std::int32_t>(merges));
    vocab.push_back(std::string(line.substr(0, space)) + std::string(line.substr(space + 1)));
    ++merges;
  }
  if (merges < kMerges) {
    throw Error(ErrorCode::corrupt_file, source + ": has " + std::to_string(merges) +
                                             " merges, a CLIP merges file has at least " +
                                             std::to_string(kMerges));
  }
  vocab.push_back("<|startoftext|>");
  vocab.push_back("<|endoftext|>");
  for (std::size_t i = 0; i < vocab.size(); ++i) {
    impl->encoder.emplace(vocab[i], static_cast<std::int32_t>(i));
  }
  return ClipTokenizer(std::move(impl));
}

std::size_t ClipTokenizer::vocab_size() const { return impl_->encoder.size(); }

std::vector<std::int32_t> ClipTokenizer::encode(std::string_view input) const {
  const std::u32string text = detail::clean_text(input);
  std::vector<std::int32_t> out;
  static const std::u32string kSpecial[2] = {U"<|startoftext|>", U"<|endoftext|>"};
  // The reference's pattern, alternative by alternative:
  //   <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
  for (std::size_t i = 0; i < text.size();) {
    const char32_t c = text[i];
    if (detail::is_space(c)) {
      ++i;
      continue;
    }
    std::size_t end = i + 1;
    bool special = false;
    for (int s = 0; s < 2 && !special; ++s) {
      if (text.compare(i, kSpecial[s].size(), kSpecial[s]) == 0) {
        out.push_back(s == 0 ? kStartOfText : kEndOfText);
        i += kSpecial[s].size();
        special = true;
      }
    }
    if (special) continue;
    auto at = [&](std::size_t k) { return k < text.size() ? text[k] : char32_t{0}; };
    if (c == U'\'' && (at(i + 1) == U's' || at(i + 1) == U't' || at(i + 1) == U'm' || at(i + 1) == U'd')) {
      end = i + 2;
    } else if (c == U'\'' && ((at(i + 1) == U'r' && at(i + 2) == U'e') ||
                              (at(i + 1) == U'v' && at(i + 2) == U'e') ||
                              (at(i + 1) == U'l' && at(i + 2) == U'l'))) {
      end = i + 3;
    } else if (detail::is_letter(c)) {
      while (end < text.size() && detail::is_letter(text[end])) ++end;
    } else if (detail::is_number(c)) {
      end = i + 1;
    } else {
      while (end < text.size() && !detail::is_space(text[end]) && !detail::is_letter(text[end]) &&
             !detail::is_number(text[end])) {
        ++end;
      }
    }
    impl_->bpe(detail::to_utf8(text.substr(i, end - i)), out);
    i = end;
  }
  return out;
}

std::vector<std::int64_t> ClipTokenizer::tokenize(std::string_view text,
                                                  std::size_t context_length) const {
  if (context_length < 2) {
    throw Error(ErrorCode::invalid_argument,
                "tokenize: context_length " + std::to_string(context_length) + " leaves no room for "
                "the start and end tokens");
  }
  const std::vector<std::int32_t> ids = encode(text);
  std::vector<std::int64_t> out(context_length, 0);
  out[0] = kStartOfText;
  const std::size_t n = std::min(ids.size(), context_length - 2);
  std::copy(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n), out.begin() + 1);
  out[n + 1] = kEndOfText;
  return out;
}

}  // namespace imgvec
