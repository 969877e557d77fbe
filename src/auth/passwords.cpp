#include "auth/passwords.h"

#include <sodium.h>

#include "core/crypto.h"

namespace medsoc::auth {
namespace {

struct Limits {
  unsigned long long ops;
  size_t mem;
};

Result<Limits> LimitsFor(std::string_view strength) {
  if (strength == "interactive")
    return Limits{crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
  if (strength == "moderate") return Limits{crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
  if (strength == "sensitive") return Limits{crypto_pwhash_OPSLIMIT_SENSITIVE, crypto_pwhash_MEMLIMIT_SENSITIVE};
  return Error(ErrorCode::kInvalidArgument, "unknown argon2 strength '" + std::string(strength) + "'");
}

}  // namespace

Result<std::string> HashPassword(std::string_view password, std::string_view strength) {
  core::InitCrypto();
  MEDSOC_ASSIGN_OR_RETURN(Limits limits, LimitsFor(strength));
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), limits.ops, limits.mem,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    return Error(ErrorCode::kResourceExhausted, "argon2id hashing ran out of memory");
  return std::string(out);
}

bool VerifyPassword(std::string_view hash, std::string_view password) {
  core::InitCrypto();
  std::string h(hash);  // libsodium needs a NUL-terminated string
  if (h.empty() || h.size() >= crypto_pwhash_STRBYTES) return false;
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

int CodePointCount(std::string_view s) {
  int n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

Status CheckPasswordPolicy(std::string_view password, std::string_view username, const PasswordPolicyOptions& policy) {
  std::vector<std::string> broken;
  if (CodePointCount(password) < policy.min_length)
    broken.push_back("密码长度至少 " + std::to_string(policy.min_length) + " 个字符 (at least " +
                     std::to_string(policy.min_length) + " characters)");
  bool lower = false, upper = false, digit = false, other = false;
  for (unsigned char c : password) {
    if (c >= 'a' && c <= 'z') lower = true;
    else if (c >= 'A' && c <= 'Z') upper = true;
    else if (c >= '0' && c <= '9') digit = true;
    else other = true;
  }
  int classes = lower + upper + digit + other;
  if (classes < policy.min_classes)
    broken.push_back("需包含小写字母、大写字母、数字、符号中的至少 " + std::to_string(policy.min_classes) +
                     " 类 (at least " + std::to_string(policy.min_classes) +
                     " of lowercase, uppercase, digits, symbols)");
  if (!username.empty() && password == username) broken.push_back("密码不能与用户名相同 (must differ from the username)");
  if (password.find('\0') != std::string_view::npos) broken.push_back("密码不能包含空字符 (must not contain NUL)");
  if (broken.empty()) return Ok();
  std::string msg = "password policy: ";
  for (size_t i = 0; i < broken.size(); ++i) msg += (i ? "; " : "") + broken[i];
  return Error(ErrorCode::kInvalidArgument, msg);
}

std::string GenerateRandomPassword(int length) {
  static constexpr std::string_view kLower = "abcdefghijkmnopqrstuvwxyz";
  static constexpr std::string_view kUpper = "ABCDEFGHJKLMNPQRSTUVWXYZ";
  static constexpr std::string_view kDigit = "23456789";
  static constexpr std::string_view kSymbol = "-_.!@#%+=";
  static constexpr std::string_view kSets[] = {kLower, kUpper, kDigit, kSymbol};
  if (length < 8) length = 8;
  core::InitCrypto();
  std::string out;
  // One of each class first, then the rest from all classes, then shuffle.
  for (auto set : kSets) out += set[randombytes_uniform(static_cast<uint32_t>(set.size()))];
  std::string all;
  for (auto set : kSets) all += set;
  while (static_cast<int>(out.size()) < length) out += all[randombytes_uniform(static_cast<uint32_t>(all.size()))];
  for (size_t i = out.size() - 1; i > 0; --i) std::swap(out[i], out[randombytes_uniform(static_cast<uint32_t>(i + 1))]);
  return out;
}

}  // namespace medsoc::auth
