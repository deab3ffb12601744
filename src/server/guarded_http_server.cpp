#include "server/guarded_http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace imgvec::server {
namespace {

using Clock = std::chrono::steady_clock;

void address_of(socket_t sock, bool peer, std::string& ip, int& port) {
  sockaddr_storage a{};
  socklen_t n = sizeof a;
  ip.clear();
  port = 0;
  if ((peer ? ::getpeername(sock, reinterpret_cast<sockaddr*>(&a), &n) : ::getsockname(sock, reinterpret_cast<sockaddr*>(&a), &n)) != 0)
    return;
  char text[INET6_ADDRSTRLEN] = "";
  if (a.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    port = ntohs(v4->sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    port = ntohs(v6->sin6_port);
  }
  ip = text;
}

// One connection's socket as cpp-httplib's Stream, with a read buffer that outlives each request
// (pipelined bytes stay), a deadline per request, and header caps.
class GuardedStream : public httplib::Stream {
 public:
  GuardedStream(socket_t sock, const ConnectionLimits& limits, std::chrono::microseconds read_timeout,
                std::chrono::microseconds write_timeout, const std::atomic<socket_t>& listening)
      : sock_(sock), limits_(limits), read_timeout_(read_timeout), write_timeout_(write_timeout), listening_(listening) {}

  // A new request starts: its deadlines run from now, and its headers are counted afresh.
  void start_request() {
    const auto now = Clock::now();
    header_deadline_ = now + limits_.header_deadline;
    request_deadline_ = now + limits_.request_deadline;
    in_headers_ = true;
    header_bytes_ = header_lines_ = 0;
    tail_ = 0;
  }
  bool has_buffered() const { return begin_ < end_; }
  bool wait_readable(std::chrono::milliseconds timeout) const { return has_buffered() || poll_for(POLLIN, timeout); }

  bool is_readable() const override { return has_buffered() || poll_for(POLLIN, until_deadline(read_timeout_)); }
  bool is_writable() const override { return poll_for(POLLOUT, until_deadline(write_timeout_)); }

  ssize_t read(char* ptr, std::size_t size) override {
    if (!has_buffered()) {
      if (!poll_for(POLLIN, until_deadline(read_timeout_))) return -1;
      ssize_t n;
      do n = ::recv(sock_, buffer_, sizeof buffer_, 0);
      while (n < 0 && errno == EINTR);
      if (n <= 0) return n;
      begin_ = 0;
      end_ = static_cast<std::size_t>(n);
    }
    const std::size_t n = std::min(size, end_ - begin_);
    if (in_headers_ && !count_header_bytes(buffer_ + begin_, n)) return -1;
    std::memcpy(ptr, buffer_ + begin_, n);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, std::size_t size) override {
    if (!is_writable()) return -1;
    ssize_t n;
    do n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { address_of(sock_, true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address_of(sock_, false, ip, port); }
  socket_t socket() const override { return sock_; }

 private:
  // Whether the headers handed out so far stay within the caps, and the deadline; past the
  // blank line that ends them, the body is the request deadline's business.
  bool count_header_bytes(const char* p, std::size_t n) {
    for (std::size_t i = 0; i < n && in_headers_; ++i) {
      if (++header_bytes_ > limits_.max_header_bytes) return false;
      tail_ = (tail_ << 8) | static_cast<unsigned char>(p[i]);
      if (p[i] == '\n' && ++header_lines_ > limits_.max_header_lines + 1) return false;
      if ((tail_ & 0xffffffffu) == 0x0d0a0d0au || (tail_ & 0xffffu) == 0x0a0au) in_headers_ = false;
    }
    return true;
  }

  // The time a wait may take: `timeout`, cut short by this request's deadlines.
  std::chrono::milliseconds until_deadline(std::chrono::microseconds timeout) const {
    const auto deadline = in_headers_ ? std::min(header_deadline_, request_deadline_) : request_deadline_;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return std::max(std::chrono::milliseconds(0),
                    std::min(left, std::chrono::duration_cast<std::chrono::milliseconds>(timeout)));
  }

  // Waits in slices of 100 ms, so that a server told to stop (its listening socket closed)
  // leaves waiting connections at once rather than after their timeouts.
  bool poll_for(short events, std::chrono::milliseconds timeout) const {
    const auto until = Clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
      pollfd p{sock_, events, 0};
      const int r = ::poll(&p, 1, static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 100)));
      if (r > 0) return (p.revents & (events | POLLHUP | POLLERR)) != 0;
      if (r < 0 && errno != EINTR) return false;
      if (listening_.load() == INVALID_SOCKET || left.count() <= 0) return false;
    }
  }

  socket_t sock_;
  const ConnectionLimits& limits_;
  std::chrono::microseconds read_timeout_, write_timeout_;
  const std::atomic<socket_t>& listening_;
  Clock::time_point header_deadline_{}, request_deadline_{};
  bool in_headers_ = true;
  std::size_t header_bytes_ = 0, header_lines_ = 0;
  std::uint64_t tail_ = 0;
  char buffer_[16 * 1024];
  std::size_t begin_ = 0, end_ = 0;
};

}  // namespace

GuardedHttpServer::GuardedHttpServer(ConnectionLimits limits) : limits_(limits) {
  const std::size_t threads = limits_.max_connections;
  new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
}

bool GuardedHttpServer::admit(const std::string& address) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t& n = per_address_[address];
  if (n >= limits_.max_per_address) return false;
  ++n;
  return true;
}

void GuardedHttpServer::release(const std::string& address) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = per_address_.find(address);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

bool GuardedHttpServer::process_and_close_socket(socket_t sock) {
  std::string address;
  int port = 0;
  address_of(sock, true, address, port);
  bool ok = false;
  if (admit(address)) {
    GuardedStream stream(sock, limits_, std::chrono::seconds(read_timeout_sec_) + std::chrono::microseconds(read_timeout_usec_),
                         std::chrono::seconds(write_timeout_sec_) + std::chrono::microseconds(write_timeout_usec_), svr_sock_);
    for (std::size_t left = keep_alive_max_count_; left > 0 && svr_sock_ != INVALID_SOCKET; --left) {
      if (!stream.wait_readable(std::chrono::seconds(keep_alive_timeout_sec_))) break;
      stream.start_request();
      bool closed = false;
      ok = process_request(stream, left == 1, closed, nullptr);
      if (!ok || closed) break;
    }
    release(address);
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

}  // namespace imgvec::server
