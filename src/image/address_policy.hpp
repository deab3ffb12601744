#pragma once
// Which network addresses an image URL may lead to. A library that fetches URLs its users pass on
// (an upload page's "add from URL", a search by an image's address) must not become a way into
// the machine's own network: loopback services, the LAN, a cloud's metadata service at
// 169.254.169.254 (server-side request forgery). The check runs on the address libcurl is about
// to connect to, after DNS and after every redirect, so neither a name that resolves inward nor
// a redirect gets past it.

#include <sys/socket.h>

#include <string>

namespace imgvec::detail {

/// Why `address` (IPv4 or IPv6) is not on the public internet: "loopback", "private",
/// "link-local", "multicast", "unspecified", "shared address space", "reserved" or
/// "documentation"; empty when it is public. IPv4 inside IPv6 (mapped, NAT64, 6to4) is judged as
/// the IPv4 address it carries. Other families are "not IP".
std::string non_public_kind(const sockaddr* address);

/// The address as text ("127.0.0.1", "::1").
std::string address_text(const sockaddr* address);

}  // namespace imgvec::detail
