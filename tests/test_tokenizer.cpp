#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>

#include "imgvec/error.hpp"
#include "imgvec/text/clip_tokenizer.hpp"
#include "text/text_clean.hpp"

using imgvec::ClipTokenizer;

namespace {

const std::string kData = IMGVEC_TEST_DATA_DIR;

const ClipTokenizer& tokenizer() {
  static const ClipTokenizer t = ClipTokenizer::from_file(kData + "/bpe_simple_vocab_16e6.txt.gz");
  return t;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  out += imgvec::detail::to_utf8(std::u32string(1, static_cast<char32_t>(cp)));
}

// Just enough JSON for {"text": "...", "ids": [1, 2]} lines.
struct Case {
  std::string text;
  std::vector<std::int32_t> ids;
};

Case parse_case(const std::string& line) {
  Case c;
  std::size_t i = line.find("\"text\"");
  REQUIRE(i != std::string::npos);
  i = line.find('"', line.find(':', i)) + 1;
  while (line[i] != '"') {
    if (line[i] != '\\') {
      c.text.push_back(line[i++]);
      continue;
    }
    const char e = line[i + 1];
    i += 2;
    switch (e) {
      case 'n': c.text.push_back('\n'); break;
      case 't': c.text.push_back('\t'); break;
      case 'r': c.text.push_back('\r'); break;
      case 'b': c.text.push_back('\b'); break;
      case 'f': c.text.push_back('\f'); break;
      case 'u': {
        std::uint32_t cp = std::stoul(line.substr(i, 4), nullptr, 16);
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && line.compare(i, 2, "\\u") == 0) {
          const std::uint32_t lo = std::stoul(line.substr(i + 2, 4), nullptr, 16);
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          i += 6;
        }
        append_utf8(c.text, cp);
        break;
      }
      default: c.text.push_back(e);
    }
  }
  std::size_t b = line.find('[', line.find("\"ids\"")) + 1;
  const std::size_t end = line.find(']', b);
  while (b < end) {
    std::size_t used = 0;
    c.ids.push_back(std::stoi(line.substr(b), &used));
    b = line.find_first_not_of(", ", b + used);
  }
  return c;
}

}  // namespace

TEST_CASE("tokenizer reproduces every reference case", "[tokenizer]") {
  std::ifstream in(kData + "/tokenizer_cases.jsonl");
  REQUIRE(in);
  std::string line;
  std::size_t cases = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const Case c = parse_case(line);
    INFO("text: " << c.text);
    CHECK(tokenizer().encode(c.text) == c.ids);
    ++cases;
  }
  CHECK(cases >= 20);
  CHECK(tokenizer().vocab_size() == 49408);
}

TEST_CASE("tokenize adds start and end tokens, pads and truncates", "[tokenizer]") {
  auto t = tokenizer().tokenize("a photo of a dog");
  REQUIRE(t.size() == 77);
  CHECK(t[0] == ClipTokenizer::kStartOfText);
  CHECK(t[1] == 320);
  CHECK(t[6] == ClipTokenizer::kEndOfText);
  CHECK(t[7] == 0);
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += "dog ";
  auto cut = tokenizer().tokenize(long_text);
  REQUIRE(cut.size() == 77);
  CHECK(cut[75] == 1929);
  CHECK(cut[76] == ClipTokenizer::kEndOfText);
  CHECK(tokenizer().tokenize("", 5) == std::vector<std::int64_t>{49406, 49407, 0, 0, 0});
  CHECK_THROWS_AS(tokenizer().tokenize("x", 1), imgvec::Error);
}

TEST_CASE("a missing or damaged merges file is a clear error", "[tokenizer][errors]") {
  CHECK_THROWS_WITH(ClipTokenizer::from_file(kData + "/no-such-file.txt.gz"),
                    Catch::Matchers::Contains("no-such-file.txt.gz"));
  CHECK_THROWS_WITH(ClipTokenizer::from_merges("#version\na b\nc\n", "bundle"),
                    Catch::Matchers::Contains("bundle: line 3"));
  CHECK_THROWS_WITH(ClipTokenizer::from_merges("#version\na b\n", "short"),
                    Catch::Matchers::Contains("has 1 merges"));
}

TEST_CASE("gzip-compressed merges in memory load like the file", "[tokenizer]") {
  std::ifstream in(kData + "/bpe_simple_vocab_16e6.txt.gz", std::ios::binary);
  const std::string gz{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const ClipTokenizer t = ClipTokenizer::from_merges(gz, "bundle vocab");
  const char* text = "A photo of two dogs playing in the snow, 1998.";
  CHECK(t.encode(text) == tokenizer().encode(text));
  CHECK_THROWS_WITH(ClipTokenizer::from_merges(gz.substr(0, gz.size() / 2), "bundle vocab"),
                    Catch::Matchers::Contains("bundle vocab: damaged gzip data"));
}
