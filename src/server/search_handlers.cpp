// POST /v1/search, POST /v1/search/image, POST /v1/duplicates, GET /v1/stats.
#include <chrono>
#include <cmath>

#include "imgvec/detail/json_nesting.hpp"
#include "imgvec/imgvec.hpp"
#include "server/request_fields.hpp"
#include "server/search_request.hpp"
#include "server/server_impl.hpp"
#include "server/vector_body.hpp"
#include "wire/wire.hpp"

namespace imgvec::server {
namespace {

// CLIP reads 77 tokens; a longer text only costs tokenizing, and would let the cache's keys grow.
constexpr std::size_t kMaxTextBytes = 4096;

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace

// Each hit is the wire's (id, score, record), with the distance the request asked for and the
// links the page follows.
void Server::Impl::send_hits(httplib::Response& res, const std::vector<SearchResult>& hits,
                             const SearchRequestOptions& request, bool with_vector,
                             std::chrono::steady_clock::time_point start) const {
  const VectorDatabase& db = database();
  json result = json::array();
  for (const SearchResult& h : hits) {
    json hit = wire::to_json(h, &db);
    const std::string id = std::to_string(h.id);
    hit["distance"] = distance_of(request.distance, h.score);
    hit["thumbnail"] = "/v1/images/" + id + "/thumbnail";
    hit["file"] = "/v1/images/" + id + "/file";
    if (with_vector) hit["vector"] = db.get_vector(h.id);
    result.push_back(std::move(hit));
  }
  // A filter key no image has matches nothing: say so, rather than an empty answer alone.
  const json warnings = request.search.where.matches_all() ? json::array() : json(db.filter_warnings(request.search.where));
  send_json(res, 200,
            {{"result", std::move(result)},
             {"distance", to_string(request.distance)},
             {"warnings", warnings},
             {"time_ms", ms_since(start)}});
}

// {"text": ...} | {"image": base64} | {"id": N} | {"vector": [...]}, each with an optional
// "weight". Texts go through the text cache like any text query.
void PixelBudget::spend(std::uint64_t pixels) {
  if (pixels > left)
    fail(413, "too_large",
         "the request's images hold more pixels together than one request may decode (--max-megapixels, "
         "four times over): send fewer or smaller examples");
  left -= pixels;
}

QueryExample Server::Impl::query_example(const json& e, const char* side, PixelBudget& pixels) {
  const std::string where = std::string("an example in \"") + side + "\"";
  if (!e.is_object()) fail(400, "invalid_argument", where + " must be an object");
  check_known_fields(e, {"text", "image", "id", "vector", "weight"}, where);
  float weight = 1;
  if (const auto w = e.find("weight"); w != e.end() && !w->is_null()) {
    if (!w->is_number() || !(w->get<double>() > 0) || !std::isfinite(w->get<double>()))
      fail(400, "invalid_argument", where + ": \"weight\" must be a number > 0");
    weight = w->get<float>();
  }
  if (const auto t = e.find("text"); t != e.end()) {
    if (!t->is_string()) fail(400, "invalid_argument", where + ": \"text\" must be a string");
    return QueryExample::of_vector(text_vector(t->get<std::string>()), weight);
  }
  if (const auto i = e.find("image"); i != e.end()) {
    if (!i->is_string()) fail(400, "invalid_argument", where + ": \"image\" must be a base64 string");
    // Embedded at once: up to 128 examples never hold their pixels together.
    const Image image = decode_image_base64(i->get<std::string>(), decode_options());
    pixels.spend(std::uint64_t{image.width} * image.height);
    return QueryExample::of_vector(database().embed_image(image), weight);
  }
  if (const auto id = e.find("id"); id != e.end()) {
    const Id want = id_from_json(*id, "id");
    if (!database().get(want)) fail(404, "not_found", "no image with id " + std::to_string(want));
    return QueryExample::of_id(want, weight);
  }
  if (const auto v = e.find("vector"); v != e.end()) {
    if (!v->is_array()) fail(400, "invalid_argument", where + ": \"vector\" must be an array of numbers");
    std::vector<float> values;
    for (const auto& x : *v) {
      if (!x.is_number()) fail(400, "invalid_argument", where + ": \"vector\" must be an array of numbers");
      values.push_back(x.get<float>());
    }
    return QueryExample::of_vector(std::move(values), weight);
  }
  fail(400, "invalid_argument", where + " needs \"text\", \"image\", \"id\" or \"vector\"");
}

std::vector<float> Server::Impl::text_vector(const std::string& text) {
  VectorDatabase& db = database();
  if (!db.encoder().supports_text()) {
    fail(400, "no_text_model",
         "this database's encoder (" + db.encoder().fingerprint().to_string() +
             ") has no text model: search by image, vector or id, or serve a database built with a "
             "CLIP bundle");
  }
  if (text.size() > kMaxTextBytes)
    fail(400, "invalid_argument", "\"text\" is longer than 4096 bytes");
  return db.embed_text(text);  // through the database's text cache
}

void Server::Impl::search(const httplib::Request& req, httplib::Response& res) {
  const auto start = std::chrono::steady_clock::now();
  VectorDatabase& db = database();
  auto fast = extract_vector(req.body);
  json body;
  if (fast) {
    try {
      detail::check_json_nesting(fast->rest, "the request body");
      body = json::parse(fast->rest);
    } catch (const json::exception&) {
      fast.reset();  // the ordinary path below reports the error
    }
  }
  if (!fast) body = parse_json_object(req);
  std::vector<std::string_view> known = {"image", "text", "vector", "id", "colours", "positive", "negative", "with_vector"};
  known.insert(known.end(), search_option_fields().begin(), search_option_fields().end());
  check_known_fields(body, known, "a search");
  int sources = 0;
  for (const char* k : {"image", "text", "vector", "id", "colours", "positive"}) sources += body.contains(k) ? 1 : 0;
  if (sources != 1 || (body.contains("negative") && !body.contains("positive")))
    fail(400, "invalid_argument",
         "give exactly one of \"image\" (base64), \"text\", \"vector\", \"id\", \"colours\" or \"positive\" "
         "(with \"negative\" optional)");
  const SearchRequestOptions request = search_request_options(body);
  const SearchOptions& o = request.search;
  const bool with_vector = bool_field(body, "with_vector", false);
  std::vector<SearchResult> hits;
  if (const auto it = body.find("image"); it != body.end()) {
    if (!it->is_string()) fail(400, "invalid_argument", "\"image\" must be a base64 string");
    hits = db.search_by_image(decode_image_base64(it->get<std::string>(), decode_options()), o);
  } else if (const auto t = body.find("text"); t != body.end()) {
    if (!t->is_string()) fail(400, "invalid_argument", "\"text\" must be a string");
    const std::vector<float> q = text_vector(t->get<std::string>());
    hits = db.search_by_vector(VectorView(q.data(), q.size()), o);
  } else if (body.contains("positive")) {
    Query q;
    PixelBudget pixels{4 * options.max_pixels};
    for (const auto& [key, out] : {std::pair{"positive", &q.positive}, {"negative", &q.negative}}) {
      const auto list = body.find(key);
      if (list == body.end() || list->is_null()) continue;
      if (!list->is_array() || list->size() > 64)
        fail(400, "invalid_argument", std::string("\"") + key + "\" must be a list of at most 64 examples");
      for (const auto& e : *list) out->push_back(query_example(e, key, pixels));
    }
    hits = db.search(q, o);
  } else if (const auto c = body.find("colours"); c != body.end()) {
    if (!c->is_array() || c->empty() || c->size() > 16)
      fail(400, "invalid_argument", "\"colours\" must be a list of 1 to 16 colours (\"#2a6fdb\" or names)");
    std::vector<Rgb> colours;
    for (const auto& x : *c) {
      const auto rgb = x.is_string() ? parse_colour(x.get<std::string>()) : std::nullopt;
      if (!rgb) fail(400, "invalid_argument", "\"colours\": " + x.dump() + " is not #RRGGBB, #RGB or a colour name");
      colours.push_back(*rgb);
    }
    hits = db.search_by_colour(colours, o);
  } else if (const auto v = body.find("vector"); v != body.end()) {
    std::vector<float> q;
    if (fast) {
      q = std::move(fast->values);
    } else {
      if (!v->is_array()) fail(400, "invalid_argument", "\"vector\" must be an array of numbers");
      q.reserve(v->size());
      for (const auto& x : *v) {
        if (!x.is_number()) fail(400, "invalid_argument", "\"vector\" must be an array of numbers");
        q.push_back(x.get<float>());
      }
    }
    if (q.size() != db.dimension()) {
      fail(400, "invalid_argument",
           "\"vector\" has " + std::to_string(q.size()) +
               " numbers; this database's vectors have " + std::to_string(db.dimension()));
    }
    hits = db.search_by_vector(VectorView(q.data(), q.size()), o);
  } else {
    const Id want = id_from_json(body["id"], "id");
    if (!db.get(want)) fail(404, "not_found", "no image with id " + std::to_string(want));
    const auto stored = db.get_vector(want);
    hits = db.search_by_vector(VectorView(stored.data(), stored.size()), o);
  }
  send_hits(res, hits, request, with_vector, start);
}

void Server::Impl::search_image_upload(const httplib::Request& req, httplib::Response& res) {
  const auto start = std::chrono::steady_clock::now();
  VectorDatabase& db = database();
  if (!req.is_multipart_form_data()) {
    fail(400, "invalid_argument",
         "send the image as multipart/form-data in a field named \"file\" (curl -F "
         "file=@photo.jpg)");
  }
  const char* field = req.has_file("file") ? "file" : "image";
  if (!req.has_file(field))
    fail(400, "invalid_argument", "no form field \"file\" holding an image");
  std::vector<std::string_view> known = {"file", "image"};
  known.insert(known.end(), search_option_fields().begin(), search_option_fields().end());
  check_known_form_fields(req, known, "a search by upload");
  const auto upload = req.get_file_value(field);
  // The other form fields are search options, typed as JSON would type them.
  json options = json::object();
  for (const char* key : {"limit", "offset", "score_threshold", "distance_threshold"}) {
    if (!req.has_file(key)) continue;
    const std::string text = req.get_file_value(key).content;
    const json value = text.size() > 64 ? json() : json::parse(text, nullptr, false);
    if (!value.is_number())
      fail(400, "invalid_argument",
           std::string("\"") + key + "\" must be a number, got \"" + text.substr(0, 64) + "\"");
    options[key] = value;
  }
  for (const char* key : {"filter", "distance", "sort"}) {
    if (req.has_file(key)) options[key] = req.get_file_value(key).content;
  }
  const SearchRequestOptions request = search_request_options(options);
  const std::string name = upload.filename.empty() ? "uploaded image" : upload.filename;
  const Image image =
      decode_image(upload.content.data(), upload.content.size(), name, decode_options());
  send_hits(res, db.search_by_image(image, request.search), request, false, start);
}

void Server::Impl::duplicates(const httplib::Request& req, httplib::Response& res) {
  const auto start = std::chrono::steady_clock::now();
  VectorDatabase& db = database();
  // A duplicate search can take every core for minutes on a large database: one at a time.
  const std::unique_lock<std::mutex> one_at_a_time(expensive, std::try_to_lock);
  if (!one_at_a_time.owns_lock()) {
    res.set_header("Retry-After", "10");
    fail(429, "busy", "another duplicate search is running on this server; try again when it has finished");
  }
  const json body = req.body.empty() ? json::object() : parse_json_object(req);
  check_known_fields(body, {"threshold", "neighbours", "candidate_threshold", "verify"}, "a duplicate search");
  DuplicateOptions o;
  o.threshold = float_field(body, "threshold", o.threshold, -1.0f, 1.0f);
  o.neighbours = size_field(body, "neighbours", o.neighbours, 1, 256);
  o.candidate_threshold = float_field(body, "candidate_threshold", o.candidate_threshold, -1.0f, 1.0f);
  o.verify = bool_field(body, "verify", o.verify);
  json groups = json::array();
  for (const DuplicateGroup& g : db.find_duplicates(o)) {
    json group = wire::to_json(g, db, /*portable=*/true);
    for (json& image : group["images"])
      image["thumbnail"] = "/v1/images/" + std::to_string(image["id"].get<Id>()) + "/thumbnail";
    groups.push_back(std::move(group));
  }
  send_json(
      res, 200,
      {{"groups", std::move(groups)},
       {"threshold", o.threshold},
       {"verified", o.verify && photo_matching_available()},
       {"candidate_threshold", o.candidate_threshold},
       {"time_ms", ms_since(start)}});
}

void Server::Impl::stats(const httplib::Request&, httplib::Response& res) {
  VectorDatabase& db = database();
  const DatabaseStats s = db.get_stats();
  const auto text = db.text_cache_counts();
  const auto thumbs = thumbnails.counts();
  // The wire's stats but for the folder, which no answer names (the page shows the model).
  json out = wire::to_json(s);
  out.erase("directory");
  out.update({
      {"text_search", db.encoder().supports_text()},
      {"writes", options.read_only ? "disabled" : (token_made ? "need the token" : "need a key")},
      {"text_cache", {{"entries", text.entries}, {"capacity", text.capacity}, {"hits", text.hits}, {"misses", text.misses}}},
      {"thumbnail_cache",
       {{"entries", thumbs.entries},
        {"bytes", thumbs.cost},
        {"capacity_bytes", thumbs.capacity},
        {"hits", thumbs.hits},
        {"misses", thumbs.misses}}},
      {"background_saves", saver ? saver->saves() : 0},
      {"last_save_error", without_database_folder(saver ? saver->last_error() : "")},
      {"version", version_string()}});
  send_json(res, 200, out);
}

}  // namespace imgvec::server
