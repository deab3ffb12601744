// Zero-shot content labels with a CLIP encoder: each label's prompt is embedded once, and each
// image's stored vector is compared with all of them (no image is embedded again), as in CLIP's
// zero-shot classification: softmax over logit_scale x cosine.
#include <algorithm>
#include <cmath>
#include <fstream>

#include "database/database_impl.hpp"
#include "database/write_transaction.hpp"
#include "imgvec/database.hpp"
#include "imgvec/labels.hpp"

namespace imgvec {

LabelSet default_labels() {
  // Prompts follow CLIP's own practice: a short caption that says what kind of image it is.
  static const std::pair<const char*, const char*> kLabels[] = {
      {"photo", "a photo"},
      {"screenshot", "a screenshot of a computer or phone screen"},
      {"document", "a scan of a printed document"},
      {"receipt", "a photo of a shop receipt"},
      {"drawing", "a drawing or illustration"},
      {"diagram or chart", "a diagram or a chart"},
      {"meme", "a meme with a caption"},
      {"map", "a map"},
      {"logo", "a logo"},
      {"beach", "a photo of a beach"},
      {"mountains", "a photo of mountains"},
      {"city", "a photo of a city street"},
      {"forest", "a photo of a forest"},
      {"snow", "a photo of snow"},
      {"sunset", "a photo of a sunset"},
      {"night", "a photo taken at night"},
      {"food", "a photo of food"},
      {"pet", "a photo of a pet"},
      {"people", "a photo of people"},
      {"selfie", "a selfie"},
      {"flowers", "a photo of flowers"},
      {"car", "a photo of a car"},
      {"indoors", "a photo of a room indoors"},
      {"text", "a photo of text"},
  };
  LabelSet set;
  for (const auto& [name, prompt] : kLabels) {
    set.names.emplace_back(name);
    set.prompts.emplace_back(prompt);
  }
  return set;
}

LabelSet label_set_named(const std::string& default_or_file) {
  return default_or_file == "default" ? default_labels() : read_label_file(default_or_file);
}

LabelSet read_label_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::not_found, path + ": cannot read the label file");
  LabelSet set;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    auto trim = [](std::string s) {
      const auto first = s.find_first_not_of(" \t\r");
      if (first == std::string::npos) return std::string();
      return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
    };
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    auto bad = [&](const std::string& what) {
      throw Error(ErrorCode::invalid_argument, path + ":" + std::to_string(number) + ": " + what);
    };
    const auto colon = line.find(':');
    const std::string name = trim(line.substr(0, colon));
    const std::string prompt = colon == std::string::npos ? "a photo of a " + name : trim(line.substr(colon + 1));
    if (name.empty()) bad("a label needs a name before its prompt");
    if (prompt.empty()) bad("\"" + name + ":\" has an empty prompt");
    if (std::find(set.names.begin(), set.names.end(), name) != set.names.end()) bad("\"" + name + "\" appears twice");
    if (set.names.size() == 1000) bad("more than 1000 labels");
    set.names.push_back(name);
    set.prompts.push_back(prompt);
  }
  if (set.names.empty()) throw Error(ErrorCode::invalid_argument, path + ": no labels in the file");
  return set;
}

std::size_t VectorDatabase::label_images(const LabelOptions& options) {
  const LabelSet& set = options.labels;
  if (set.names.empty() || set.names.size() != set.prompts.size()) {
    throw Error(ErrorCode::invalid_argument, "label_images: every label needs a name and a prompt");
  }
  if (!impl_->encoder.get().supports_text()) {
    throw Error(ErrorCode::unsupported,
                "zero-shot labels compare images with texts, so they need a CLIP model; this database's encoder (" +
                    impl_->encoder.fingerprint().kind + ") has no text model");
  }
  if (!(options.logit_scale > 0) || !(options.min_score >= 0 && options.min_score <= 1) || options.top == 0) {
    throw Error(ErrorCode::invalid_argument, "label_images: logit_scale must be > 0, min_score in 0..1, top >= 1");
  }
  const std::size_t dim = dimension(), n = set.names.size();
  const std::vector<float> texts = impl_->encoder.get().embed_texts(set.prompts);
  std::vector<Id> ids = options.ids.empty() ? this->ids() : options.ids;
  std::size_t labelled = 0;
  std::vector<double> logits(n);
  // Chunks, so a large database does not hold the write lock for long.
  for (std::size_t first = 0; first < ids.size(); first += 1024) {
    const std::size_t end = std::min(ids.size(), first + 1024);
    std::vector<std::pair<Id, std::vector<Label>>> results;
    {
      Impl::Shared guard(impl_->lock);
      for (std::size_t i = first; i < end; ++i) {
        const ImageRecord* r = impl_->store.get(ids[i]);
        if (!r) {
          if (!options.ids.empty()) throw Error(ErrorCode::not_found, "label_images: no image with id " + std::to_string(ids[i]));
          continue;
        }
        if (options.only_unlabelled && !r->labels.empty()) continue;
        const std::vector<float> v = impl_->index->get_vector(ids[i]);
        double top = -1e300;
        for (std::size_t l = 0; l < n; ++l) {
          double dot = 0;
          for (std::size_t k = 0; k < dim; ++k) dot += static_cast<double>(v[k]) * texts[l * dim + k];
          logits[l] = options.logit_scale * dot;
          top = std::max(top, logits[l]);
        }
        double sum = 0;
        for (double& x : logits) sum += (x = std::exp(x - top));
        std::vector<Label> labels;
        for (std::size_t l = 0; l < n; ++l) labels.push_back({set.names[l], static_cast<float>(logits[l] / sum)});
        std::stable_sort(labels.begin(), labels.end(), [](const Label& a, const Label& b) { return a.score > b.score; });
        std::vector<Label> kept;
        for (const Label& l : labels) {
          if (kept.size() == options.top || l.score < options.min_score) break;
          kept.push_back({l.name, std::round(l.score * 1000) / 1000});
        }
        results.emplace_back(ids[i], std::move(kept));
      }
    }
    detail::WriteTransaction tx(*impl_);
    for (auto& [id, labels] : results) {
      const ImageRecord* r = impl_->store.get(id);
      if (!r) continue;  // removed meanwhile
      ++labelled;
      if (r->labels == labels) continue;
      ImageRecord copy = *r;
      copy.labels = std::move(labels);
      tx.put(std::move(copy));
    }
    tx.commit();
  }
  return labelled;
}

}  // namespace imgvec
