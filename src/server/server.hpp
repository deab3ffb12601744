#pragma once
// imgvec's HTTP service over one VectorDatabase (`imgvec serve`, docs/server.md): a JSON API
// under /v1 and a web page at /, on cpp-httplib. A thin layer over the public API; nothing in the
// library depends on it.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "imgvec/database.hpp"

namespace imgvec::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  ///< 0: any free port (the one chosen is port() after bind())
  std::size_t threads = 8;
  std::size_t max_body_bytes = std::size_t{32} << 20;
  /// The largest image file GET /v1/images/{id}/file hands out.
  std::uint64_t max_file_bytes = std::uint64_t{256} << 20;
  /// Uploaded and query images with more pixels are refused before they are decoded.
  std::uint64_t max_pixels = 50'000'000;
  /// Writes (upload, PATCH, DELETE) and expensive reads (duplicates) need it, as
  /// `Authorization: Bearer KEY` or `X-API-Key: KEY`. When empty and writes are on, the server
  /// makes a token at each start (write_token()) and gives it to its own page.
  std::string api_key;
  /// Refuse every write (403).
  bool read_only = false;
  /// Web pages from these origins may call the API ("*": any); empty: only the server's own page.
  std::vector<std::string> cors_origins;
  /// More names the server answers to in the Host header (besides its address, localhost and
  /// IP literals); "*" turns the check off (behind a reverse proxy that checks it).
  std::vector<std::string> allowed_hosts;
  /// Expensive reads (POST /v1/duplicates) without the key.
  bool open_reads = false;
  std::size_t text_cache_entries = 1024;
  std::size_t thumbnail_cache_bytes = std::size_t{64} << 20;
  /// Background saves: after this many changes, or this many seconds after a change.
  std::size_t save_every_changes = 1000;
  double save_every_seconds = 60;
  /// A client that sends or reads nothing for this long is dropped.
  int timeout_seconds = 30;
};

/// Throws Error(invalid_argument) for options that would expose a database: writes enabled on
/// an address other than loopback without an API key.
void check_exposure(const ServerOptions& options);

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds the listening socket. Throws imgvec::Error(io) naming the address when it cannot.
  void bind();
  /// The bound port.
  int port() const;
  /// The token writes need when no API key was given (empty otherwise, and when read-only).
  const std::string& write_token() const;
  /// Serves this database from now on; until then the API answers 503 "loading". Open it with
  /// Durability::on_write unless the server is read-only: the server acknowledges a write only once
  /// it is durable. Starts the background saver when writes are enabled.
  void attach(std::shared_ptr<VectorDatabase> db);
  /// Serves until stop(); returns after in-flight requests have finished.
  void serve();
  /// Thread-safe; makes serve() return.
  void stop();
  /// After serve() returned: stops the background saver and saves what changed. Throws what the
  /// save throws.
  void finish();

  struct Impl;
  /// The state and handlers, for the request fuzzer (tests/fuzz/fuzz_server_request.cpp), which
  /// calls handlers without sockets.
  Impl& internals() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace imgvec::server
