// Dominant colours, brightness, saturation, colourfulness and tone of an image, from a 64x64
// reduction: 4096 pixels say as much about a photo's colours as its 12 million, and cost about a
// millisecond.
#include "imgvec/image/analysis.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "imgvec/error.hpp"

namespace imgvec {
namespace {

constexpr int kSide = 64;
constexpr int kClusters = 8;        // found, before merging and dropping
constexpr std::size_t kKept = 5;    // reported
constexpr float kMergeBelow = 10;   // CIELAB distance: closer clusters read as one colour
constexpr float kMinShare = 0.03f;  // smaller clusters are specks, not colours of the image
constexpr double kWarmHue = 50.0 * M_PI / 180.0;  // orange; cool is the opposite hue, 230 degrees

struct Lab {
  float l = 0, a = 0, b = 0;
};

float distance2(const Lab& x, const Lab& y) {
  const float dl = x.l - y.l, da = x.a - y.a, db = x.b - y.b;
  return dl * dl + da * da + db * db;
}

// sRGB (D65) to CIELAB, through a table of the 256 linearized channel values.
Lab to_lab(Rgb c) {
  static const std::array<float, 256> linear = [] {
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) {
      const double v = i / 255.0;
      t[static_cast<std::size_t>(i)] = static_cast<float>(v <= 0.04045 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4));
    }
    return t;
  }();
  const float r = linear[c.r], g = linear[c.g], b = linear[c.b];
  const float x = (0.4124f * r + 0.3576f * g + 0.1805f * b) / 0.95047f;
  const float y = 0.2126f * r + 0.7152f * g + 0.0722f * b;
  const float z = (0.0193f * r + 0.1192f * g + 0.9505f * b) / 1.08883f;
  auto f = [](float t) {
    constexpr float d = 6.0f / 29.0f;
    return t > d * d * d ? std::cbrt(t) : t / (3 * d * d) + 4.0f / 29.0f;
  };
  return {116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))};
}

// Typical sRGB colours of each name; a colour takes the name of the nearest in CIELAB.
struct Prototype {
  ColourName name;
  Rgb rgb;
};
const Prototype kPrototypes[] = {
    {ColourName::black, {0, 0, 0}},         {ColourName::black, {35, 35, 35}},
    {ColourName::white, {255, 255, 255}},   {ColourName::white, {235, 235, 230}},
    {ColourName::gray, {128, 128, 128}},    {ColourName::gray, {80, 80, 80}},     {ColourName::gray, {185, 185, 185}},
    {ColourName::red, {255, 0, 0}},         {ColourName::red, {200, 30, 30}},     {ColourName::red, {140, 10, 10}},
    {ColourName::orange, {255, 140, 0}},    {ColourName::orange, {255, 165, 0}},  {ColourName::orange, {230, 110, 30}},
    {ColourName::yellow, {255, 255, 0}},    {ColourName::yellow, {240, 220, 60}}, {ColourName::yellow, {250, 235, 140}},
    {ColourName::green, {0, 128, 0}},       {ColourName::green, {0, 255, 0}},     {ColourName::green, {80, 160, 60}},
    {ColourName::green, {40, 90, 40}},      {ColourName::green, {150, 200, 100}},
    {ColourName::cyan, {0, 255, 255}},      {ColourName::cyan, {0, 180, 190}},    {ColourName::cyan, {120, 220, 230}},
    {ColourName::blue, {0, 0, 255}},        {ColourName::blue, {30, 90, 200}},    {ColourName::blue, {0, 0, 128}},
    {ColourName::blue, {100, 150, 230}},    {ColourName::blue, {135, 206, 235}},
    {ColourName::purple, {128, 0, 128}},    {ColourName::purple, {150, 80, 200}}, {ColourName::purple, {90, 40, 140}},
    {ColourName::purple, {200, 150, 230}},
    {ColourName::pink, {255, 192, 203}},    {ColourName::pink, {255, 105, 180}},  {ColourName::pink, {230, 120, 160}},
    {ColourName::brown, {139, 69, 19}},     {ColourName::brown, {160, 110, 60}},  {ColourName::brown, {101, 67, 33}},
    {ColourName::brown, {200, 160, 120}},
};

ColourName name_of(const Lab& c) {
  static const std::vector<Lab> labs = [] {
    std::vector<Lab> v;
    for (const Prototype& p : kPrototypes) v.push_back(to_lab(p.rgb));
    return v;
  }();
  std::size_t best = 0;
  for (std::size_t i = 1; i < labs.size(); ++i) {
    if (distance2(c, labs[i]) < distance2(c, labs[best])) best = i;
  }
  return kPrototypes[best].name;
}

// The image averaged over a grid of at most 64x64 cells (each source pixel counted once).
std::vector<Rgb> reduce(const Image& im) {
  const std::uint32_t w = std::min<std::uint32_t>(im.width, kSide), h = std::min<std::uint32_t>(im.height, kSide);
  std::vector<std::array<std::uint32_t, 4>> sums(std::size_t{w} * h, {0, 0, 0, 0});
  // Column x falls in cell x * w / width, so cell c spans columns [ceil(c * width / w),
  // ceil((c + 1) * width / w)). Summing each span in registers before adding it to its cell took
  // this pass from ~1 ms to ~0.3 ms for a 0.4 MP photo (it was a memory update per pixel).
  std::vector<std::uint32_t> first_column(w + 1);
  for (std::uint32_t c = 0; c <= w; ++c)
    first_column[c] = static_cast<std::uint32_t>((std::uint64_t{c} * im.width + w - 1) / w);
  for (std::uint32_t y = 0; y < im.height; ++y) {
    const std::size_t row = std::size_t{y} * h / im.height * w;
    const std::uint8_t* line = &im.rgb[std::size_t{y} * im.width * 3];
    for (std::uint32_t c = 0; c < w; ++c) {
      std::uint32_t r = 0, g = 0, b = 0;
      for (std::uint32_t x = first_column[c]; x < first_column[c + 1]; ++x) {
        r += line[3 * x];
        g += line[3 * x + 1];
        b += line[3 * x + 2];
      }
      auto& s = sums[row + c];
      s[0] += r;
      s[1] += g;
      s[2] += b;
      s[3] += first_column[c + 1] - first_column[c];
    }
  }
  std::vector<Rgb> out;
  out.reserve(sums.size());
  for (const auto& s : sums) {
    const std::uint32_t n = std::max<std::uint32_t>(s[3], 1);
    out.push_back({static_cast<std::uint8_t>((s[0] + n / 2) / n), static_cast<std::uint8_t>((s[1] + n / 2) / n),
                   static_cast<std::uint8_t>((s[2] + n / 2) / n)});
  }
  return out;
}

struct Cluster {
  Lab centre;
  double weight = 0;
  double sum_l = 0, sum_a = 0, sum_b = 0, sum_r = 0, sum_g = 0, sum_bl = 0;
};

// k-means++ seeding with a fixed-seed generator (the same image always gives the same palette),
// then Lloyd iterations.
std::vector<Cluster> kmeans(const std::vector<Lab>& labs, const std::vector<Rgb>& rgbs) {
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next_unit = [&] {  // splitmix64, to [0, 1)
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return static_cast<double>((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
  };
  const std::size_t n = labs.size();
  std::vector<Cluster> clusters;
  std::vector<float> nearest(n, 1e30f);
  clusters.push_back({labs[static_cast<std::size_t>(next_unit() * static_cast<double>(n))]});
  while (clusters.size() < kClusters) {
    double total = 0;
    for (std::size_t i = 0; i < n; ++i) {
      nearest[i] = std::min(nearest[i], distance2(labs[i], clusters.back().centre));
      total += nearest[i];
    }
    if (total <= 0) break;  // every pixel is on a centre already: fewer colours than clusters
    double pick = next_unit() * total;
    std::size_t i = 0;
    for (; i + 1 < n; ++i) {
      pick -= nearest[i];
      if (pick < 0) break;
    }
    clusters.push_back({labs[i]});
  }
  std::vector<std::size_t> owner(n, 0);
  for (int iteration = 0; iteration < 12; ++iteration) {
    bool moved = false;
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t best = 0;
      float best_d = distance2(labs[i], clusters[0].centre);
      for (std::size_t c = 1; c < clusters.size(); ++c) {
        const float d = distance2(labs[i], clusters[c].centre);
        if (d < best_d) {
          best_d = d;
          best = c;
        }
      }
      moved = moved || best != owner[i] || iteration == 0;
      owner[i] = best;
    }
    for (Cluster& c : clusters) c = {c.centre};
    for (std::size_t i = 0; i < n; ++i) {
      Cluster& c = clusters[owner[i]];
      c.weight += 1;
      c.sum_l += labs[i].l;
      c.sum_a += labs[i].a;
      c.sum_b += labs[i].b;
      c.sum_r += rgbs[i].r;
      c.sum_g += rgbs[i].g;
      c.sum_bl += rgbs[i].b;
    }
    for (Cluster& c : clusters) {
      if (c.weight > 0) {
        c.centre = {static_cast<float>(c.sum_l / c.weight), static_cast<float>(c.sum_a / c.weight),
                    static_cast<float>(c.sum_b / c.weight)};
      }
    }
    if (!moved) break;
  }
  return clusters;
}

}  // namespace

const char* to_string(ColourName name) {
  static const char* const kNames[] = {"black",  "white", "gray", "red",    "orange", "yellow",
                                       "green",  "cyan",  "blue", "purple", "pink",   "brown"};
  return kNames[static_cast<std::size_t>(name)];
}

std::optional<ColourName> parse_colour_name(const std::string& text) {
  std::string s = text;
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "grey") s = "gray";
  for (int i = 0; i <= static_cast<int>(ColourName::brown); ++i) {
    if (s == to_string(static_cast<ColourName>(i))) return static_cast<ColourName>(i);
  }
  return std::nullopt;
}

const char* to_string(Tone tone) {
  switch (tone) {
    case Tone::warm: return "warm";
    case Tone::cool: return "cool";
    case Tone::neutral: break;
  }
  return "neutral";
}

std::optional<Rgb> parse_colour(const std::string& text) {
  if (const auto name = parse_colour_name(text)) {
    for (const Prototype& p : kPrototypes) {
      if (p.name == *name) return p.rgb;  // the first is the typical one
    }
  }
  std::string hex = text.rfind('#', 0) == 0 ? text.substr(1) : text;
  if (hex.size() == 3) hex = {hex[0], hex[0], hex[1], hex[1], hex[2], hex[2]};
  if (hex.size() != 6 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) return std::nullopt;
  const unsigned long v = std::stoul(hex, nullptr, 16);
  return Rgb{static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}

std::string to_hex(const Rgb& c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c.r, c.g, c.b);
  return buf;
}

bool ImageAnalysis::operator==(const ImageAnalysis& o) const {
  return colours == o.colours && brightness == o.brightness && saturation == o.saturation &&
         colourfulness == o.colourfulness && warmth == o.warmth && tone == o.tone;
}

ImageAnalysis analyze_image(const Image& image) {
  if (image.width == 0 || image.height == 0 || image.rgb.size() != std::size_t{image.width} * image.height * 3) {
    throw Error(ErrorCode::invalid_argument, "analyze_image: an empty or malformed image");
  }
  const std::vector<Rgb> pixels = reduce(image);
  const std::size_t n = pixels.size();
  std::vector<Lab> labs(n);
  double lightness = 0, saturation = 0, warmth = 0;
  const float warm_a = static_cast<float>(std::cos(kWarmHue)), warm_b = static_cast<float>(std::sin(kWarmHue));
  double rg_sum = 0, yb_sum = 0, rg_sq = 0, yb_sq = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const Rgb p = pixels[i];
    labs[i] = to_lab(p);
    lightness += labs[i].l;
    const int hi = std::max({p.r, p.g, p.b}), lo = std::min({p.r, p.g, p.b});
    saturation += hi == 0 ? 0.0 : static_cast<double>(hi - lo) / hi;
    warmth += labs[i].a * warm_a + labs[i].b * warm_b;
    const double rg = static_cast<double>(p.r) - p.g, yb = 0.5 * (static_cast<double>(p.r) + p.g) - p.b;
    rg_sum += rg;
    yb_sum += yb;
    rg_sq += rg * rg;
    yb_sq += yb * yb;
  }
  const double count = static_cast<double>(n);
  ImageAnalysis out;
  out.brightness = static_cast<float>(std::clamp(lightness / count / 100.0, 0.0, 1.0));
  out.saturation = static_cast<float>(saturation / count);
  out.warmth = static_cast<float>(warmth / count);
  out.tone = out.warmth > 4 ? Tone::warm : out.warmth < -4 ? Tone::cool : Tone::neutral;
  // Hasler and Süsstrunk (2003), "Measuring colourfulness in natural images", equation 3.
  const double mean_rg = rg_sum / count, mean_yb = yb_sum / count;
  const double var_rg = std::max(0.0, rg_sq / count - mean_rg * mean_rg);
  const double var_yb = std::max(0.0, yb_sq / count - mean_yb * mean_yb);
  out.colourfulness = static_cast<float>((std::sqrt(var_rg + var_yb) + 0.3 * std::hypot(mean_rg, mean_yb)) / 100.0);

  std::vector<Cluster> clusters = kmeans(labs, pixels);
  std::sort(clusters.begin(), clusters.end(), [](const Cluster& a, const Cluster& b) { return a.weight > b.weight; });
  // Merge each cluster into a larger one that looks the same.
  for (std::size_t i = 0; i < clusters.size(); ++i) {
    for (std::size_t j = i + 1; j < clusters.size();) {
      if (clusters[j].weight > 0 && distance2(clusters[i].centre, clusters[j].centre) < kMergeBelow * kMergeBelow) {
        Cluster& a = clusters[i];
        const Cluster& b = clusters[j];
        a.weight += b.weight;
        a.sum_l += b.sum_l;
        a.sum_a += b.sum_a;
        a.sum_b += b.sum_b;
        a.sum_r += b.sum_r;
        a.sum_g += b.sum_g;
        a.sum_bl += b.sum_bl;
        a.centre = {static_cast<float>(a.sum_l / a.weight), static_cast<float>(a.sum_a / a.weight),
                    static_cast<float>(a.sum_b / a.weight)};
        clusters.erase(clusters.begin() + static_cast<std::ptrdiff_t>(j));
      } else {
        ++j;
      }
    }
  }
  std::sort(clusters.begin(), clusters.end(), [](const Cluster& a, const Cluster& b) { return a.weight > b.weight; });
  for (const Cluster& c : clusters) {
    const float share = static_cast<float>(c.weight / count);
    if (out.colours.size() == kKept || (share < kMinShare && !out.colours.empty())) break;
    auto channel = [&](double sum) { return static_cast<std::uint8_t>(std::lround(std::clamp(sum / c.weight, 0.0, 255.0))); };
    // Rounded to 1/1000: a stored share reads back equal, and no one needs more.
    out.colours.push_back({{channel(c.sum_r), channel(c.sum_g), channel(c.sum_bl)},
                           std::round(share * 1000) / 1000,
                           name_of(c.centre)});
  }
  return out;
}

float palette_similarity(const ImageAnalysis& analysis, const std::vector<Rgb>& wanted) {
  if (!analysis.analysed() || wanted.empty()) return 0;
  constexpr float kSigma = 20;  // CIELAB units: 20 apart, a colour counts for 0.61; 40 apart, 0.14
  double total = 0;
  for (const Rgb& w : wanted) {
    const Lab q = to_lab(w);
    double s = 0;
    for (const DominantColour& c : analysis.colours) {
      s += c.share * std::exp(-distance2(q, to_lab(c.rgb)) / (2 * kSigma * kSigma));
    }
    // Up to its fair share: asked for blue and red, an image half blue and half red is a full match.
    total += std::min(1.0, s * static_cast<double>(wanted.size()));
  }
  return static_cast<float>(total / static_cast<double>(wanted.size()));
}

}  // namespace imgvec
