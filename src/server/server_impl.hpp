#pragma once
// The server's state and handlers, shared by server.cpp (routes, lifecycle, access rules),
// search_handlers.cpp and image_handlers.cpp.

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "imgvec/image/image.hpp"
#include "server/access_rules.hpp"
#include "server/background_saver.hpp"
#include "server/guarded_http_server.hpp"
#include "server/http_support.hpp"
#include "imgvec/detail/lru_cache.hpp"
#include "server/search_request.hpp"
#include "server/server.hpp"
#include "server/thumbnails.hpp"

namespace imgvec::server {

/// At most `n` requests doing work (decoding, embedding, searching) at once: the connection pool
/// is larger (GuardedHttpServer), so that slow clients cannot take the threads, and this keeps
/// the CPU and the decoders' memory to `--threads` requests' worth.
class WorkSlots {
 public:
  explicit WorkSlots(std::size_t n) : free_(std::max<std::size_t>(n, 1)) {}
  void acquire() {
    std::unique_lock<std::mutex> lock(mutex_);
    freed_.wait(lock, [&] { return free_ > 0; });
    --free_;
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++free_;
    }
    freed_.notify_one();
  }

  /// Holds one slot for its lifetime.
  struct Held {
    explicit Held(WorkSlots& s) : slots(s) { slots.acquire(); }
    ~Held() { slots.release(); }
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;
    WorkSlots& slots;
  };

 private:
  std::mutex mutex_;
  std::condition_variable freed_;
  std::size_t free_;
};

/// Pixels a request may still decode, across all its images (examples are decoded one at a time
/// and embedded at once, so only one image's pixels are held).
struct PixelBudget {
  std::uint64_t left;
  void spend(std::uint64_t pixels);  // 413 naming the budget once it is overdrawn
};

struct Server::Impl {
  explicit Impl(ServerOptions o)
      : options(std::move(o)),
        rules{options.host, options.allowed_hosts, options.cors_origins},
        thumbnails(options.thumbnail_cache_bytes, options.max_pixels),
        work(options.threads) {}

  ServerOptions options;
  AccessRules rules;
  /// The key writes and expensive reads need: options.api_key, or the per-start token.
  std::string key;
  bool token_made = false;  ///< `key` is a per-start token, given to the page
  std::string page_html;    ///< index.html, with the token when there is one
  std::mutex expensive;     ///< one duplicate search at a time
  GuardedHttpServer http;
  int port = 0;
  std::shared_ptr<VectorDatabase> owned;
  std::atomic<VectorDatabase*> db{nullptr};
  std::atomic<bool> serving{false}, stop_requested{false};  // Server::serve() and stop()  // set once by attach(); requests before it get 503
  std::unique_ptr<BackgroundSaver> saver;
  Thumbnails thumbnails;
  WorkSlots work;

  VectorDatabase& database() const {
    VectorDatabase* d = db.load(std::memory_order_acquire);
    if (!d) fail(503, "loading", "the database is still loading; try again in a moment");
    return *d;
  }
  // The server's pixel limit, and the encoder's reduced-scale decoding (a query or an upload is
  // decoded only as large as the encoder needs).
  DecodeOptions decode_options() const {
    DecodeOptions o;
    o.max_pixels = options.max_pixels;
    return database().encoder().decode_options(o);
  }
  void routes();
  /// A record as the API shows it: the wire's record, with a file in the database's own files/
  /// folder as "$DB/files/NAME" rather than the server's absolute path.
  nlohmann::json record_json(const ImageRecord& record) const;
  /// `text` with the database folder's absolute path replaced by "$DB" (error messages, stats):
  /// no answer says where the server keeps its files.
  std::string without_database_folder(std::string text) const;
  std::string database_folder;  ///< absolute, set by attach()

  // search_handlers.cpp
  void search(const httplib::Request& req, httplib::Response& res);
  void search_image_upload(const httplib::Request& req, httplib::Response& res);
  void duplicates(const httplib::Request& req, httplib::Response& res);
  void stats(const httplib::Request& req, httplib::Response& res);
  // {"result": [hit...], "time_ms"}: the answer of every search.
  void send_hits(httplib::Response& res, const std::vector<SearchResult>& hits,
                 const SearchRequestOptions& request, bool with_vector,
                 std::chrono::steady_clock::time_point start) const;
  std::vector<float> text_vector(const std::string& text);
  QueryExample query_example(const json& example, const char* side, PixelBudget& pixels);

  // library_handlers.cpp
  void list(const httplib::Request& req, httplib::Response& res);
  void facets(const httplib::Request& req, httplib::Response& res);
  void get_view(const httplib::Request& req, httplib::Response& res);
  void dismiss_duplicates(const httplib::Request& req, httplib::Response& res);

  // image_handlers.cpp
  void upload(const httplib::Request& req, httplib::Response& res);
  void get_record(const httplib::Request& req, httplib::Response& res);
  void get_file(const httplib::Request& req, httplib::Response& res);
  void get_thumbnail(const httplib::Request& req, httplib::Response& res);
  void patch(const httplib::Request& req, httplib::Response& res);
  void remove(const httplib::Request& req, httplib::Response& res);
};

}  // namespace imgvec::server
