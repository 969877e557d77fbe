// Password hashing (argon2id through libsodium's crypto_pwhash_str) and the password policy
// (length, character classes, history, maximum age).
//
// Thread-safety: pure functions. Hashing is deliberately slow and memory-hard (see
// AuthOptions::argon2_strength); do not call it while holding a lock others wait on.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/options.h"
#include "core/result.h"

namespace medsoc::auth {

// argon2id hash in the PHC string format ("$argon2id$v=19$m=...,t=...,p=1$salt$hash").
// `strength` is interactive, moderate or sensitive (libsodium's opslimit/memlimit pairs).
Result<std::string> HashPassword(std::string_view password, std::string_view strength);

// True when `password` matches `hash`. Runs in time independent of where a mismatch occurs.
bool VerifyPassword(std::string_view hash, std::string_view password);

// Checks the policy's length and class rules and that the password is not the username.
// The error message lists every rule broken (in Chinese and English), e.g. for the API's 400.
Status CheckPasswordPolicy(std::string_view password, std::string_view username, const PasswordPolicyOptions& policy);

// A random password of `length` characters that satisfies any policy with min_classes <= 4
// (used for the first administrator). Avoids look-alike characters (0/O, 1/l/I).
std::string GenerateRandomPassword(int length = 20);

// Number of Unicode code points in UTF-8 text (invalid bytes count one each).
int CodePointCount(std::string_view utf8);

}  // namespace medsoc::auth
