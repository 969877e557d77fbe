#include "core/time.h"

#include <atomic>
#include <chrono>
#include <cstdio>

namespace medsoc::core {
namespace {
std::atomic<std::int64_t> g_clock_offset{0};

bool ParseDigits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}
}  // namespace

Timestamp Now() {
  auto d = std::chrono::system_clock::now().time_since_epoch();
  return {std::chrono::duration_cast<std::chrono::nanoseconds>(d).count() +
          g_clock_offset.load(std::memory_order_relaxed)};
}

void SetClockOffsetForTest(std::int64_t offset_ns) { g_clock_offset.store(offset_ns); }

// Howard Hinnant's civil-calendar algorithms (public domain description of the arithmetic).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void CivilFromDays(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

std::string FormatRfc3339(Timestamp t, int fraction_digits) {
  std::int64_t secs = t.ns / kNanosPerSecond;
  std::int64_t frac = t.ns % kNanosPerSecond;
  if (frac < 0) {
    frac += kNanosPerSecond;
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
  CivilFromDays(days, y, m, d);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d", static_cast<long long>(y), m, d,
                        static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60));
  std::string out(buf, static_cast<size_t>(n));
  if (fraction_digits > 0) {
    if (fraction_digits > 9) fraction_digits = 9;
    char fb[16];
    std::snprintf(fb, sizeof fb, "%09lld", static_cast<long long>(frac));
    out += '.';
    out.append(fb, static_cast<size_t>(fraction_digits));
  }
  out += 'Z';
  return out;
}

Result<Timestamp> ParseRfc3339(std::string_view s) {
  auto bad = [&](const char* why) {
    return Error(ErrorCode::kParse, std::string("invalid RFC 3339 time '") + std::string(s.substr(0, 64)) + "': " + why);
  };
  int year, mon, day, hh, mm, ss;
  if (!ParseDigits(s, 0, 4, year) || s.size() < 19 || s[4] != '-' || !ParseDigits(s, 5, 2, mon) || s[7] != '-' ||
      !ParseDigits(s, 8, 2, day))
    return bad("expected YYYY-MM-DD");
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return bad("expected 'T' after the date");
  if (!ParseDigits(s, 11, 2, hh) || s[13] != ':' || !ParseDigits(s, 14, 2, mm) || s[16] != ':' ||
      !ParseDigits(s, 17, 2, ss))
    return bad("expected hh:mm:ss");
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) return bad("field out of range");
  static constexpr int kDaysIn[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day > kDaysIn[mon - 1] || (mon == 2 && day == 29 && !leap)) return bad("no such day");
  if (ss == 60) ss = 59;  // leap second: clamp, as POSIX time cannot represent it
  size_t pos = 19;
  std::int64_t frac_ns = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    std::int64_t scale = 100'000'000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (pos - start < 9) {
        frac_ns += (s[pos] - '0') * scale;
        scale /= 10;
      }
      ++pos;
    }
    if (pos == start) return bad("empty fraction");
  }
  std::int64_t offset_s = 0;
  if (pos >= s.size()) return bad("missing time zone ('Z' or +hh:mm)");
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (!ParseDigits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !ParseDigits(s, pos + 4, 2, om) ||
        oh > 23 || om > 59)
      return bad("invalid offset");
    offset_s = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return bad("invalid time zone");
  }
  if (pos != s.size()) return bad("trailing characters");
  // A Timestamp (int64 nanoseconds) spans 1677-09-21 .. 2262-04-11.
  if (year < 1678 || year > 2261) return bad("year outside 1678..2261");
  std::int64_t days = DaysFromCivil(year, static_cast<unsigned>(mon), static_cast<unsigned>(day));
  std::int64_t secs = days * 86400 + hh * 3600 + mm * 60 + ss - offset_s;
  return Timestamp{secs * kNanosPerSecond + frac_ns};
}

}  // namespace medsoc::core
