#include "core/ids.h"

#include <array>
#include <cstdint>

#include "core/crypto.h"
#include "core/time.h"

namespace medsoc::core {
namespace {
constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
}

std::string NewId() {
  std::uint64_t ms = static_cast<std::uint64_t>(Now().millis());
  std::array<unsigned char, 16> raw{};
  for (int i = 5; i >= 0; --i) {
    raw[static_cast<size_t>(i)] = static_cast<unsigned char>(ms & 0xff);
    ms >>= 8;
  }
  RandomBytes(raw.data() + 6, 10);
  // 128 bits -> 26 base32 digits (the first digit carries the top 3 bits).
  std::string out(26, '0');
  unsigned __int128 v = 0;
  for (unsigned char b : raw) v = (v << 8) | b;
  for (int i = 25; i >= 0; --i) {
    out[static_cast<size_t>(i)] = kCrockford[static_cast<unsigned>(v & 31)];
    v >>= 5;
  }
  return out;
}

bool IsValidId(std::string_view id) {
  if (id.size() != 26) return false;
  for (char c : id) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U');
    if (!ok) return false;
  }
  return id[0] <= '7';
}

}  // namespace medsoc::core
