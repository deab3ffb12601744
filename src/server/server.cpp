#include "server/server.hpp"

#include <arpa/inet.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "imgvec/detail/assert.hpp"
#include "imgvec/error.hpp"
#include "server/server_impl.hpp"
#include "wire/wire.hpp"
#include "server/web_assets.hpp"

namespace imgvec::server {
namespace {

bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr a{};
  return ::inet_pton(AF_INET, host.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

// Reads that can take minutes of every core: one at a time, and behind the key when there is one.
bool is_expensive_read(const httplib::Request& req) {
  return req.method == "POST" && req.path == "/v1/duplicates";
}

bool is_write(const httplib::Request& req) {
  if (req.path.rfind("/v1/", 0) != 0) return false;
  if (req.method == "PATCH" || req.method == "DELETE") return true;
  return req.method == "POST" && (req.path == "/v1/images" || req.path == "/v1/duplicates/dismiss");
}

// The key a client sent: `Authorization: Bearer KEY`, or `X-API-Key: KEY` (Qdrant's `api-key` too).
std::string presented_key(const httplib::Request& req) {
  const std::string auth = req.get_header_value("Authorization");
  if (auth.rfind("Bearer ", 0) == 0) return auth.substr(7);
  if (req.has_header("X-API-Key")) return req.get_header_value("X-API-Key");
  return req.get_header_value("api-key");
}

void static_page(httplib::Response& res, std::string_view body, const char* type) {
  // The page is self-contained: scripts and styles from this server only, images from the API.
  res.set_header(
      "Content-Security-Policy",
      "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
      "frame-ancestors 'none'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_content(std::string(body), type);
}

}  // namespace

void check_exposure(const ServerOptions& o) {
  if (!o.read_only && o.api_key.empty() && !is_loopback(o.host)) {
    throw Error(ErrorCode::invalid_argument,
                "--host " + o.host +
                    " lets other machines in, and writes are enabled without a key: set an API key "
                    "(--api-key or IMGVEC_API_KEY) or add --read-only");
  }
}

nlohmann::json Server::Impl::record_json(const ImageRecord& record) const {
  return wire::to_json(record, &database());
}

std::string Server::Impl::without_database_folder(std::string text) const {
  // database_folder is written by attach() before it publishes the database (release); reading
  // it only once the database is seen (acquire) orders the two.
  if (db.load(std::memory_order_acquire) == nullptr || database_folder.empty()) return text;
  for (std::size_t at = text.find(database_folder); at != std::string::npos; at = text.find(database_folder, at + 3))
    text.replace(at, database_folder.size(), "$DB");
  return text;
}

void Server::Impl::routes() {
  auto bind = [this](void (Impl::*handler)(const httplib::Request&, httplib::Response&)) {
    return [this, handler](const httplib::Request& req, httplib::Response& res) {
      {
        const WorkSlots::Held slot(work);
        answer_guarded(req, res, [&](const httplib::Request& q, httplib::Response& r) {
          (this->*handler)(q, r);
        });
      }
      if (res.status >= 400) res.body = without_database_folder(std::move(res.body));
    };
  };
  http.Get("/", [this](const httplib::Request&, httplib::Response& res) {
    static_page(res, page_html, "text/html; charset=utf-8");
    res.set_header("Cache-Control", "no-store");  // it holds this start's token
  });
  http.Get("/app.js", [](const httplib::Request&, httplib::Response& res) {
    static_page(res, web::kAppJs, "text/javascript; charset=utf-8");
  });
  http.Get("/app.css", [](const httplib::Request&, httplib::Response& res) {
    static_page(res, web::kAppCss, "text/css; charset=utf-8");
  });
  http.Get("/v1/health", [this](const httplib::Request&, httplib::Response& res) {
    const bool ready = db.load() != nullptr;
    send_json(res, ready ? 200 : 503, {{"status", ready ? "ok" : "loading"}});
  });
  // Requests with a body read it here rather than in cpp-httplib, which parses a body sent as
  // application/x-www-form-urlencoded (curl -d's default) as a form and refuses one over 8 KB: the
  // documented `curl -d '{"image": ...}'` got 413 for any real photo. Our endpoints read JSON
  // whatever the Content-Type; another site's form posts are kept out by the access rules.
  auto bind_with_body = [this](void (Impl::*handler)(const httplib::Request&, httplib::Response&)) {
    return [this, handler](const httplib::Request& req, httplib::Response& res,
                           const httplib::ContentReader& read) {
      httplib::Request whole = req;  // its regex matches still point into req.path, alive here
      if (!read_whole_body(whole, read)) return;  // cpp-httplib answers (413, 400)
      {
        const WorkSlots::Held slot(work);  // after the body has arrived: a slow sender holds none
        answer_guarded(whole, res, [&](const httplib::Request& q, httplib::Response& r) {
          (this->*handler)(q, r);
        });
      }
      if (res.status >= 400) res.body = without_database_folder(std::move(res.body));
    };
  };
  http.Get("/v1/stats", bind(&Impl::stats));
  http.Post("/v1/search", bind_with_body(&Impl::search));
  http.Post("/v1/search/image", bind_with_body(&Impl::search_image_upload));
  http.Post("/v1/duplicates", bind_with_body(&Impl::duplicates));
  http.Post("/v1/duplicates/dismiss", bind_with_body(&Impl::dismiss_duplicates));
  http.Get("/v1/images", bind(&Impl::list));
  http.Get("/v1/facets", bind(&Impl::facets));
  http.Get(R"(/v1/images/([^/]+)/view)", bind(&Impl::get_view));
  http.Post("/v1/images", bind_with_body(&Impl::upload));
  http.Get(R"(/v1/images/([^/]+))", bind(&Impl::get_record));
  http.Get(R"(/v1/images/([^/]+)/file)", bind(&Impl::get_file));
  http.Get(R"(/v1/images/([^/]+)/thumbnail)", bind(&Impl::get_thumbnail));
  http.Patch(R"(/v1/images/([^/]+))", bind_with_body(&Impl::patch));
  http.Delete(R"(/v1/images/([^/]+))", bind(&Impl::remove));

  // Before any route: who may call (access_rules.hpp), CORS, then the key for writes and
  // expensive reads.
  using Verdict = httplib::Server::HandlerResponse;
  auto judge = [this](const httplib::Request& req, httplib::Response& res) {
    const std::string host = req.get_header_value("Host");
    if (!host_allowed(rules, host)) {
      send_error(res, 403, "host_not_allowed",
                 "this server does not answer to the name in the Host header (\"" +
                     host_of_header(host) +
                     "\"): a page that reaches it through another name is refused, as DNS "
                     "rebinding would; open it as http://localhost:PORT/ or by its address, or "
                     "start the server with --allowed-host NAME to add that name");
      return Verdict::Handled;
    }
    const std::string origin = req.get_header_value("Origin");
    const OriginVerdict verdict = judge_origin(rules, origin, host);
    if (verdict == OriginVerdict::refused) {
      send_error(res, 403, "cross_origin",
                 "requests from pages of another site (Origin: " + origin.substr(0, 200) +
                     ") are refused; start the server with --cors ORIGIN to let that site in");
      return Verdict::Handled;
    }
    if (!fetch_site_allowed(rules, req.get_header_value("Sec-Fetch-Site"),
                            req.get_header_value("Sec-Fetch-Mode"))) {
      send_error(res, 403, "cross_origin",
                 "requests made by pages of another site are refused; start the server with "
                 "--cors ORIGIN to let that site in");
      return Verdict::Handled;
    }
    const bool api = req.path.rfind("/v1/", 0) == 0;
    if (api && verdict == OriginVerdict::cors_allowed) {
      res.set_header("Access-Control-Allow-Origin", origin);
      res.set_header("Vary", "Origin");
      if (req.method == "OPTIONS") {
        res.set_header("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS");
        res.set_header("Access-Control-Allow-Headers", "Content-Type, Authorization, X-API-Key");
        res.set_header("Access-Control-Max-Age", "600");
        res.status = 204;
        return Verdict::Handled;
      }
    }
    const bool write = is_write(req);
    const bool expensive = is_expensive_read(req) && !options.open_reads;
    if (!write && !expensive) return Verdict::Unhandled;
    if (write && options.read_only) {
      send_error(res, 403, "read_only",
                 "this server was started with --read-only: uploads, changes and deletes are off");
      return Verdict::Handled;
    }
    if (key.empty()) return Verdict::Unhandled;
    // The key travels in a header only: a form or a text/plain post from another site (the
    // requests a browser sends without asking the server first) cannot carry one.
    const std::string presented = presented_key(req);
    const char* what = write ? "writes need" : "finding duplicates needs";
    const std::string how =
        token_made ? std::string(" this server's token: its own page sends it; scripts send "
                                 "`X-API-Key: TOKEN` with the token `imgvec serve` printed at "
                                 "start (or choose a key with --api-key or IMGVEC_API_KEY)")
                   : std::string(" this server's API key: send `Authorization: Bearer KEY` "
                                 "or `X-API-Key: KEY`");
    if (presented.empty()) {
      res.set_header("WWW-Authenticate", "Bearer");
      send_error(res, 401, "unauthorized", what + how);
      return Verdict::Handled;
    }
    if (!constant_time_equal(presented, key)) {
      send_error(res, 403, "forbidden",
                 std::string("the ") + (token_made ? "token" : "API key") +
                     " sent is not this server's (a token changes at every start)");
      return Verdict::Handled;
    }
    return Verdict::Unhandled;
  };
  // A refusal answers before the body is read: the connection closes rather than read the body
  // as the next request.
  http.set_pre_routing_handler([judge](const httplib::Request& req, httplib::Response& res) {
    const Verdict verdict = judge(req, res);
    if (verdict == Verdict::Handled && res.status >= 400) res.set_header("Connection", "close");
    return verdict;
  });
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // a handler's own error answer
    if (res.status == 413) {
      send_error(res, 413, "too_large",
                 "the request body is larger than the server accepts (--max-upload-mb)");
    } else if (res.status == 414) {
      send_error(res, 414, "too_long", "the URL is longer than the server accepts (8192 bytes)");
    } else if (res.status == 404) {
      send_error(res, 404, "not_found", "no such endpoint: " + req.method + " " + req.path);
    } else {
      send_error(res, res.status, "bad_request", "the request could not be read");
    }
  });
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        send_error(res, 500, "internal", "the request failed unexpectedly");
      });
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  check_exposure(impl_->options);
  const auto& o = impl_->options;
  impl_->key = o.api_key;
  impl_->page_html = std::string(web::kIndexHtml);
  if (o.api_key.empty() && !o.read_only) {
    impl_->key = make_write_token();
    impl_->token_made = true;
    const std::string slot = "<meta name=\"imgvec-token\" content=\"\">";
    const std::size_t at = impl_->page_html.find(slot);
    IMGVEC_ASSERT(at != std::string::npos);
    impl_->page_html.replace(at, slot.size(),
                             "<meta name=\"imgvec-token\" content=\"" + impl_->key + "\">");
  }
  impl_->http.set_payload_max_length(o.max_body_bytes);
  impl_->http.set_read_timeout(o.timeout_seconds, 0);
  impl_->http.set_write_timeout(o.timeout_seconds, 0);
  impl_->http.set_keep_alive_timeout(5);
  impl_->http.set_keep_alive_max_count(10000);
  // Answers are small and written in pieces: without this, Nagle and delayed ACKs hold each one
  // back ~40 ms (measured: 45 requests/s and 88 ms per search by vector on loopback).
  impl_->http.set_tcp_nodelay(true);
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

const std::string& Server::write_token() const {
  static const std::string none;
  return impl_->token_made ? impl_->key : none;
}

void Server::attach(std::shared_ptr<VectorDatabase> db) {
  impl_->database_folder = std::filesystem::absolute(db->directory()).lexically_normal().string();
  while (impl_->database_folder.size() > 1 && impl_->database_folder.back() == '/') impl_->database_folder.pop_back();
  impl_->owned = std::move(db);
  impl_->owned->set_text_cache_entries(impl_->options.text_cache_entries);
  if (!impl_->options.read_only) {
    impl_->saver = std::make_unique<BackgroundSaver>(
        impl_->owned, impl_->options.save_every_changes, impl_->options.save_every_seconds);
  }
  impl_->db.store(impl_->owned.get(), std::memory_order_release);
}

// cpp-httplib's stop() does nothing until its listen loop runs, so a stop() that came first (the
// database failed to open at once) left serve() listening forever: seen as a hung test. Now
// either serve() sees the request before it listens, or stop() waits until the loop runs and then
// ends it.
void Server::serve() {
  impl_->serving = true;
  if (!impl_->stop_requested) impl_->http.listen_after_bind();
  impl_->serving = false;
}

void Server::stop() {
  impl_->stop_requested = true;
  while (impl_->serving && !impl_->http.is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  impl_->http.stop();
}

void Server::finish() {
  if (impl_->saver) impl_->saver->stop();
}

}  // namespace imgvec::server
