// Near-duplicate detection, labelled: the test photos and edited copies of them (resized,
// recompressed, brightened, captioned, cropped, rotated), against every other image and against
// "another photo of the same scene" (two overlapping views of one photo). For each encoder:
// precision and recall per cosine threshold, recall per kind of copy, and the threshold that
// keeps precision >= 0.99.
//
//   imgvec_bench_duplicates [--photos DIR] [--model BUNDLE] [--out FILE.md]
//
// --photos adds every image in DIR as another photo: the 8 test images alone are too few for a
// precision of 0.99 to mean much. docs/benchmarks.md used scikit-image's sample photos:
//   apt-get download python3-skimage && dpkg -x python3-skimage_*.deb /tmp/sk
//   imgvec_bench_duplicates --photos /tmp/sk/usr/lib/python3/dist-packages/skimage/data
//
// Prints a markdown section (docs/benchmarks.md keeps one; bench/report.py runs it).
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "imgvec/imgvec.hpp"
#ifdef IMGVEC_HAS_CLIP_ENCODER
#include "imgvec/encoder/clip_encoder.hpp"
#endif

using imgvec::Image;

namespace {

const char* const kPhotos[] = {"ukbench01380.jpg",        "ukbench09060.jpg", "ukbench00120_gray.jpg",
                               "ukbench09380.jpeg",       "alpha_channel_image.png", "Iggy.256.ppm",
                               "baboon.256.pgm",          "giphy.gif"};
// ukbench00120_gray.jpg is a grayscale copy of the photo in alpha_channel_image.png (the same
// toy, the same shot): pairs across the two are neither copies nor "not copies", and are left out.
constexpr std::size_t kSameScene[][2] = {{2, 4}};

bool same_scene(std::size_t a, std::size_t b) {
  for (const auto& pair : kSameScene) {
    if ((pair[0] == a && pair[1] == b) || (pair[0] == b && pair[1] == a)) return true;
  }
  return a == b;
}

Image crop(const Image& im, std::uint32_t x, std::uint32_t y, std::uint32_t w, std::uint32_t h) {
  return imgvec::crop_image(im, x, y, w, h);
}

// Keeps `keep` of each side: centred, or from the top-left corner.
Image cropped(const Image& im, double keep, bool centred) {
  const auto w = static_cast<std::uint32_t>(im.width * keep), h = static_cast<std::uint32_t>(im.height * keep);
  return crop(im, centred ? (im.width - w) / 2 : 0, centred ? (im.height - h) / 2 : 0, w, h);
}

Image rotated90(const Image& im) {
  Image out;
  out.width = im.height;
  out.height = im.width;
  out.rgb.resize(im.rgb.size());
  for (std::uint32_t y = 0; y < out.height; ++y) {
    for (std::uint32_t x = 0; x < out.width; ++x) {
      std::copy_n(&im.rgb[((im.height - 1 - x) * std::size_t{im.width} + y) * 3], 3, &out.rgb[(y * std::size_t{out.width} + x) * 3]);
    }
  }
  return out;
}

Image shifted(Image im, int delta) {
  for (auto& v : im.rgb) v = static_cast<std::uint8_t>(std::clamp(int{v} + delta, 0, 255));
  return im;
}

Image jpeg(const Image& im, int quality) {
  const std::string bytes = imgvec::encode_jpeg(im, quality);
  return imgvec::decode_image(bytes.data(), bytes.size());
}

// Text-like strokes (dark blocks of glyph size, in words and lines) over a region: no font is
// needed to cover a photo the way a caption does. `band` puts them on a white strip first, as
// meme captions and screenshots' text bars are.
Image captioned(Image im, bool band) {
  const std::uint32_t top = im.height * 82 / 100, glyph = std::max<std::uint32_t>(3, im.height / 40);
  std::mt19937 rng(im.width * 31 + im.height);
  auto paint = [&](std::uint32_t x0, std::uint32_t y0, std::uint32_t w, std::uint32_t h, std::uint8_t v) {
    for (std::uint32_t y = y0; y < std::min(im.height, y0 + h); ++y) {
      for (std::uint32_t x = x0; x < std::min(im.width, x0 + w); ++x) {
        std::uint8_t* p = &im.rgb[(y * std::size_t{im.width} + x) * 3];
        p[0] = p[1] = p[2] = v;
      }
    }
  };
  if (band) paint(0, top, im.width, im.height - top, 250);
  for (std::uint32_t line = top + glyph; line + 2 * glyph < im.height; line += 2 * glyph) {
    for (std::uint32_t x = im.width / 20; x + glyph < im.width * 19 / 20; x += glyph * 3 / 2) {
      if (rng() % 6 == 0) continue;  // a space between words
      paint(x, line, glyph, glyph + rng() % 2 * glyph / 2, band ? 20 : 245);
    }
  }
  return im;
}

struct Edit {
  const char* name;
  std::function<Image(const Image&)> apply;
};

const std::vector<Edit>& edits() {
  static const std::vector<Edit> kEdits = {
      {"half size", [](const Image& im) { return imgvec::resize_bicubic(im, im.width / 2, im.height / 2); }},
      {"quarter size", [](const Image& im) { return imgvec::resize_bicubic(im, im.width / 4, im.height / 4); }},
      {"JPEG quality 40", [](const Image& im) { return jpeg(im, 40); }},
      {"brighter (+25 levels)", [](const Image& im) { return shifted(im, 25); }},
      {"darker (-25 levels)", [](const Image& im) { return shifted(im, -25); }},
      {"caption band", [](const Image& im) { return captioned(im, true); }},
      {"text on the photo", [](const Image& im) { return captioned(im, false); }},
      {"10% crop, centred", [](const Image& im) { return cropped(im, 0.9, true); }},
      {"10% crop, corner", [](const Image& im) { return cropped(im, 0.9, false); }},
      {"20% crop, centred", [](const Image& im) { return cropped(im, 0.8, true); }},
      {"20% crop, corner", [](const Image& im) { return cropped(im, 0.8, false); }},
      {"rotated 90 degrees (no EXIF)", [](const Image& im) { return rotated90(im); }},
  };
  return kEdits;
}

struct Item {
  std::size_t group;  // the photo it came from
  int edit;           // -1 the original, -2 and -3 the two views of its scene, else an edit
};

struct Evaluation {
  std::string encoder;
  double embed_ms = 0;
  std::vector<float> thresholds;
  std::vector<double> precision, recall;
  std::vector<std::vector<double>> recall_by_edit;  // [threshold][edit]
  std::size_t positives = 0, negatives = 0;
};

std::size_t photo_count = 0;

Evaluation evaluate(const std::string& label, imgvec::Encoder& encoder, const std::vector<Image>& images,
                    const std::vector<Item>& items) {
  Evaluation ev;
  ev.encoder = label;
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<float> v = encoder.embed_images(images);
  ev.embed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() /
                static_cast<double>(images.size());
  const std::size_t d = encoder.dimension(), n = items.size(), kinds = edits().size();
  auto cosine = [&](std::size_t a, std::size_t b) {
    double s = 0;
    for (std::size_t k = 0; k < d; ++k) s += static_cast<double>(v[a * d + k]) * v[b * d + k];
    return s;
  };
  std::vector<std::pair<double, int>> positives;  // score, edit
  std::vector<double> negatives;
  for (std::size_t a = 0; a < n; ++a) {
    for (std::size_t b = a + 1; b < n; ++b) {
      const Item &x = items[a], &y = items[b];
      if (!same_scene(x.group, y.group)) {
        negatives.push_back(cosine(a, b));
      } else if (x.group != y.group) {
        continue;  // the grayscale copy's pairs: left out
      } else if (x.edit == -1 && y.edit >= 0) {
        positives.emplace_back(cosine(a, b), y.edit);
      } else if (x.edit == -2 && y.edit == -3) {
        negatives.push_back(cosine(a, b));  // the same scene, another shot
      }
    }
  }
  ev.positives = positives.size();
  ev.negatives = negatives.size();
  for (int step = 0; step <= 60; ++step) {
    const float t = 0.70f + 0.005f * static_cast<float>(step);
    std::size_t tp = 0, fp = 0;
    std::vector<std::size_t> hit(kinds, 0), all(kinds, 0);
    for (const auto& [s, e] : positives) {
      ++all[static_cast<std::size_t>(e)];
      if (s >= t) {
        ++tp;
        ++hit[static_cast<std::size_t>(e)];
      }
    }
    for (double s : negatives) fp += s >= t;
    ev.thresholds.push_back(t);
    ev.precision.push_back(tp + fp ? static_cast<double>(tp) / static_cast<double>(tp + fp) : 1.0);
    ev.recall.push_back(static_cast<double>(tp) / static_cast<double>(positives.size()));
    std::vector<double> by_edit;
    for (std::size_t k = 0; k < kinds; ++k) by_edit.push_back(static_cast<double>(hit[k]) / static_cast<double>(all[k]));
    ev.recall_by_edit.push_back(by_edit);
  }
  return ev;
}

std::string report(const Evaluation& ev) {
  char line[512];
  std::string md = "### " + ev.encoder + "\n\n";
  // The lowest threshold (most recall) whose precision is at least 0.99.
  std::size_t chosen = ev.thresholds.size() - 1;
  for (std::size_t i = 0; i < ev.thresholds.size(); ++i) {
    if (ev.precision[i] >= 0.99) {
      chosen = i;
      break;
    }
  }
  std::size_t at_095 = 0;
  while (ev.thresholds[at_095] < 0.95f - 1e-4f) ++at_095;
  std::snprintf(line, sizeof line,
                "%zu copies of %zu photos against %zu pairs that are not copies; %.2f ms per image to embed. "
                "Threshold for precision >= 0.99: **%.3f** (precision %.3f, recall %.3f).\n\n",
                ev.positives, photo_count, ev.negatives, ev.embed_ms, ev.thresholds[chosen], ev.precision[chosen],
                ev.recall[chosen]);
  md += line;
  md += "| threshold | precision | recall |\n|---:|---:|---:|\n";
  for (std::size_t i = 0; i < ev.thresholds.size(); i += 4) {
    std::snprintf(line, sizeof line, "| %.3f | %.3f | %.3f |\n", ev.thresholds[i], ev.precision[i], ev.recall[i]);
    md += line;
  }
  std::snprintf(line, sizeof line, "\n| copy | recall at %.3f | recall at 0.950 |\n|---|---:|---:|\n", ev.thresholds[chosen]);
  md += line;
  for (std::size_t k = 0; k < edits().size(); ++k) {
    std::snprintf(line, sizeof line, "| %s | %.2f | %.2f |\n", edits()[k].name, ev.recall_by_edit[chosen][k],
                  ev.recall_by_edit[at_095][k]);
    md += line;
  }
  return md + "\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, out_path, photos_dir, command = "imgvec_bench_duplicates";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--model" && i + 1 < argc) model = argv[++i];
    else if (a == "--out" && i + 1 < argc) out_path = argv[++i];
    else if (a == "--photos" && i + 1 < argc) photos_dir = argv[++i];
    else {
      std::fprintf(stderr, "usage: imgvec_bench_duplicates [--photos DIR] [--model BUNDLE] [--out FILE.md]\n");
      return 2;
    }
  }
  try {
    std::vector<Image> images;
    std::vector<Item> items;
    std::vector<std::string> paths;
    for (const char* name : kPhotos) paths.push_back(std::string(IMGVEC_BENCH_DATA_DIR "/images/") + name);
    if (!photos_dir.empty()) {
      std::vector<std::string> more;
      for (const auto& e : std::filesystem::directory_iterator(photos_dir)) {
        if (!e.is_regular_file()) continue;
        try {
          const Image im = imgvec::decode_image_file(e.path().string());
          if (std::min(im.width, im.height) >= 128) more.push_back(e.path().string());  // not icons or swatches
        } catch (const imgvec::Error&) {
        }
      }
      std::sort(more.begin(), more.end());
      paths.insert(paths.end(), more.begin(), more.end());
    }
    photo_count = paths.size();
    for (std::size_t g = 0; g < paths.size(); ++g) {
      const Image photo = imgvec::decode_image_file(paths[g]);
      images.push_back(photo);
      items.push_back({g, -1});
      for (std::size_t e = 0; e < edits().size(); ++e) {
        images.push_back(edits()[e].apply(photo));
        items.push_back({g, static_cast<int>(e)});
      }
      // Another shot of the same scene: the left and right 60% of the photo, which share a fifth.
      const auto w = static_cast<std::uint32_t>(photo.width * 0.6);
      images.push_back(crop(photo, 0, 0, w, photo.height));
      items.push_back({g, -2});
      images.push_back(crop(photo, photo.width - w, 0, w, photo.height));
      items.push_back({g, -3});
    }
    std::string md = "Measured by `" + command + "` (" + std::to_string(paths.size()) + " photos). ";
    md += "Copies: each test photo edited as the table says. Not copies: every pair of images from different photos, "
          "and two overlapping views (the left and right 60%) of each photo, standing in for another shot of the same "
          "scene. A copy counts as found when its cosine to the original reaches the threshold.\n\n";
    imgvec::DescriptorEncoder descriptor;
    md += report(evaluate("built-in descriptor encoder", descriptor, images, items));
#ifdef IMGVEC_HAS_CLIP_ENCODER
    if (!model.empty()) {
      imgvec::ClipEncoder clip(model);
      md += report(evaluate("CLIP " + clip.info().name, clip, images, items));
    }
#endif
    std::fputs(md.c_str(), stdout);
    if (!out_path.empty()) std::ofstream(out_path) << md;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imgvec_bench_duplicates: %s\n", e.what());
    return 1;
  }
  return 0;
}
