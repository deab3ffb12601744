#include "server/server.hpp"

#include <httplib.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "imgvec/imgvec.hpp"

namespace imgvec::server {
namespace {

using nlohmann::json;

// An error answer: {"error": {"code", "message"}} with its HTTP status.
struct HttpError {
  int status;
  std::string code, message;
};

[[noreturn]] void fail(int status, std::string code, std::string message) {
  throw HttpError{status, std::move(code), std::move(message)};
}

int status_of(ErrorCode code) {
  switch (code) {
    case ErrorCode::not_found:
      return 404;
    case ErrorCode::unsupported:
      return 415;
    case ErrorCode::corrupt_file:
      return 415;
    case ErrorCode::invalid_argument:
      return 400;
    case ErrorCode::incompatible:
      return 409;
    case ErrorCode::io:
      return 500;
  }
  return 500;
}

const char* code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::not_found:
      return "not_found";
    case ErrorCode::unsupported:
      return "unsupported";
    case ErrorCode::corrupt_file:
      return "bad_image";
    case ErrorCode::invalid_argument:
      return "invalid_argument";
    case ErrorCode::incompatible:
      return "incompatible";
    case ErrorCode::io:
      return "io";
  }
  return "internal";
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

// Runs a handler, turning every failure into the JSON error shape; the server stays up.
template <typename Fn>
httplib::Server::Handler guarded(Fn fn) {
  return [fn](const httplib::Request& req, httplib::Response& res) {
    try {
      fn(req, res);
    } catch (const HttpError& e) {
      send_json(res, e.status, {{"error", {{"code", e.code}, {"message", e.message}}}});
    } catch (const Error& e) {
      send_json(res, status_of(e.code()),
                {{"error", {{"code", code_name(e.code())}, {"message", e.what()}}}});
    } catch (const std::exception& e) {
      send_json(res, 500, {{"error", {{"code", "internal"}, {"message", e.what()}}}});
    }
  };
}

json parse_body(const httplib::Request& req) {
  try {
    return json::parse(req.body);
  } catch (const json::exception& e) {
    fail(400, "bad_json", std::string("the request body is not valid JSON: ") + e.what());
  }
}

Id parse_id(const std::string& text) {
  if (text.empty() || text.size() > 20 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    fail(400, "invalid_argument",
         "\"" + text + "\" is not an image id (an unsigned 64-bit integer)");
  }
  errno = 0;
  const unsigned long long id = std::strtoull(text.c_str(), nullptr, 10);
  if (errno == ERANGE)
    fail(400, "invalid_argument", "\"" + text + "\" is larger than any image id");
  return id;
}

template <typename T>
T field(const json& body, const char* key, T fallback, T lo, T hi) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_number())
    fail(400, "invalid_argument", std::string("\"") + key + "\" must be a number");
  const double v = it->get<double>();
  if (v < static_cast<double>(lo) || v > static_cast<double>(hi) ||
      (std::is_integral_v<T> && v != static_cast<double>(static_cast<std::int64_t>(v)))) {
    fail(400, "invalid_argument",
         std::string("\"") + key + "\" must be " +
             (std::is_integral_v<T> ? "an integer" : "a number") + " in [" + std::to_string(lo) +
             ", " + std::to_string(hi) + "], got " + it->dump());
  }
  return static_cast<T>(v);
}

const char* content_type(ImageFormat f) {
  switch (f) {
    case ImageFormat::jpeg:
      return "image/jpeg";
    case ImageFormat::png:
      return "image/png";
    case ImageFormat::gif:
      return "image/gif";
    case ImageFormat::bmp:
      return "image/bmp";
    case ImageFormat::pnm:
      return "image/x-portable-anymap";
    case ImageFormat::tga:
      return "image/x-tga";
    case ImageFormat::psd:
      return "image/vnd.adobe.photoshop";
    case ImageFormat::hdr:
      return "image/vnd.radiance";
    case ImageFormat::unknown:
      break;
  }
  return "application/octet-stream";
}

}  // namespace

struct Server::Impl {
  std::shared_ptr<VectorDatabase> db;
  ServerOptions options;
  httplib::Server http;
  int port = 0;

  json hit_json(const SearchResult& h, bool with_vector) const {
    json r = {{"id", h.id},
              {"score", h.score},
              {"distance", 1.0f - h.score},
              {"record", json::parse(record_to_json(h.record))},
              {"file", "/v1/images/" + std::to_string(h.id) + "/file"}};
    if (with_vector) r["vector"] = db->get_vector(h.id);
    return r;
  }

  void search(const httplib::Request& req, httplib::Response& res) {
    const auto start = std::chrono::steady_clock::now();
    const json body = parse_body(req);
    if (!body.is_object()) fail(400, "invalid_argument", "the request body must be a JSON object");
    int sources = 0;
    for (const char* k : {"image", "text", "vector", "id"}) sources += body.contains(k) ? 1 : 0;
    if (sources != 1) {
      fail(400, "invalid_argument",
           "give exactly one of \"image\" (base64), \"text\", \"vector\" or \"id\"");
    }
    SearchOptions o;
    o.k = field<std::size_t>(body, "limit", 10, 1, 10000);
    o.offset = field<std::size_t>(body, "offset", 0, 0, 1000000);
    if (body.contains("score_threshold"))
      o.min_score = field<float>(body, "score_threshold", 0.0f, -1.0f, 1.0f);
    if (const auto f = body.find("filter"); f != body.end() && !f->is_null()) {
      if (!f->is_string())
        fail(400, "invalid_argument", "\"filter\" must be a string in the --where syntax");
      o.where = Where::parse(f->get<std::string>());
    }
    const bool with_vector = body.value("with_vector", false);
    std::vector<SearchResult> hits;
    if (const auto it = body.find("image"); it != body.end()) {
      if (!it->is_string()) fail(400, "invalid_argument", "\"image\" must be a base64 string");
      hits = db->search_by_image_base64(it->get<std::string>(), o);
    } else if (const auto t = body.find("text"); t != body.end()) {
      if (!t->is_string()) fail(400, "invalid_argument", "\"text\" must be a string");
      hits = db->search_by_text(t->get<std::string>(), o);
    } else if (const auto v = body.find("vector"); v != body.end()) {
      if (!v->is_array()) fail(400, "invalid_argument", "\"vector\" must be an array of numbers");
      std::vector<float> q;
      for (const auto& x : *v) {
        if (!x.is_number()) fail(400, "invalid_argument", "\"vector\" must be an array of numbers");
        q.push_back(x.get<float>());
      }
      if (q.size() != db->dimension()) {
        fail(400, "invalid_argument",
             "\"vector\" has " + std::to_string(q.size()) +
                 " numbers; this database's "
                 "vectors have " +
                 std::to_string(db->dimension()));
      }
      hits = db->search_by_vector(VectorView(q.data(), q.size()), o);
    } else {
      const json& id = body["id"];
      const Id want = id.is_string()
                          ? parse_id(id.get<std::string>())
                          : (id.is_number_unsigned() ? id.get<Id>() : parse_id(id.dump()));
      if (!db->get(want)) fail(404, "not_found", "no image with id " + std::to_string(want));
      const auto stored = db->get_vector(want);
      hits = db->search_by_vector(VectorView(stored.data(), stored.size()), o);
    }
    json result = json::array();
    for (const auto& h : hits) result.push_back(hit_json(h, with_vector));
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    send_json(res, 200, {{"result", result}, {"time_ms", ms}});
  }

  void routes() {
    http.Get("/v1/health", guarded([](const httplib::Request&, httplib::Response& res) {
               send_json(res, 200, {{"status", "ok"}});
             }));
    http.Get("/v1/stats", guarded([this](const httplib::Request&, httplib::Response& res) {
               const DatabaseStats s = db->get_stats();
               send_json(res, 200,
                         {{"count", s.count},
                          {"dimension", s.dimension},
                          {"encoder", s.encoder.to_string()},
                          {"text_search", db->encoder().supports_text()},
                          {"index", to_string(s.index_kind)},
                          {"storage", to_string(s.storage)},
                          {"memory_bytes", s.memory_bytes},
                          {"disk_bytes", s.disk_bytes},
                          {"version", version_string()}});
             }));
    http.Post("/v1/search", guarded([this](const httplib::Request& req, httplib::Response& res) {
                search(req, res);
              }));
    http.Get(R"(/v1/images/([^/]+))",
             guarded([this](const httplib::Request& req, httplib::Response& res) {
               const Id id = parse_id(req.matches[1]);
               const auto rec = db->get(id);
               if (!rec) fail(404, "not_found", "no image with id " + std::to_string(id));
               send_json(res, 200, json::parse(record_to_json(*rec)));
             }));
    // Files are served by id only, from the database's own records: no path ever comes from a URL.
    http.Get(
        R"(/v1/images/([^/]+)/file)",
        guarded([this](const httplib::Request& req, httplib::Response& res) {
          const Id id = parse_id(req.matches[1]);
          const auto rec = db->get(id);
          if (!rec) fail(404, "not_found", "no image with id " + std::to_string(id));
          if (rec->source.empty())
            fail(404, "not_found",
                 "image " + std::to_string(id) + " was added from memory; no file");
          std::ifstream in(rec->source, std::ios::binary);
          if (!in) fail(404, "not_found", "the file of image " + std::to_string(id) + " is gone");
          std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
          res.set_content(std::move(bytes), content_type(rec->format));
        }));
    http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;  // a handler's own error answer
      const bool too_large = res.status == 413;
      send_json(
          res, res.status,
          {{"error",
            {{"code", too_large ? "too_large" : (res.status == 404 ? "not_found" : "bad_request")},
             {"message", too_large ? "the request body is larger than the server accepts"
                                   : "no such endpoint or method"}}}});
    });
  }
};

Server::Server(std::shared_ptr<VectorDatabase> db, ServerOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->db = std::move(db);
  impl_->options = std::move(options);
  impl_->http.new_task_queue = [n = impl_->options.threads] { return new httplib::ThreadPool(n); };
  impl_->http.set_payload_max_length(impl_->options.max_body_bytes);
  impl_->http.set_read_timeout(30, 0);
  impl_->http.set_write_timeout(30, 0);
  impl_->routes();
}

Server::~Server() = default;

void Server::bind() {
  const auto& o = impl_->options;
  impl_->port = o.port == 0 ? impl_->http.bind_to_any_port(o.host)
                            : (impl_->http.bind_to_port(o.host, o.port) ? o.port : -1);
  if (impl_->port <= 0) {
    throw Error(ErrorCode::io, o.host + ":" + std::to_string(o.port) +
                                   ": cannot listen (address in use, or not ours)");
  }
}

int Server::port() const {
  return impl_->port;
}
void Server::serve() {
  impl_->http.listen_after_bind();
}
void Server::stop() {
  impl_->http.stop();
}

}  // namespace imgvec::server
