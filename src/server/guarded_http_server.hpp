#pragma once
// cpp-httplib's server with the connection handling imgvec serve needs to stay up when clients
// misbehave. cpp-httplib gives each connection a pool thread for its lifetime and resets its read
// timeout at every byte, so ten sockets trickling a header byte every few seconds held all eight
// threads and no health probe was answered for 38 s (issue 19); a million header lines grew the
// process by 130 MB; pipelined requests after the first waited for the socket although their
// bytes were already read. This subclass runs each connection itself (cpp-httplib's
// process_request still parses and answers every request):
// - a deadline for a request's headers and one for the whole request, whatever the pace of bytes;
// - caps on header bytes and lines, counted as they are read, before cpp-httplib stores them;
// - a bounded number of connections per client address, and a connection pool larger than the
//   pool of CPU work, so that slow clients wait on sockets, not on each other;
// - requests already buffered are answered before waiting on the socket (pipelining).

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace imgvec::server {

struct ConnectionLimits {
  /// Connections served at once (each holds a pool thread, mostly waiting on its socket); more
  /// wait for one to end.
  std::size_t max_connections = 64;
  /// Connections at once from one address; beyond it a connection is closed at once.
  std::size_t max_per_address = 48;
  /// From a request's first byte to the end of its headers.
  std::chrono::milliseconds header_deadline{10'000};
  /// From a request's first byte to the end of its body (32 MB at 1 MB/s fits).
  std::chrono::milliseconds request_deadline{120'000};
  std::size_t max_header_bytes = 64 * 1024;
  std::size_t max_header_lines = 100;
};

class GuardedHttpServer : public httplib::Server {
 public:
  explicit GuardedHttpServer(ConnectionLimits limits = {});

  const ConnectionLimits& limits() const { return limits_; }

 private:
  bool process_and_close_socket(socket_t sock) override;
  bool admit(const std::string& address);
  void release(const std::string& address);

  ConnectionLimits limits_;
  std::mutex mutex_;
  std::map<std::string, std::size_t> per_address_;
};

}  // namespace imgvec::server
