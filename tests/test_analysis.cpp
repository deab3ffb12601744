#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <set>

#include "imgvec/error.hpp"
#include "imgvec/image/analysis.hpp"

// Image analysis on synthetic images whose answers are known.
using namespace imgvec;

namespace {

Image make(std::uint32_t w, std::uint32_t h, const std::function<Rgb(std::uint32_t, std::uint32_t)>& colour) {
  Image im;
  im.width = w;
  im.height = h;
  im.rgb.resize(std::size_t{w} * h * 3);
  for (std::uint32_t y = 0; y < h; ++y) {
    for (std::uint32_t x = 0; x < w; ++x) {
      const Rgb c = colour(x, y);
      std::uint8_t* p = &im.rgb[(std::size_t{y} * w + x) * 3];
      p[0] = c.r;
      p[1] = c.g;
      p[2] = c.b;
    }
  }
  return im;
}

// a + (b - a) * t, per channel.
Rgb mix(Rgb a, Rgb b, double t) {
  auto m = [t](int x, int y) { return static_cast<std::uint8_t>(x + (y - x) * t + 0.5); };
  return {m(a.r, b.r), m(a.g, b.g), m(a.b, b.b)};
}

std::set<std::string> names(const ImageAnalysis& a) {
  std::set<std::string> out;
  for (const auto& c : a.colours) out.insert(to_string(c.name));
  return out;
}

}  // namespace

TEST_CASE("a half-red, half-blue image has two colours, half each", "[analysis]") {
  const Image im = make(300, 200, [](auto x, auto) { return x < 150 ? Rgb{230, 20, 30} : Rgb{20, 60, 220}; });
  const ImageAnalysis a = analyze_image(im);
  REQUIRE(a.colours.size() == 2);
  CHECK(names(a) == std::set<std::string>{"red", "blue"});
  for (const auto& c : a.colours) CHECK(c.share == Approx(0.5).margin(0.02));
  CHECK(a.saturation > 0.85f);
  CHECK(a.colourfulness > 0.8f);  // Hasler and Süsstrunk: "extremely colourful" above 1.09
  CHECK(analyze_image(im) == a);  // deterministic
}

TEST_CASE("a gray ramp is neutral: no saturation, no colourfulness, grays only", "[analysis]") {
  const Image ramp = make(256, 40, [](auto x, auto) { return Rgb{std::uint8_t(x), std::uint8_t(x), std::uint8_t(x)}; });
  const ImageAnalysis a = analyze_image(ramp);
  REQUIRE(!a.colours.empty());
  for (const auto& n : names(a)) CHECK((n == "gray" || n == "black" || n == "white"));
  CHECK(names(a).count("black"));
  CHECK(names(a).count("white"));
  CHECK(a.saturation == Approx(0).margin(1e-6));
  CHECK(a.colourfulness == Approx(0).margin(1e-6));
  CHECK(a.tone == Tone::neutral);
  CHECK(a.brightness == Approx(0.5).margin(0.06));  // L* of a linear ramp of sRGB values
  float shares = 0;
  for (const auto& c : a.colours) shares += c.share;
  CHECK(shares <= 1.0f + 1e-3f);
}

TEST_CASE("a sunset gradient is warm and a sky gradient cool", "[analysis]") {
  const Image sunset = make(120, 160, [](auto, auto y) { return mix({250, 70, 40}, {255, 205, 70}, y / 159.0); });
  const ImageAnalysis warm = analyze_image(sunset);
  CHECK(warm.tone == Tone::warm);
  CHECK(warm.warmth > 20);
  for (const auto& n : names(warm)) CHECK((n == "red" || n == "orange" || n == "yellow"));
  CHECK(warm.brightness > 0.55f);
  const Image sky = make(160, 120, [](auto, auto y) { return mix({20, 60, 160}, {150, 200, 250}, y / 119.0); });
  const ImageAnalysis cool = analyze_image(sky);
  CHECK(cool.tone == Tone::cool);
  CHECK(names(cool) == std::set<std::string>{"blue"});
  // A dark image and a bright one.
  CHECK(analyze_image(make(10, 10, [](auto, auto) { return Rgb{10, 10, 12}; })).brightness < 0.05f);
  const ImageAnalysis white = analyze_image(make(10, 10, [](auto, auto) { return Rgb{255, 255, 255}; }));
  CHECK(white.brightness == Approx(1).margin(1e-3));
  REQUIRE(white.colours.size() == 1);
  CHECK(white.colours[0].name == ColourName::white);
  CHECK(white.colours[0].share == 1.0f);
}

TEST_CASE("palette similarity ranks the image holding the wanted colour first", "[analysis]") {
  const ImageAnalysis blue = analyze_image(make(64, 64, [](auto, auto) { return Rgb{42, 111, 219}; }));
  const ImageAnalysis red = analyze_image(make(64, 64, [](auto, auto) { return Rgb{220, 30, 30}; }));
  const ImageAnalysis both = analyze_image(make(64, 64, [](auto x, auto) { return x < 32 ? Rgb{42, 111, 219} : Rgb{220, 30, 30}; }));
  const std::vector<Rgb> want = {*parse_colour("#2a6fdb")};
  CHECK(palette_similarity(blue, want) == Approx(1).margin(1e-3));
  CHECK(palette_similarity(red, want) < 0.01f);
  CHECK(palette_similarity(both, want) == Approx(0.5).margin(0.02));
  // Asked for both colours, the image holding both beats the one holding either.
  const std::vector<Rgb> two = {*parse_colour("#2a6fdb"), *parse_colour("#dc1e1e")};
  CHECK(palette_similarity(both, two) > palette_similarity(blue, two));
  CHECK(palette_similarity(both, two) > palette_similarity(red, two));
  CHECK(palette_similarity(both, two) == Approx(1).margin(0.01));
  CHECK(palette_similarity(ImageAnalysis{}, want) == 0);
}

TEST_CASE("colours parse from hex and from palette names", "[analysis]") {
  CHECK(parse_colour("#2a6fdb") == Rgb{0x2a, 0x6f, 0xdb});
  CHECK(parse_colour("2A6FDB") == Rgb{0x2a, 0x6f, 0xdb});
  CHECK(parse_colour("#abc") == Rgb{0xaa, 0xbb, 0xcc});
  CHECK(parse_colour("Blue") == Rgb{0, 0, 255});
  CHECK(parse_colour("grey") == Rgb{128, 128, 128});
  for (const char* bad : {"", "#", "#12345", "#1234567", "#gg0000", "teal", "0x2a6fdb"}) {
    INFO(bad);
    CHECK_FALSE(parse_colour(bad));
  }
  CHECK(to_hex({0x2a, 0x6f, 0xdb}) == "#2a6fdb");
  CHECK_THROWS_AS(analyze_image(Image{}), Error);
  // One pixel, and a strip narrower than the grid.
  CHECK(analyze_image(make(1, 1, [](auto, auto) { return Rgb{0, 200, 0}; })).colours.at(0).name == ColourName::green);
  CHECK(analyze_image(make(3, 500, [](auto, auto y) { return y < 250 ? Rgb{255, 255, 0} : Rgb{128, 0, 128}; })).colours.size() == 2);
}
