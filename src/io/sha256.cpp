#include "io/sha256.hpp"

#include <openssl/evp.h>

#include "imgvec/error.hpp"

namespace imgvec::detail {

std::string sha256_hex(const void* data, std::size_t size) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data, size, digest, &length, EVP_sha256(), nullptr) != 1 || length != 32)
    throw Error(ErrorCode::io, "SHA-256 failed in libcrypto");
  static const char* kHex = "0123456789abcdef";
  std::string out(64, '0');
  for (unsigned int i = 0; i < 32; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 15];
  }
  return out;
}

}  // namespace imgvec::detail
