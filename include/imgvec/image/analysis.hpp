#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "imgvec/image/image.hpp"

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

/// The fixed palette dominant colours are named from.
enum class ColourName : std::uint8_t { black, white, gray, red, orange, yellow, green, cyan, blue, purple, pink, brown };
/// "black", "white", "gray", "red", ...
const char* to_string(ColourName name);
/// The inverse of to_string ("grey" too); nothing for another word.
std::optional<ColourName> parse_colour_name(const std::string& text);

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb& o) const { return r == o.r && g == o.g && b == o.b; }
};
/// "#2a6fdb", "2a6fdb", "#abc", or a palette name (its typical sRGB colour). Nothing otherwise.
std::optional<Rgb> parse_colour(const std::string& text);
/// "#2a6fdb".
std::string to_hex(const Rgb& colour);

enum class Tone : std::uint8_t { neutral, warm, cool };
/// "neutral", "warm", "cool".
const char* to_string(Tone tone);

struct DominantColour {
  Rgb rgb;            ///< the cluster's mean colour
  float share = 0;    ///< of the image's pixels, 0..1
  ColourName name = ColourName::gray;
  bool operator==(const DominantColour& o) const { return rgb == o.rgb && share == o.share && name == o.name; }
};

/// What an image looks like, measured at add time from a 64x64 reduction of the decoded image.
struct ImageAnalysis {
  /// Up to 5 dominant colours, largest share first: k-means in CIELAB (a perceptual space, so
  /// clusters are colours people tell apart), clusters closer than a just-noticeable difference
  /// merged, those under 3% of the pixels dropped. Empty: not analysed.
  std::vector<DominantColour> colours;
  float brightness = 0;     ///< mean CIELAB lightness L*, 0 (black) .. 1 (white)
  float saturation = 0;     ///< mean HSV saturation, 0 (gray) .. 1 (pure colours)
  /// Hasler and Süsstrunk's colourfulness M (2003) / 100: about 0.15 slightly, 0.33 moderately,
  /// 0.59 quite, 0.82 highly colourful.
  float colourfulness = 0;
  /// Mean chroma along the warm (orange, hue 50 degrees in CIELAB) to cool (hue 230) axis; above
  /// 4 reads as warm, below -4 as cool (tone).
  float warmth = 0;
  Tone tone = Tone::neutral;

  bool analysed() const { return !colours.empty(); }
  bool operator==(const ImageAnalysis& o) const;
  bool operator!=(const ImageAnalysis& o) const { return !(*this == o); }
};

/// Measures an image (any size; it is first reduced to 64x64). Deterministic. Throws
/// Error(invalid_argument) for an empty image.
ImageAnalysis analyze_image(const Image& image);

/// How well an analysed palette holds each of `wanted`, 0..1: for each of the m wanted colours,
/// the share-weighted closeness of the palette's colours to it (a Gaussian of the CIELAB
/// distance, sigma 20), counted up to a fair share of 1/m and scaled by m; averaged over the
/// wanted colours. One colour: the share of the image that looks like it. 0 for an image not
/// analysed.
float palette_similarity(const ImageAnalysis& analysis, const std::vector<Rgb>& wanted);

}  // namespace imgvec
IMGVEC_API_END
