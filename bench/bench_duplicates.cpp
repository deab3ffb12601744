// Near-duplicate detection, labelled: the test photos and edited copies of them (resized,
// recompressed, brightened, captioned, cropped, rotated), against every other image and against
// "another photo of the same scene" (two overlapping views of one photo). For each encoder:
// precision and recall per cosine threshold, recall per kind of copy, and the threshold that
// keeps precision >= 0.99; then the second stage, pixel verification of near pairs
// (DuplicateOptions::verify), per candidate threshold, and what find_duplicates costs with it in
// a database of the same images as files.
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
#include <iterator>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "imgvec/imgvec.hpp"
#include "machine.hpp"
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
      {"rotated 90 degrees (no EXIF)", [](const Image& im) { return imgvec::rotate_image(im, 1); }},
  };
  return kEdits;
}

struct Item {
  std::size_t group;  // the photo it came from
  int edit;           // -1 the original, -2 and -3 the two views of its scene, else an edit
};

// Candidate thresholds for the second stage: pairs this similar are verified by match_photos.
const float kCandidateThresholds[] = {0.40f, 0.45f, 0.50f, 0.55f, 0.60f, 0.70f, 0.80f};

struct Pair {
  double cosine = 0;
  int edit = -1;          // the copy's edit; -1 not a copy
  bool verified = false;  // match_photos said same_photo (computed from the lowest candidate threshold up)
};

struct Staged {
  float candidate = 0;
  double precision = 0, recall = 0;
  std::size_t verified_pairs = 0;
  std::vector<double> recall_by_edit;
};

struct Evaluation {
  std::string encoder;
  double embed_ms = 0;
  double features_ms = 0, match_ms = 0;  // per image, per verified pair
  std::size_t feature_bytes = 0;         // mean per image
  float chosen = 0;                      // the global threshold for precision >= 0.99
  std::vector<Staged> staged;
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
  std::vector<Pair> pairs;
  for (std::size_t a = 0; a < n; ++a) {
    for (std::size_t b = a + 1; b < n; ++b) {
      const Item &x = items[a], &y = items[b];
      if (!same_scene(x.group, y.group)) {
        pairs.push_back({cosine(a, b), -1});
      } else if (x.group != y.group) {
        continue;  // the grayscale copy's pairs: left out
      } else if (x.edit == -1 && y.edit >= 0) {
        pairs.push_back({cosine(a, b), y.edit});
      } else if (x.edit == -2 && y.edit == -3) {
        pairs.push_back({cosine(a, b), -1});  // the same scene, another shot
      }
    }
  }
  for (const Pair& p : pairs) (p.edit >= 0 ? ev.positives : ev.negatives) += 1;
  auto tally = [&](auto&& found, std::size_t& tp, std::size_t& fp, std::vector<double>& by_edit) {
    std::vector<std::size_t> hit(kinds, 0), all(kinds, 0);
    tp = fp = 0;
    for (const Pair& p : pairs) {
      if (p.edit >= 0) ++all[static_cast<std::size_t>(p.edit)];
      if (!found(p)) continue;
      if (p.edit < 0) {
        ++fp;
      } else {
        ++tp;
        ++hit[static_cast<std::size_t>(p.edit)];
      }
    }
    by_edit.clear();
    for (std::size_t k = 0; k < kinds; ++k) by_edit.push_back(static_cast<double>(hit[k]) / static_cast<double>(all[k]));
  };
  std::size_t chosen = 0;
  bool have_chosen = false;
  for (int step = 0; step <= 60; ++step) {
    const float t = 0.70f + 0.005f * static_cast<float>(step);
    std::size_t tp = 0, fp = 0;
    std::vector<double> by_edit;
    tally([&](const Pair& p) { return p.cosine >= t; }, tp, fp, by_edit);
    ev.thresholds.push_back(t);
    ev.precision.push_back(tp + fp ? static_cast<double>(tp) / static_cast<double>(tp + fp) : 1.0);
    ev.recall.push_back(static_cast<double>(tp) / static_cast<double>(ev.positives));
    ev.recall_by_edit.push_back(by_edit);
    if (!have_chosen && ev.precision.back() >= 0.99) {
      chosen = ev.thresholds.size() - 1;
      have_chosen = true;
    }
  }
  ev.chosen = ev.thresholds[have_chosen ? chosen : ev.thresholds.size() - 1];
  if (!imgvec::photo_matching_available()) return ev;
  // The second stage: pairs below the chosen threshold but above a candidate threshold are
  // verified on their pixels, as VectorDatabase::find_duplicates does.
  auto t1 = std::chrono::steady_clock::now();
  std::vector<imgvec::PhotoFeatures> features;
  for (const Image& im : images) {
    features.push_back(imgvec::photo_features(im));
    ev.feature_bytes += features.back().memory_bytes();
  }
  ev.feature_bytes /= images.size();
  ev.features_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count() /
                   static_cast<double>(images.size());
  // Pair indexes again, in the order pairs were made.
  std::size_t verified = 0;
  t1 = std::chrono::steady_clock::now();
  std::size_t at = 0;
  for (std::size_t a = 0; a < n; ++a) {
    for (std::size_t b = a + 1; b < n; ++b) {
      const Item &x = items[a], &y = items[b];
      const bool kept = !same_scene(x.group, y.group) || (x.group == y.group && ((x.edit == -1 && y.edit >= 0) ||
                                                                                 (x.edit == -2 && y.edit == -3)));
      if (!kept) continue;
      Pair& p = pairs[at++];
      if (p.cosine >= kCandidateThresholds[0] && p.cosine < ev.chosen) {
        p.verified = imgvec::match_photos(features[a], features[b]).same_photo;
        ++verified;
      }
    }
  }
  ev.match_ms = verified ? std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count() /
                               static_cast<double>(verified)
                         : 0;
  for (float c : kCandidateThresholds) {
    Staged st;
    st.candidate = c;
    std::size_t tp = 0, fp = 0;
    tally([&](const Pair& p) { return p.cosine >= ev.chosen || (p.cosine >= c && p.verified); }, tp, fp,
          st.recall_by_edit);
    for (const Pair& p : pairs) st.verified_pairs += p.cosine >= c && p.cosine < ev.chosen;
    st.precision = tp + fp ? static_cast<double>(tp) / static_cast<double>(tp + fp) : 1.0;
    st.recall = static_cast<double>(tp) / static_cast<double>(ev.positives);
    ev.staged.push_back(std::move(st));
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
  if (ev.staged.empty()) return md + "\n";
  std::snprintf(line, sizeof line,
                "\nWith verification (`DuplicateOptions::verify`): pairs whose cosine is below %.3f but at least a "
                "candidate threshold are compared on their pixels by `match_photos` (ORB features, a RANSAC "
                "similarity fit, the aligned blocks compared). Features: %.1f ms and %.0f KiB per image (computed "
                "when duplicates are searched, not stored); %.2f ms per pair verified.\n\n| | ",
                ev.chosen, ev.features_ms, static_cast<double>(ev.feature_bytes) / 1024.0, ev.match_ms);
  md += line;
  std::string rule = "|---|";
  for (const Staged& st : ev.staged) {
    std::snprintf(line, sizeof line, "candidates >= %.2f | ", st.candidate);
    md += line;
    rule += "---:|";
  }
  md += "\n" + rule + "\n| pairs verified | ";
  for (const Staged& st : ev.staged) md += std::to_string(st.verified_pairs) + " | ";
  md += "\n| precision | ";
  for (const Staged& st : ev.staged) {
    std::snprintf(line, sizeof line, "%.3f | ", st.precision);
    md += line;
  }
  md += "\n| recall | ";
  for (const Staged& st : ev.staged) {
    std::snprintf(line, sizeof line, "%.3f | ", st.recall);
    md += line;
  }
  for (std::size_t k = 0; k < edits().size(); ++k) {
    md += std::string("\n| ") + edits()[k].name + " | ";
    for (const Staged& st : ev.staged) {
      std::snprintf(line, sizeof line, "%.2f | ", st.recall_by_edit[k]);
      md += line;
    }
  }
  return md + "\n\n";
}

// What find_duplicates costs in a database: every image of the benchmark written as a JPEG file
// (quality 90), indexed with the built-in encoder, then searched for duplicates by vectors alone
// and with verification (which reads and decodes the files of near pairs again). Medians of 3.
std::string database_cost(const std::vector<Image>& images, const std::vector<Item>& items) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / "imgvec-bench-duplicates";
  fs::remove_all(root);
  fs::create_directories(root / "photos");
  for (std::size_t i = 0; i < images.size(); ++i) {
    std::ofstream((root / "photos" / (std::to_string(i) + ".jpg")).string(), std::ios::binary)
        << imgvec::encode_jpeg(images[i], 90);
  }
  auto db = imgvec::VectorDatabase::create((root / "db").string(), std::make_shared<imgvec::DescriptorEncoder>());
  db->index_directory((root / "photos").string());
  // Groups that are wrong: members from different photos (bar the grayscale copy, left out as
  // above), or both views of a scene, joined through the original they were cut from.
  auto item_of = [&](imgvec::Id id) {
    return items[std::stoul(fs::path(db->get(id)->source).stem().string())];
  };
  std::size_t mixed = 0, both_views = 0;
  auto time_ms = [&](bool verify, std::size_t& groups, std::size_t& members) {
    std::vector<double> runs;
    for (int r = 0; r < 3; ++r) {
      imgvec::DuplicateOptions o;
      o.verify = verify;
      const auto t0 = std::chrono::steady_clock::now();
      const auto found = db->find_duplicates(o);
      runs.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      groups = found.size();
      members = 0;
      mixed = both_views = 0;
      for (const auto& g : found) {
        members += g.ids.size();
        bool mix = false, left = false, right = false;
        for (imgvec::Id id : g.ids) {
          const Item it = item_of(id);
          mix = mix || !same_scene(it.group, item_of(g.ids[0]).group);
          left = left || it.edit == -2;
          right = right || it.edit == -3;
        }
        mixed += mix;
        both_views += left && right;
      }
    }
    std::sort(runs.begin(), runs.end());
    return runs[1];
  };
  std::size_t g0 = 0, m0 = 0, g1 = 0, m1 = 0;
  const double plain = time_ms(false, g0, m0), verified = time_ms(true, g1, m1);
  fs::remove_all(root);
  char line[512];
  std::snprintf(line, sizeof line,
                "In a database (`find_duplicates` over the %zu images above as JPEG files, built-in encoder, "
                "default options, median of 3): by vectors alone %.0f ms (%zu images in %zu groups); with "
                "verification %.0f ms (%zu images in %zu groups, of which %zu mix photos and %zu hold both views of a "
                "scene), %.1f ms per image.\n\n",
                db->size(), plain, m0, g0, verified, m1, g1, mixed, both_views, verified / static_cast<double>(db->size()));
  return line;
}

// The same for photos as cameras write them: each of the 8 test photos enlarged to 4000x3000 (12 MP,
// JPEG quality 90) beside a 10% crop of it, so decoding the files again is part of the cost.
std::string camera_cost(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / "imgvec-bench-duplicates-12mp";
  fs::remove_all(root);
  fs::create_directories(root / "photos");
  std::size_t n = 0;
  for (std::size_t i = 0; i < std::size(kPhotos); ++i) {
    const Image big = imgvec::resize_bicubic(imgvec::decode_image_file(paths[i]), 4000, 3000);
    std::ofstream((root / "photos" / (std::to_string(i) + ".jpg")).string(), std::ios::binary)
        << imgvec::encode_jpeg(big, 90);
    std::ofstream((root / "photos" / (std::to_string(i) + "-crop.jpg")).string(), std::ios::binary)
        << imgvec::encode_jpeg(cropped(big, 0.9, false), 90);
    n += 2;
  }
  auto db = imgvec::VectorDatabase::create((root / "db").string(), std::make_shared<imgvec::DescriptorEncoder>());
  db->index_directory((root / "photos").string());
  std::vector<double> plain, verified;
  std::size_t pairs = 0;
  for (int r = 0; r < 3; ++r) {
    for (const bool verify : {false, true}) {
      imgvec::DuplicateOptions o;
      o.verify = verify;
      const auto t0 = std::chrono::steady_clock::now();
      const auto found = db->find_duplicates(o);
      (verify ? verified : plain).push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      if (verify) {  // crops grouped with their own original
        pairs = 0;
        for (const auto& g : found) {
          std::set<std::string> names;
          for (imgvec::Id id : g.ids) names.insert(fs::path(db->get(id)->source).stem().string());
          for (const std::string& name : names) pairs += names.count(name + "-crop");
        }
      }
    }
  }
  std::sort(plain.begin(), plain.end());
  std::sort(verified.begin(), verified.end());
  fs::remove_all(root);
  char line[512];
  std::snprintf(line, sizeof line,
                "12 MP photos (each of the 8 test photos at 4000x3000 beside a 10%% crop of it, JPEG quality 90, "
                "median of 3): by vectors alone %.0f ms; with verification %.0f ms, %.0f ms per image, which finds "
                "%zu of the %zu crops.\n\n",
                plain[1], verified[1], verified[1] / static_cast<double>(n), pairs, n / 2);
  return line;
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
    std::string md = "Measured by `" + command + "` (" + std::to_string(paths.size()) + " photos) on " +
                     imgvec::bench::machine() + ". ";
    md += "Copies: each test photo edited as the table says. Not copies: every pair of images from different photos, "
          "and two overlapping views (the left and right 60%) of each photo, standing in for another shot of the same "
          "scene; among the photos, scikit-image's motorcycle_left and motorcycle_right are a real stereo pair. A copy "
          "counts as found when its cosine to the original reaches the threshold or, with verification, when the pair "
          "is a candidate and match_photos says it is one photo.\n\n";
    imgvec::DescriptorEncoder descriptor;
    md += report(evaluate("built-in descriptor encoder", descriptor, images, items));
    if (imgvec::photo_matching_available()) md += database_cost(images, items) + camera_cost(paths);
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
