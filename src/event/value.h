// Value: one typed field value of an event, and IpAddress.
//
// A Value is 24 bytes, trivially copyable, and never owns memory: a string value is a view into
// storage that outlives the event (the event's raw message, the batch arena, or static text). The
// Event setters that take std::string_view copy into the arena; Event::Set(id, Value) stores the
// view as given. This is what lets the pipeline fill events without a heap allocation per field.
//
// Comparison comes in two flavours:
//  - operator== is strict: same kind and same payload (bit-exact for strings, IPs keep the v4 flag).
//  - LooseCompare/LooseEquals is what detection uses: a rule's "4688" matches an event's integer
//    4688, "10.0.0.1" matches an IP value, "true" matches a boolean. See LooseCompare for the rules.
//
// Thread-safety: value types; no shared state.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/time.h"

namespace medsoc::event {

// An IPv4 or IPv6 address in one 16-byte form. IPv4 addresses are stored as IPv4-mapped IPv6
// (::ffff:a.b.c.d) with is_v4() set, so v4 and mapped-v6 compare equal by address (SameAddress)
// and prefix matching works the same for both.
class IpAddress {
 public:
  // Longest text Format() produces ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255") plus slack.
  static constexpr std::size_t kMaxTextLength = 48;

  IpAddress() = default;  // "::" (IPv6 unspecified)
  static IpAddress V4(std::uint32_t host_order);
  static IpAddress V6(const std::array<std::uint8_t, 16>& bytes);

  // Parses dotted-quad IPv4 ("192.168.0.1": exactly four decimal parts 0-255, no leading zeros,
  // which inet_aton would read as octal) or IPv6 text (RFC 4291 section 2.2: hex groups, one "::",
  // an optional trailing dotted quad). Rejects zone ids ("fe80::1%eth0"), brackets, prefixes and
  // surrounding whitespace. Returns nullopt for anything else.
  static std::optional<IpAddress> Parse(std::string_view text);

  bool is_v4() const { return v4_; }
  // True for IPv4 addresses and for IPv6 addresses of the form ::ffff:a.b.c.d.
  bool IsV4Mapped() const;
  // The IPv4 address, host byte order. REQUIRES: IsV4Mapped().
  std::uint32_t v4() const;
  // An IPv4-mapped IPv6 address as IPv4; any other address unchanged.
  IpAddress Unmapped() const;
  const std::array<std::uint8_t, 16>& bytes() const { return b_; }

  // Writes the canonical text (dotted quad for IPv4; RFC 5952 for IPv6: lowercase, no leading
  // zeros, the longest run of two or more zero groups as "::", mixed notation for ::ffff:a.b.c.d)
  // to `out`, which must hold kMaxTextLength bytes; returns the length. No allocation.
  std::size_t Format(char* out) const;
  std::string ToString() const;

  // True when the address lies in `network`/`prefix_len`. For an IPv4 network, prefix_len counts
  // IPv4 bits (0-32) and IPv4-mapped IPv6 addresses match too; for IPv6, 0-128.
  bool InNetwork(const IpAddress& network, int prefix_len) const;

  // Same 16 bytes, ignoring how the address was written (1.2.3.4 == ::ffff:1.2.3.4).
  bool SameAddress(const IpAddress& other) const { return b_ == other.b_; }
  bool operator==(const IpAddress&) const = default;

 private:
  friend class Value;
  std::array<std::uint8_t, 16> b_{};
  bool v4_ = false;
};

enum class ValueKind : std::uint8_t { kNull, kString, kInt, kFloat, kBool, kIp, kTime };

std::string_view ValueKindName(ValueKind kind);

// Scratch space for Value::AsText of non-string values; big enough for any kind.
struct TextBuffer {
  char data[64];
};

class Value {
 public:
  Value() = default;  // null
  static Value String(std::string_view s);
  static Value Int(std::int64_t v);
  static Value Float(double v);
  static Value Bool(bool v);
  static Value Ip(const IpAddress& ip);
  static Value Time(core::Timestamp t);

  ValueKind kind() const { return kind_; }
  bool is_null() const { return kind_ == ValueKind::kNull; }
  bool is_string() const { return kind_ == ValueKind::kString; }
  bool is_number() const { return kind_ == ValueKind::kInt || kind_ == ValueKind::kFloat; }

  // Typed accessors. REQUIRES: kind() is the matching kind.
  std::string_view str() const;
  std::int64_t int_value() const;
  double float_value() const;
  bool bool_value() const;
  IpAddress ip() const;
  core::Timestamp time() const;

  // Conversions; nullopt when the value does not convert exactly.
  // AsInt: an int; an integral float in range; a string holding a whole decimal integer with an
  //   optional sign, or "0x" hex (Windows logs write ids like 0x1a2c).
  // AsFloat: an int or float; a string holding a finite decimal number (or "0x" hex integer).
  // AsBool: a bool; a string "true"/"false" in any case.
  // AsIp: an IP; a string IpAddress::Parse accepts.
  // AsTime: a time; a string core::ParseRfc3339 accepts.
  std::optional<std::int64_t> AsInt() const;
  std::optional<double> AsFloat() const;
  std::optional<bool> AsBool() const;
  std::optional<IpAddress> AsIp() const;
  std::optional<core::Timestamp> AsTime() const;

  // Text of the value without allocating: the string itself for strings; otherwise formatted into
  // `buf` (ints in decimal, floats shortest round-trip or NaN/Infinity/-Infinity, bools
  // true/false, IPs canonical, times RFC 3339 UTC with 0/3/6/9 fraction digits as needed); null is
  // "". The view is valid while the value's storage and `buf` are.
  std::string_view AsText(TextBuffer& buf) const;
  std::string ToString() const;

  // Strict equality: same kind, same payload (floats by ==, so NaN != NaN).
  bool operator==(const Value& other) const;

 private:
  union Payload {
    std::int64_t i;
    double d;
    bool b;
    struct {
      const char* p;
      std::size_t n;
    } s;
    std::uint8_t ip[16];
  };
  Payload u_{.i = 0};
  ValueKind kind_ = ValueKind::kNull;
  bool ip_v4_ = false;
};

static_assert(sizeof(Value) == 24);

// Typed comparison for detection:
//  - null compares equal only to null, and is unordered against everything else;
//  - numbers (int/float) compare numerically, exactly (int64 vs double without rounding); a
//    string compares to a number through AsInt/AsFloat ("4688" == 4688, "0x10" == 16);
//  - IPs compare by address bytes (v4 == its mapped v6); a string is parsed as an IP;
//  - times compare by instant; a string is parsed as RFC 3339;
//  - bools: false < true; a string "true"/"false" (any case) converts;
//  - two strings compare bytewise (no numeric interpretation: "10" < "9");
//  - anything else, or a string that does not convert, is unordered (never equal).
std::partial_ordering LooseCompare(const Value& a, const Value& b);
inline bool LooseEquals(const Value& a, const Value& b) { return LooseCompare(a, b) == 0; }

// Formats `t` as RFC 3339 UTC into `out` (at least 40 bytes) with 0, 3, 6 or 9 fraction digits,
// whichever is the fewest that keeps every non-zero digit. Returns the length.
std::size_t FormatTimeCompact(core::Timestamp t, char* out);

}  // namespace medsoc::event
