#pragma once

#include <cstdint>
#include <string>
#include <vector>

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
};

/// Downloads the bytes at an http:// or https:// URL through libcurl (TLS certificates checked).
/// The caller judges the bytes (decode_image), not the server's Content-Type. Throws
/// imgvec::Error naming the URL: invalid_argument (another scheme, a malformed URL), not_found
/// (HTTP 404 or 410), too_large (over max_bytes), io (no connection, a timeout, too many
/// redirects, another HTTP error), unsupported (a build without libcurl).
std::vector<std::uint8_t> fetch_url(const std::string& url, const UrlFetchOptions& options = {});

/// Whether this build can fetch URLs (it found libcurl when it was configured).
bool url_fetch_supported();

}  // namespace imgvec
