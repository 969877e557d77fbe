#include "event/value.h"

#include "core/strings.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/assert.h"

namespace medsoc::event {
namespace {

constexpr std::uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// Parses a dotted quad into out[0..3]. Strict: four parts, 1-3 digits, 0-255, no leading zeros.
bool ParseV4(std::string_view s, std::uint8_t* out) {
  std::size_t pos = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (pos >= s.size() || s[pos] != '.') return false;
      ++pos;
    }
    std::size_t start = pos;
    unsigned v = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && pos - start < 3) v = v * 10 + (s[pos++] - '0');
    const std::size_t digits = pos - start;
    if (digits == 0 || v > 255 || (digits > 1 && s[start] == '0')) return false;
    out[part] = static_cast<std::uint8_t>(v);
  }
  return pos == s.size();
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ParseV6(std::string_view s, std::uint8_t* out) {
  std::uint16_t groups[8] = {};
  int n = 0;         // groups written
  int gap = -1;      // index in groups where "::" stands
  std::size_t pos = 0;
  if (s.size() < 2) return false;
  if (s[0] == ':') {
    if (s[1] != ':') return false;  // a single leading ':' is invalid
    gap = 0;
    pos = 2;
    if (pos == s.size()) {
      std::memset(out, 0, 16);
      return true;
    }
  }
  while (pos < s.size()) {
    if (n == 8) return false;
    // A trailing dotted quad takes the last two groups.
    std::size_t end = s.find(':', pos);
    std::string_view part = s.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (end == std::string_view::npos && part.find('.') != std::string_view::npos) {
      if (n > 6) return false;
      std::uint8_t q[4];
      if (!ParseV4(part, q)) return false;
      groups[n++] = static_cast<std::uint16_t>(q[0] << 8 | q[1]);
      groups[n++] = static_cast<std::uint16_t>(q[2] << 8 | q[3]);
      pos = s.size();
      break;
    }
    if (part.empty() || part.size() > 4) return false;
    unsigned v = 0;
    for (char c : part) {
      int h = HexDigit(c);
      if (h < 0) return false;
      v = v << 4 | static_cast<unsigned>(h);
    }
    groups[n++] = static_cast<std::uint16_t>(v);
    pos += part.size();
    if (pos == s.size()) break;
    // pos is at ':'
    ++pos;
    if (pos < s.size() && s[pos] == ':') {
      if (gap >= 0) return false;  // a second "::"
      gap = n;
      ++pos;
    } else if (pos == s.size()) {
      return false;  // trailing single ':'
    }
  }
  if (gap < 0) {
    if (n != 8) return false;
  } else {
    if (n > 7) return false;  // "::" must stand for at least one group
    const int tail = n - gap;
    for (int i = 0; i < tail; ++i) groups[7 - i] = groups[n - 1 - i];
    for (int i = gap; i < 8 - tail; ++i) groups[i] = 0;
  }
  for (int i = 0; i < 8; ++i) {
    out[2 * i] = static_cast<std::uint8_t>(groups[i] >> 8);
    out[2 * i + 1] = static_cast<std::uint8_t>(groups[i]);
  }
  return true;
}

std::size_t FormatV4(const std::uint8_t* q, char* out) {
  char* p = out;
  for (int i = 0; i < 4; ++i) {
    if (i) *p++ = '.';
    p = std::to_chars(p, p + 3, static_cast<unsigned>(q[i])).ptr;
  }
  return static_cast<std::size_t>(p - out);
}

std::optional<std::int64_t> ParseInt(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool neg = false;
  std::size_t pos = 0;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    pos = 1;
  }
  int base = 10;
  if (s.size() - pos > 2 && s[pos] == '0' && (s[pos + 1] == 'x' || s[pos + 1] == 'X')) {
    base = 16;
    pos += 2;
  }
  if (pos == s.size()) return std::nullopt;
  std::uint64_t mag = 0;
  auto [ptr, ec] = std::from_chars(s.data() + pos, s.data() + s.size(), mag, base);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  constexpr std::uint64_t kMaxPos = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (neg) {
    if (mag > kMaxPos + 1) return std::nullopt;
    return mag == kMaxPos + 1 ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(mag);
  }
  if (mag > kMaxPos) return std::nullopt;
  return static_cast<std::int64_t>(mag);
}

std::optional<double> ParseFloat(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::size_t pos = s[0] == '+' ? 1 : 0;  // from_chars rejects a leading '+'
  if (pos == s.size()) return std::nullopt;
  double d = 0;
  auto [ptr, ec] = std::from_chars(s.data() + pos, s.data() + s.size(), d, std::chars_format::general);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

using core::EqualsIgnoreCase;

// Exact ordering of an int64 against a double.
std::partial_ordering CompareIntDouble(std::int64_t i, double d) {
  if (std::isnan(d)) return std::partial_ordering::unordered;
  // 2^63 as a double is exact; any double >= it is above every int64, any < -2^63 below.
  if (d >= 9223372036854775808.0) return std::partial_ordering::less;
  if (d < -9223372036854775808.0) return std::partial_ordering::greater;
  const double t = std::trunc(d);
  const auto ti = static_cast<std::int64_t>(t);
  if (i != ti) return i < ti ? std::partial_ordering::less : std::partial_ordering::greater;
  if (d == t) return std::partial_ordering::equivalent;
  return d > t ? std::partial_ordering::less : std::partial_ordering::greater;
}

std::partial_ordering Flip(std::partial_ordering o) {
  if (o == std::partial_ordering::less) return std::partial_ordering::greater;
  if (o == std::partial_ordering::greater) return std::partial_ordering::less;
  return o;
}

std::partial_ordering CompareNumbers(const Value& a, const Value& b) {
  if (a.kind() == ValueKind::kInt && b.kind() == ValueKind::kInt) return a.int_value() <=> b.int_value();
  if (a.kind() == ValueKind::kFloat && b.kind() == ValueKind::kFloat) return a.float_value() <=> b.float_value();
  if (a.kind() == ValueKind::kInt) return CompareIntDouble(a.int_value(), b.float_value());
  return Flip(CompareIntDouble(b.int_value(), a.float_value()));
}

// `s` is a string value, `other` is not: convert s to other's kind.
std::partial_ordering CompareStringTo(std::string_view s, const Value& other) {
  const Value sv = Value::String(s);
  switch (other.kind()) {
    case ValueKind::kInt:
    case ValueKind::kFloat:
      if (auto i = sv.AsInt()) return CompareNumbers(Value::Int(*i), other);
      if (auto d = sv.AsFloat()) return CompareNumbers(Value::Float(*d), other);
      return std::partial_ordering::unordered;
    case ValueKind::kBool:
      if (auto b = sv.AsBool()) return *b <=> other.bool_value();
      return std::partial_ordering::unordered;
    case ValueKind::kIp:
      if (auto ip = sv.AsIp()) return ip->bytes() <=> other.ip().bytes();
      return std::partial_ordering::unordered;
    case ValueKind::kTime:
      if (auto t = sv.AsTime()) return *t <=> other.time();
      return std::partial_ordering::unordered;
    default:
      return std::partial_ordering::unordered;
  }
}

}  // namespace

// ---- IpAddress --------------------------------------------------------------------------------

IpAddress IpAddress::V4(std::uint32_t host_order) {
  IpAddress a;
  std::memcpy(a.b_.data(), kMappedPrefix, 12);
  a.b_[12] = static_cast<std::uint8_t>(host_order >> 24);
  a.b_[13] = static_cast<std::uint8_t>(host_order >> 16);
  a.b_[14] = static_cast<std::uint8_t>(host_order >> 8);
  a.b_[15] = static_cast<std::uint8_t>(host_order);
  a.v4_ = true;
  return a;
}

IpAddress IpAddress::V6(const std::array<std::uint8_t, 16>& bytes) {
  IpAddress a;
  a.b_ = bytes;
  return a;
}

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  IpAddress a;
  if (text.find(':') == std::string_view::npos) {
    std::memcpy(a.b_.data(), kMappedPrefix, 12);
    if (!ParseV4(text, a.b_.data() + 12)) return std::nullopt;
    a.v4_ = true;
    return a;
  }
  if (!ParseV6(text, a.b_.data())) return std::nullopt;
  return a;
}

bool IpAddress::IsV4Mapped() const { return std::memcmp(b_.data(), kMappedPrefix, 12) == 0; }

std::uint32_t IpAddress::v4() const {
  MEDSOC_ASSERT(IsV4Mapped());
  return static_cast<std::uint32_t>(b_[12]) << 24 | static_cast<std::uint32_t>(b_[13]) << 16 |
         static_cast<std::uint32_t>(b_[14]) << 8 | b_[15];
}

IpAddress IpAddress::Unmapped() const {
  if (v4_ || !IsV4Mapped()) return *this;
  IpAddress a = *this;
  a.v4_ = true;
  return a;
}

std::size_t IpAddress::Format(char* out) const {
  if (v4_) return FormatV4(b_.data() + 12, out);
  std::uint16_t g[8];
  for (int i = 0; i < 8; ++i) g[i] = static_cast<std::uint16_t>(b_[2 * i] << 8 | b_[2 * i + 1]);
  char* p = out;
  if (IsV4Mapped()) {  // RFC 5952 section 5: ::ffff:a.b.c.d
    std::memcpy(p, "::ffff:", 7);
    p += 7;
    return static_cast<std::size_t>(p - out) + FormatV4(b_.data() + 12, p);
  }
  // The longest run of zero groups, at least two long, first one on a tie (RFC 5952 4.2).
  int best = -1, best_len = 1;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      *p++ = ':';
      *p++ = ':';
      i += best_len - 1;
      continue;
    }
    if (i > 0 && i != best + best_len) *p++ = ':';
    p = std::to_chars(p, p + 4, static_cast<unsigned>(g[i]), 16).ptr;
  }
  return static_cast<std::size_t>(p - out);
}

std::string IpAddress::ToString() const {
  char buf[kMaxTextLength];
  return std::string(buf, Format(buf));
}

bool IpAddress::InNetwork(const IpAddress& network, int prefix_len) const {
  int bits = prefix_len;
  if (network.v4_) {
    if (!IsV4Mapped() || prefix_len < 0 || prefix_len > 32) return false;
    bits += 96;
  } else if (prefix_len < 0 || prefix_len > 128) {
    return false;
  }
  int full = bits / 8;
  if (std::memcmp(b_.data(), network.b_.data(), static_cast<std::size_t>(full)) != 0) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  const std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (b_[full] & mask) == (network.b_[full] & mask);
}

// ---- Value ------------------------------------------------------------------------------------

std::string_view ValueKindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::kNull: return "null";
    case ValueKind::kString: return "string";
    case ValueKind::kInt: return "int";
    case ValueKind::kFloat: return "float";
    case ValueKind::kBool: return "bool";
    case ValueKind::kIp: return "ip";
    case ValueKind::kTime: return "time";
  }
  return "?";
}

Value Value::String(std::string_view s) {
  Value v;
  v.kind_ = ValueKind::kString;
  v.u_.s.p = s.data();
  v.u_.s.n = s.size();
  return v;
}
Value Value::Int(std::int64_t i) {
  Value v;
  v.kind_ = ValueKind::kInt;
  v.u_.i = i;
  return v;
}
Value Value::Float(double d) {
  Value v;
  v.kind_ = ValueKind::kFloat;
  v.u_.d = d;
  return v;
}
Value Value::Bool(bool b) {
  Value v;
  v.kind_ = ValueKind::kBool;
  v.u_.i = 0;
  v.u_.b = b;
  return v;
}
Value Value::Ip(const IpAddress& ip) {
  Value v;
  v.kind_ = ValueKind::kIp;
  std::memcpy(v.u_.ip, ip.b_.data(), 16);
  v.ip_v4_ = ip.v4_;
  return v;
}
Value Value::Time(core::Timestamp t) {
  Value v;
  v.kind_ = ValueKind::kTime;
  v.u_.i = t.ns;
  return v;
}

std::string_view Value::str() const {
  MEDSOC_ASSERT(kind_ == ValueKind::kString);
  return {u_.s.p, u_.s.n};
}
std::int64_t Value::int_value() const {
  MEDSOC_ASSERT(kind_ == ValueKind::kInt);
  return u_.i;
}
double Value::float_value() const {
  MEDSOC_ASSERT(kind_ == ValueKind::kFloat);
  return u_.d;
}
bool Value::bool_value() const {
  MEDSOC_ASSERT(kind_ == ValueKind::kBool);
  return u_.b;
}
IpAddress Value::ip() const {
  MEDSOC_ASSERT(kind_ == ValueKind::kIp);
  IpAddress a;
  std::memcpy(a.b_.data(), u_.ip, 16);
  a.v4_ = ip_v4_;
  return a;
}
core::Timestamp Value::time() const {
  MEDSOC_ASSERT(kind_ == ValueKind::kTime);
  return {u_.i};
}

std::optional<std::int64_t> Value::AsInt() const {
  switch (kind_) {
    case ValueKind::kInt: return u_.i;
    case ValueKind::kFloat:
      if (std::trunc(u_.d) == u_.d && u_.d >= -9223372036854775808.0 && u_.d < 9223372036854775808.0)
        return static_cast<std::int64_t>(u_.d);
      return std::nullopt;
    case ValueKind::kString: return ParseInt(str());
    default: return std::nullopt;
  }
}

std::optional<double> Value::AsFloat() const {
  switch (kind_) {
    case ValueKind::kInt: return static_cast<double>(u_.i);
    case ValueKind::kFloat: return u_.d;
    case ValueKind::kString:
      if (auto d = ParseFloat(str())) return d;
      if (auto i = ParseInt(str())) return static_cast<double>(*i);  // "0x1f"
      return std::nullopt;
    default: return std::nullopt;
  }
}

std::optional<bool> Value::AsBool() const {
  if (kind_ == ValueKind::kBool) return u_.b;
  if (kind_ == ValueKind::kString) {
    if (EqualsIgnoreCase(str(), "true")) return true;
    if (EqualsIgnoreCase(str(), "false")) return false;
  }
  return std::nullopt;
}

std::optional<IpAddress> Value::AsIp() const {
  if (kind_ == ValueKind::kIp) return ip();
  if (kind_ == ValueKind::kString) return IpAddress::Parse(str());
  return std::nullopt;
}

std::optional<core::Timestamp> Value::AsTime() const {
  if (kind_ == ValueKind::kTime) return time();
  if (kind_ == ValueKind::kString) {
    auto r = core::ParseRfc3339(str());
    if (r.ok()) return *r;
  }
  return std::nullopt;
}

std::string_view Value::AsText(TextBuffer& buf) const {
  char* b = buf.data;
  switch (kind_) {
    case ValueKind::kNull: return {};
    case ValueKind::kString: return str();
    case ValueKind::kInt: return {b, static_cast<std::size_t>(std::to_chars(b, b + sizeof buf.data, u_.i).ptr - b)};
    case ValueKind::kFloat:
      if (std::isnan(u_.d)) return "NaN";
      if (std::isinf(u_.d)) return u_.d > 0 ? "Infinity" : "-Infinity";
      return {b, static_cast<std::size_t>(std::to_chars(b, b + sizeof buf.data, u_.d).ptr - b)};
    case ValueKind::kBool: return u_.b ? "true" : "false";
    case ValueKind::kIp: return {b, ip().Format(b)};
    case ValueKind::kTime: return {b, FormatTimeCompact(time(), b)};
  }
  return {};
}

std::string Value::ToString() const {
  TextBuffer buf;
  return std::string(AsText(buf));
}

bool Value::operator==(const Value& o) const {
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case ValueKind::kNull: return true;
    case ValueKind::kString: return str() == o.str();
    case ValueKind::kInt:
    case ValueKind::kTime: return u_.i == o.u_.i;
    case ValueKind::kFloat: return u_.d == o.u_.d;
    case ValueKind::kBool: return u_.b == o.u_.b;
    case ValueKind::kIp: return ip_v4_ == o.ip_v4_ && std::memcmp(u_.ip, o.u_.ip, 16) == 0;
  }
  return false;
}

std::partial_ordering LooseCompare(const Value& a, const Value& b) {
  using K = ValueKind;
  if (a.is_null() || b.is_null())
    return a.is_null() && b.is_null() ? std::partial_ordering::equivalent : std::partial_ordering::unordered;
  if (a.is_number() && b.is_number()) return CompareNumbers(a, b);
  if (a.kind() == b.kind()) {
    switch (a.kind()) {
      case K::kString: return a.str() <=> b.str();
      case K::kBool: return a.bool_value() <=> b.bool_value();
      case K::kIp: return a.ip().bytes() <=> b.ip().bytes();
      case K::kTime: return a.time() <=> b.time();
      default: break;
    }
    return std::partial_ordering::unordered;
  }
  if (a.is_string()) return CompareStringTo(a.str(), b);
  if (b.is_string()) return Flip(CompareStringTo(b.str(), a));
  return std::partial_ordering::unordered;
}

std::size_t FormatTimeCompact(core::Timestamp t, char* out) {
  std::int64_t secs = t.ns / core::kNanosPerSecond;
  std::int64_t frac = t.ns % core::kNanosPerSecond;
  if (frac < 0) {
    frac += core::kNanosPerSecond;
    --secs;
  }
  std::int64_t days = secs / 86400;
  std::int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  std::int64_t y;
  unsigned m, d;
  core::CivilFromDays(days, y, m, d);
  char* p = out;
  auto two = [&p](unsigned v) {
    *p++ = static_cast<char>('0' + v / 10);
    *p++ = static_cast<char>('0' + v % 10);
  };
  const auto year = static_cast<unsigned>(y < 0 ? 0 : y);  // Timestamp spans 1677..2262
  two(year / 100);
  two(year % 100);
  *p++ = '-';
  two(m);
  *p++ = '-';
  two(d);
  *p++ = 'T';
  two(static_cast<unsigned>(rem / 3600));
  *p++ = ':';
  two(static_cast<unsigned>(rem / 60 % 60));
  *p++ = ':';
  two(static_cast<unsigned>(rem % 60));
  if (frac != 0) {
    int digits = frac % 1'000'000 == 0 ? 3 : frac % 1'000 == 0 ? 6 : 9;
    char f[9];
    auto v = static_cast<std::uint32_t>(frac);
    for (int i = 8; i >= 0; --i) {
      f[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    *p++ = '.';
    std::memcpy(p, f, static_cast<std::size_t>(digits));
    p += digits;
  }
  *p++ = 'Z';
  return static_cast<std::size_t>(p - out);
}

}  // namespace medsoc::event
