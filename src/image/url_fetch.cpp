// Image URLs through libcurl: maintained, fuzzed upstream, and it knows TLS, proxies and
// redirects, none of which imgvec should write.
#include "imgvec/image/url_fetch.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>

#include "imgvec/error.hpp"
#include "image/address_policy.hpp"

#ifdef IMGVEC_HAS_CURL
#include <curl/curl.h>
#endif

namespace imgvec {
namespace {

[[noreturn]] void fail(ErrorCode code, const std::string& url, const std::string& what) {
  throw Error(code, url + ": " + what);
}

#ifdef IMGVEC_HAS_CURL

struct Download {
  std::vector<std::uint8_t> bytes;
  std::uint64_t max = 0;
  bool too_large = false;
  bool allow_private = false;
  std::string refused;  // the address a connection was refused, and why
};

// libcurl asks here for every socket it opens, with the address it will connect to: the place
// to judge the address actually used, after DNS and after each redirect.
curl_socket_t open_socket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* d = static_cast<Download*>(user);
  if (purpose == CURLSOCKTYPE_IPCXN && !d->allow_private) {
    const std::string kind = detail::non_public_kind(&address->addr);
    if (!kind.empty()) {
      d->refused = detail::address_text(&address->addr) + ", a " + kind + " address";
      return CURL_SOCKET_BAD;
    }
  }
  return ::socket(address->family, address->socktype, address->protocol);
}

std::size_t on_data(char* data, std::size_t size, std::size_t count, void* user) {
  auto* d = static_cast<Download*>(user);
  const std::size_t n = size * count;
  if (d->bytes.size() + n > d->max) {
    d->too_large = true;
    return 0;  // libcurl stops with CURLE_WRITE_ERROR
  }
  d->bytes.insert(d->bytes.end(), data, data + n);
  return n;
}

#endif

}  // namespace

std::string redact_url(const std::string& url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const std::size_t host = scheme + 3;
  const std::size_t end = std::min(url.find_first_of("/?#", host), url.size());
  const std::size_t at = url.rfind('@', end == 0 ? 0 : end - 1);
  if (at == std::string::npos || at < host) return url;
  return url.substr(0, host) + "***" + url.substr(at);
}

bool url_fetch_supported() {
#ifdef IMGVEC_HAS_CURL
  return true;
#else
  return false;
#endif
}

std::vector<std::uint8_t> fetch_url(const std::string& given, const UrlFetchOptions& options) {
  const std::string url = redact_url(given);  // what messages show; `given` is what is fetched
  std::string scheme = url.substr(0, std::min<std::size_t>(url.find("://"), 16));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  if (url.find("://") == std::string::npos || (scheme != "http" && scheme != "https")) {
    fail(ErrorCode::invalid_argument, url, "only http:// and https:// URLs are fetched");
  }
#ifdef IMGVEC_HAS_CURL
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  struct Handle {
    CURL* h = curl_easy_init();
    ~Handle() {
      if (h) curl_easy_cleanup(h);
    }
  } curl;
  if (!curl.h) fail(ErrorCode::io, url, "cannot start libcurl");
  Download download;
  download.max = options.max_bytes;
  download.allow_private = options.allow_private_addresses;
  char why[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(curl.h, CURLOPT_URL, given.c_str());
  curl_easy_setopt(curl.h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(curl.h, CURLOPT_OPENSOCKETDATA, &download);
  // "" turns proxies off, environment variables included.
  if (!options.use_environment_proxy) curl_easy_setopt(curl.h, CURLOPT_PROXY, "");
  curl_easy_setopt(curl.h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl.h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");  // no redirect to file:// or ftp://
  curl_easy_setopt(curl.h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl.h, CURLOPT_MAXREDIRS, static_cast<long>(options.max_redirects));
  curl_easy_setopt(curl.h, CURLOPT_TIMEOUT, static_cast<long>(options.timeout_s));
  curl_easy_setopt(curl.h, CURLOPT_CONNECTTIMEOUT, static_cast<long>(options.connect_timeout_s));
  curl_easy_setopt(curl.h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(curl.h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.stall_timeout_s));
  curl_easy_setopt(curl.h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_bytes));
  curl_easy_setopt(curl.h, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: safe in threads
  curl_easy_setopt(curl.h, CURLOPT_USERAGENT, "imgvec");
  curl_easy_setopt(curl.h, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl.h, CURLOPT_WRITEDATA, &download);
  curl_easy_setopt(curl.h, CURLOPT_ERRORBUFFER, why);
  const CURLcode rc = curl_easy_perform(curl.h);
  const std::string limit = std::to_string(options.max_bytes) + " bytes (UrlFetchOptions::max_bytes)";
  if (download.too_large || rc == CURLE_FILESIZE_EXCEEDED) fail(ErrorCode::too_large, url, "larger than " + limit);
  if (rc != CURLE_OK && !download.refused.empty()) {
    fail(ErrorCode::invalid_argument, url,
         "refused: it leads to " + download.refused +
             ", not the public internet (set UrlFetchOptions::allow_private_addresses, or give the CLI "
             "--allow-private-urls, to fetch from this machine or its network)");
  }
  // libcurl's own message repeats the URL, credentials and all: only its code's text is shown.
  const std::string detail = why[0] && given == url ? why : curl_easy_strerror(rc);
  if (rc == CURLE_OPERATION_TIMEDOUT) fail(ErrorCode::io, url, "timed out (" + detail + ")");
  if (rc == CURLE_TOO_MANY_REDIRECTS) fail(ErrorCode::io, url, "more than " + std::to_string(options.max_redirects) + " redirects");
  if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) fail(ErrorCode::invalid_argument, url, detail);
  if (rc != CURLE_OK) fail(ErrorCode::io, url, detail);
  long status = 0;
  curl_easy_getinfo(curl.h, CURLINFO_RESPONSE_CODE, &status);
  if (status == 404 || status == 410) fail(ErrorCode::not_found, url, "HTTP " + std::to_string(status) + " (no such file there)");
  if (status >= 400) fail(ErrorCode::io, url, "HTTP " + std::to_string(status));
  if (download.bytes.empty()) fail(ErrorCode::corrupt_file, url, "the server sent no bytes");
  return std::move(download.bytes);
#else
  (void)options;
  fail(ErrorCode::unsupported, url, "this build of imgvec has no libcurl, so it cannot fetch URLs");
#endif
}

}  // namespace imgvec
