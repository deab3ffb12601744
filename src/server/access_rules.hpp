#pragma once
// Who may call imgvec serve. A server on loopback is reachable by every web page the user visits:
// a page on another site can post a form or a text/plain body (no preflight), and a site whose
// name resolves to 127.0.0.1 after the page loaded (DNS rebinding) becomes same-origin with the
// server. So every request is judged on three headers before any route runs:
// - Host must name this server (its bound address, loopback names, or --allowed-host names): a
//   rebound name arrives with the attacker's Host;
// - Origin, when a browser sends one, must be this server's own or one that --cors names;
// - Sec-Fetch-Site (sent by current browsers on every request, images included) must not say
//   another site, unless --cors opened the API to other sites.
// Writes then need a key in a header (the user's --api-key, or a token made at each start and
// given to the server's own page), which no form or simple request from another site can send.

#include <string>
#include <string_view>
#include <vector>

namespace imgvec::server {

struct AccessRules {
  /// The address the server listens on (--host).
  std::string bound_host;
  /// More Host names the server answers to (--allowed-host); "*" turns the check off.
  std::vector<std::string> allowed_hosts;
  /// Web origins (scheme://host[:port]) whose pages may call the API (--cors); "*" lets any.
  std::vector<std::string> cors_origins;
};

/// The host of a Host header value, lowercase, without its port and without IPv6 brackets; empty
/// when the value is malformed.
std::string host_of_header(std::string_view host_header);

/// Whether a request with this Host header is addressed to this server.
bool host_allowed(const AccessRules& rules, std::string_view host_header);

enum class OriginVerdict {
  absent,        ///< no Origin header (curl, scripts, same-origin GETs)
  same_origin,   ///< the server's own page
  cors_allowed,  ///< an origin --cors names (answers carry CORS headers for it)
  refused,       ///< another site
};

/// Judges an Origin header against the request's Host and the CORS list.
OriginVerdict judge_origin(const AccessRules& rules, std::string_view origin,
                           std::string_view host_header);

/// Whether a request whose Sec-Fetch-Site/-Mode headers are these may reach the API: requests
/// from another site (images, scripts, frames, fetches) are refused unless --cors opened the API;
/// a top-level navigation (the user followed a link) is allowed.
bool fetch_site_allowed(const AccessRules& rules, std::string_view sec_fetch_site,
                        std::string_view sec_fetch_mode);

/// A new random token (32 hex digits from the system's random source) for writes on a server
/// started without an API key.
std::string make_write_token();

}  // namespace imgvec::server
