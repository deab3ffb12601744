#include "image/address_policy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>

namespace imgvec::detail {
namespace {

bool in_v4(std::uint32_t a, const char* net, int bits) {
  in_addr n{};
  ::inet_pton(AF_INET, net, &n);
  const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
  return (a & mask) == (ntohl(n.s_addr) & mask);
}

// IANA's special-purpose IPv4 registry (RFC 6890 and after), the blocks that are not the internet.
std::string v4_kind(std::uint32_t a) {
  if (in_v4(a, "0.0.0.0", 8)) return "unspecified";
  if (in_v4(a, "127.0.0.0", 8)) return "loopback";
  if (in_v4(a, "10.0.0.0", 8) || in_v4(a, "172.16.0.0", 12) || in_v4(a, "192.168.0.0", 16)) return "private";
  if (in_v4(a, "169.254.0.0", 16)) return "link-local";
  if (in_v4(a, "100.64.0.0", 10)) return "shared address space";
  if (in_v4(a, "192.0.0.0", 24) || in_v4(a, "198.18.0.0", 15) || in_v4(a, "240.0.0.0", 4)) return "reserved";
  if (in_v4(a, "192.0.2.0", 24) || in_v4(a, "198.51.100.0", 24) || in_v4(a, "203.0.113.0", 24)) return "documentation";
  if (in_v4(a, "224.0.0.0", 4)) return "multicast";
  return "";
}

std::uint32_t v4_at(const std::uint8_t* b) {
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
}

std::string v6_kind(const std::uint8_t* b) {
  static const std::uint8_t zero[16] = {};
  if (std::memcmp(b, zero, 16) == 0) return "unspecified";
  if (std::memcmp(b, zero, 15) == 0 && b[15] == 1) return "loopback";
  // IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::a.b.c.d: the IPv4 inside.
  static const std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static const std::uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(b, mapped, 12) == 0 || std::memcmp(b, zero, 12) == 0 || std::memcmp(b, nat64, 12) == 0)
    return v4_kind(v4_at(b + 12));
  if (b[0] == 0x20 && b[1] == 0x02) return v4_kind(v4_at(b + 2));  // 6to4 2002:a.b.c.d::/48
  if (b[0] == 0xff) return "multicast";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "private";  // site-local, deprecated
  if ((b[0] & 0xfe) == 0xfc) return "private";                   // unique local fc00::/7
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return "documentation";
  if (b[0] == 0x01 && std::memcmp(b + 1, zero, 7) == 0) return "reserved";  // discard-only 100::/64
  return "";
}

}  // namespace

std::string non_public_kind(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    return v4_kind(ntohl(v4->sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    return v6_kind(v6->sin6_addr.s6_addr);
  }
  return "not IP";
}

std::string address_text(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (address->sa_family == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, text, sizeof text);
  else if (address->sa_family == AF_INET6)
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, text, sizeof text);
  return text;
}

}  // namespace imgvec::detail
