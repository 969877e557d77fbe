#include "core/crypto.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace medsoc::core {

void InitCrypto() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) {
      std::fprintf(stderr, "medsoc: libsodium failed to initialize\n");
      std::abort();
    }
  });
}

void RandomBytes(void* out, std::size_t n) {
  InitCrypto();
  randombytes_buf(out, n);
}

std::string RandomToken(std::size_t n_bytes) {
  std::string raw(n_bytes, '\0');
  RandomBytes(raw.data(), raw.size());
  return Base64UrlEncode(raw);
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

Result<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return Error(ErrorCode::kParse, "hex string has odd length");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return Error(ErrorCode::kParse, "invalid hex digit at offset " + std::to_string(i));
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

std::string Base64UrlEncode(std::string_view bytes) {
  InitCrypto();
  const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    variant);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

Result<std::string> Base64UrlDecode(std::string_view text) {
  InitCrypto();
  std::string out(text.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &len, nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
    return Error(ErrorCode::kParse, "invalid base64url text");
  out.resize(len);
  return out;
}

std::string Sha256(std::string_view data) {
  InitCrypto();
  std::string out(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(data.data()),
                     data.size());
  return out;
}

std::string Sha256Hex(std::string_view data) { return HexEncode(Sha256(data)); }

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  InitCrypto();
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

SecretBox::SecretBox(std::string key) : key_(std::move(key)) {
  MEDSOC_ASSERT(key_.size() == kSecretKeyBytes);
  static_assert(kSecretKeyBytes == crypto_secretbox_KEYBYTES);
  InitCrypto();
}

SecretBox::~SecretBox() { sodium_memzero(key_.data(), key_.size()); }

std::string SecretBox::Seal(std::string_view plaintext) const {
  std::string buf(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plaintext.size(), '\0');
  auto* p = reinterpret_cast<unsigned char*>(buf.data());
  randombytes_buf(p, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(p + crypto_secretbox_NONCEBYTES, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        plaintext.size(), p, reinterpret_cast<const unsigned char*>(key_.data()));
  return "v1:" + Base64UrlEncode(buf);
}

Result<std::string> SecretBox::Open(std::string_view sealed) const {
  if (sealed.substr(0, 3) != "v1:") return Error(ErrorCode::kCorruption, "sealed secret has an unknown version");
  auto decoded = Base64UrlDecode(sealed.substr(3));
  if (!decoded.ok()) return Error(ErrorCode::kCorruption, "sealed secret is not valid base64url");
  std::string buf = std::move(decoded).value();
  if (buf.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
    return Error(ErrorCode::kCorruption, "sealed secret is truncated");
  const auto* p = reinterpret_cast<const unsigned char*>(buf.data());
  std::string out(buf.size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(out.data()), p + crypto_secretbox_NONCEBYTES,
                                 buf.size() - crypto_secretbox_NONCEBYTES, p,
                                 reinterpret_cast<const unsigned char*>(key_.data())) != 0)
    return Error(ErrorCode::kCorruption, "sealed secret failed authentication (wrong key or altered data)");
  return out;
}

}  // namespace medsoc::core
