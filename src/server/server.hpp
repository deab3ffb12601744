#pragma once
// imgvec's HTTP service over one VectorDatabase (`imgvec serve`): a JSON API under /v1 on
// cpp-httplib. A thin layer over the public API; nothing in the library depends on it.
//
// This first part serves reads: health, stats, search (by image, text, vector or stored id) and
// records and original files by id. Writes (uploads, updates, deletes) follow with the database's
// write-ahead log, so that an acknowledged write survives a crash (issue 11).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "imgvec/database.hpp"

namespace imgvec::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  ///< 0: any free port (the one chosen is port() after bind())
  std::size_t threads = 8;
  std::size_t max_body_bytes = std::size_t{32} << 20;
};

class Server {
 public:
  Server(std::shared_ptr<VectorDatabase> db, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds the listening socket. Throws imgvec::Error(io) naming the address when it cannot.
  void bind();
  /// The bound port.
  int port() const;
  /// Serves until stop(); returns after in-flight requests have finished.
  void serve();
  /// Thread-safe; makes serve() return.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace imgvec::server
