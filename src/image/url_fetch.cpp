// Image URLs through libcurl: maintained, fuzzed upstream, and it knows TLS, proxies and
// redirects, none of which imgvec should write.
#include "imgvec/image/url_fetch.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>

#include "imgvec/error.hpp"

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
};

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

bool url_fetch_supported() {
#ifdef IMGVEC_HAS_CURL
  return true;
#else
  return false;
#endif
}

std::vector<std::uint8_t> fetch_url(const std::string& url, const UrlFetchOptions& options) {
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
  char why[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(curl.h, CURLOPT_URL, url.c_str());
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
  const std::string detail = why[0] ? why : curl_easy_strerror(rc);
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
