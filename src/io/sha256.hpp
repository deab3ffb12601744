#pragma once
// SHA-256 through OpenSSL's libcrypto (maintained, constant-time, hardware-accelerated), for names
// that must not collide even when someone tries: the files the database keeps for uploaded images.
// Their names were 64-bit XXH3 hashes, and a crafted collision replaced another upload's file.

#include <cstddef>
#include <string>

namespace imgvec::detail {

/// The SHA-256 of the bytes as 64 lowercase hex digits.
std::string sha256_hex(const void* data, std::size_t size);

}  // namespace imgvec::detail
