// UTC time for medsoc: a Timestamp is nanoseconds since the Unix epoch, always UTC. Formatting and
// parsing use RFC 3339 (the profile of ISO 8601 used in the API, the audit trail and reports).
//
// Thread-safety: free functions, no shared state. A Clock may be replaced in tests (SetClockForTest).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace medsoc::core {

struct Timestamp {
  std::int64_t ns = 0;  // nanoseconds since 1970-01-01T00:00:00Z

  static Timestamp FromSeconds(std::int64_t s) { return {s * 1'000'000'000}; }
  static Timestamp FromMillis(std::int64_t ms) { return {ms * 1'000'000}; }
  std::int64_t seconds() const { return ns >= 0 ? ns / 1'000'000'000 : -((-ns + 999'999'999) / 1'000'000'000); }
  std::int64_t millis() const { return ns / 1'000'000; }

  Timestamp operator+(std::int64_t delta_ns) const { return {ns + delta_ns}; }
  Timestamp operator-(std::int64_t delta_ns) const { return {ns - delta_ns}; }
  auto operator<=>(const Timestamp&) const = default;
};

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
constexpr std::int64_t Seconds(std::int64_t s) { return s * kNanosPerSecond; }
constexpr std::int64_t Minutes(std::int64_t m) { return m * 60 * kNanosPerSecond; }
constexpr std::int64_t Hours(std::int64_t h) { return h * 3600 * kNanosPerSecond; }
constexpr std::int64_t Days(std::int64_t d) { return d * 86400 * kNanosPerSecond; }

// The current time (system clock, UTC), or the test override.
Timestamp Now();

// Tests only: while `offset_ns` is non-zero, Now() returns the real time plus the offset. Lets
// integration tests move a server's clock forward (session expiry, lockout end) without sleeping.
void SetClockOffsetForTest(std::int64_t offset_ns);

// RFC 3339 in UTC with a 'Z' suffix. `fraction_digits` is 0, 3, 6 or 9.
// Example: FormatRfc3339({0}, 3) == "1970-01-01T00:00:00.000Z".
std::string FormatRfc3339(Timestamp t, int fraction_digits = 3);

// Parses RFC 3339 with 'Z' or a numeric offset ("+08:00"), optional fraction up to 9 digits; a
// lowercase 't'/'z' and a space instead of 'T' are accepted (RFC 3339 section 5.6 note).
Result<Timestamp> ParseRfc3339(std::string_view text);

// Days since 1970-01-01 for a proleptic Gregorian civil date, and back.
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d);
void CivilFromDays(std::int64_t days, std::int64_t& y, unsigned& m, unsigned& d);

}  // namespace medsoc::core
