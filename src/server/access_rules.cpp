#include "server/access_rules.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <random>

namespace imgvec::server {
namespace {

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_ip_literal(const std::string& host) {
  in_addr a4{};
  in6_addr a6{};
  return ::inet_pton(AF_INET, host.c_str(), &a4) == 1 || ::inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

bool listed(const std::vector<std::string>& list, std::string_view value) {
  const std::string v = lowercase(value);
  return std::any_of(list.begin(), list.end(), [&](const std::string& e) { return lowercase(e) == v; });
}

// "scheme://authority" of an Origin header, the authority lowercased and without the scheme's
// default port; empty for anything else ("null", paths, userinfo).
std::string origin_authority(std::string_view origin) {
  const std::string o = lowercase(origin);
  std::string_view rest;
  std::string_view default_port;
  if (o.rfind("http://", 0) == 0) {
    rest = std::string_view(o).substr(7);
    default_port = ":80";
  } else if (o.rfind("https://", 0) == 0) {
    rest = std::string_view(o).substr(8);
    default_port = ":443";
  } else {
    return {};
  }
  if (rest.empty() || rest.find_first_of("/@?# ") != std::string_view::npos) return {};
  if (rest.size() > default_port.size() &&
      rest.substr(rest.size() - default_port.size()) == default_port) {
    rest.remove_suffix(default_port.size());
  }
  return std::string(rest);
}

}  // namespace

std::string host_of_header(std::string_view h) {
  if (h.empty() || h.size() > 255) return {};
  std::string host;
  if (h.front() == '[') {
    const std::size_t close = h.find(']');
    if (close == std::string_view::npos) return {};
    host = std::string(h.substr(1, close - 1));
    const std::string_view after = h.substr(close + 1);
    if (!after.empty() && (after.front() != ':' ||
                           after.substr(1).find_first_not_of("0123456789") != std::string_view::npos))
      return {};
    if (!is_ip_literal(host)) return {};
  } else {
    const std::size_t colon = h.find(':');
    host = std::string(h.substr(0, colon));
    if (colon != std::string_view::npos &&
        h.substr(colon + 1).find_first_not_of("0123456789") != std::string_view::npos)
      return {};
  }
  if (host.empty()) return {};
  for (const char c : host) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                    c == '_' || c == ':';
    if (!ok) return {};
  }
  return lowercase(host);
}

// An IP literal is always accepted: it cannot be rebound, since the browser connects to exactly
// that address, and a page can only be same-origin with it if this server served the page.
bool host_allowed(const AccessRules& rules, std::string_view host_header) {
  if (listed(rules.allowed_hosts, "*")) return true;
  const std::string host = host_of_header(host_header);
  if (host.empty()) return false;
  if (host == "localhost" || is_ip_literal(host)) return true;
  if (host == lowercase(rules.bound_host)) return true;
  return listed(rules.allowed_hosts, host);
}

OriginVerdict judge_origin(const AccessRules& rules, std::string_view origin,
                           std::string_view host_header) {
  if (origin.empty()) return OriginVerdict::absent;
  if (listed(rules.cors_origins, "*") || listed(rules.cors_origins, origin))
    return OriginVerdict::cors_allowed;
  const std::string authority = origin_authority(origin);
  if (!authority.empty()) {
    std::string host = lowercase(host_header);
    if (host.size() > 3 && host.substr(host.size() - 3) == ":80") host.resize(host.size() - 3);
    if (authority == host) return OriginVerdict::same_origin;
  }
  return OriginVerdict::refused;
}

bool fetch_site_allowed(const AccessRules& rules, std::string_view site, std::string_view mode) {
  if (site.empty() || site == "same-origin" || site == "none") return true;
  if (!rules.cors_origins.empty()) return true;
  return mode == "navigate";
}

std::string make_write_token() {
  std::random_device source;  // the kernel's getrandom(2) on Linux
  static const char digits[] = "0123456789abcdef";
  std::string token;
  for (int i = 0; i < 4; ++i) {
    std::uint32_t word = source();
    for (int j = 0; j < 8; ++j, word >>= 4) token += digits[word & 0xF];
  }
  return token;
}

}  // namespace imgvec::server
