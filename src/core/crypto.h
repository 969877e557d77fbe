// Cryptographic helpers over libsodium: random bytes and tokens, SHA-256, constant-time
// comparison, and authenticated encryption of secrets at rest (XSalsa20-Poly1305 secretbox).
//
// Thread-safety: all functions are thread-safe once InitCrypto() has returned (it is idempotent and
// is called by every function here, so callers need not call it first).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"

namespace medsoc::core {

// Initializes libsodium. Aborts if the library cannot be initialized (no entropy source).
void InitCrypto();

void RandomBytes(void* out, std::size_t n);

// `n_bytes` random bytes encoded as URL-safe base64 without padding.
std::string RandomToken(std::size_t n_bytes = 32);

// Lowercase hex.
std::string HexEncode(std::string_view bytes);
Result<std::string> HexDecode(std::string_view hex);

std::string Base64UrlEncode(std::string_view bytes);
Result<std::string> Base64UrlDecode(std::string_view text);

// SHA-256 of `data`, as 32 raw bytes or 64 lowercase hex characters.
std::string Sha256(std::string_view data);
std::string Sha256Hex(std::string_view data);

// Constant-time comparison (length is not secret).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// A 32-byte key for SecretBox.
constexpr std::size_t kSecretKeyBytes = 32;

// Encrypts secrets (webhook tokens, SSH credentials) for storage. The output is
// "v1:" + base64url(nonce || ciphertext); Open() authenticates before returning the plaintext.
class SecretBox {
 public:
  // REQUIRES: key.size() == kSecretKeyBytes.
  explicit SecretBox(std::string key);
  ~SecretBox();
  SecretBox(const SecretBox&) = delete;
  SecretBox& operator=(const SecretBox&) = delete;

  std::string Seal(std::string_view plaintext) const;
  Result<std::string> Open(std::string_view sealed) const;

 private:
  std::string key_;
};

}  // namespace medsoc::core
