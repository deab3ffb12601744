#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

/// Limits on downloading an image from a URL.
struct UrlFetchOptions {
  /// Larger responses are refused: at once when the server declares the size, else as soon as
  /// this many bytes have arrived.
  std::uint64_t max_bytes = std::uint64_t{64} << 20;
  /// The whole transfer, redirects included.
  std::uint32_t timeout_s = 30;
  std::uint32_t connect_timeout_s = 10;
  /// A transfer slower than 1 kB/s for this long is abandoned (a server that trickles bytes).
  std::uint32_t stall_timeout_s = 10;
  /// Redirects followed, each to http or https only.
  int max_redirects = 5;
  /// Lets URLs lead to loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local
  /// (169.254/16: cloud metadata services; fe80::/10), multicast, unspecified and reserved
  /// addresses. Off: such a URL is refused, judged on the address each connection is about to
  /// use (after DNS, after every redirect), so that user-given URLs cannot reach the machine's
  /// own network. Turn it on for images on your own LAN.
  bool allow_private_addresses = false;
  /// Uses the http_proxy, https_proxy and no_proxy environment variables. Off: connections go
  /// direct, whatever the environment says. With a proxy the address check above applies to the
  /// proxy's address (the proxy then decides where the request goes).
  bool use_environment_proxy = false;
};

/// The URL with any user name and password replaced by "***" (`http://***@host/a.jpg`), for
/// messages and records: a credential in a URL is used to fetch it and never echoed or stored.
std::string redact_url(const std::string& url);

/// Downloads the bytes at an http:// or https:// URL through libcurl (TLS certificates checked).
/// The caller judges the bytes (decode_image), not the server's Content-Type. Throws
/// imgvec::Error naming the URL (redacted): invalid_argument (another scheme, a malformed URL, an
/// address that is not public unless allow_private_addresses), not_found
/// (HTTP 404 or 410), too_large (over max_bytes), io (no connection, a timeout, too many
/// redirects, another HTTP error), unsupported (a build without libcurl).
std::vector<std::uint8_t> fetch_url(const std::string& url, const UrlFetchOptions& options = {});

/// Whether this build can fetch URLs (it found libcurl when it was configured).
bool url_fetch_supported();

}  // namespace imgvec
IMGVEC_API_END
