#include "assets/cron.h"

#include <cctype>
#include <charconv>
#include <ctime>
#include <vector>

namespace medsoc::assets {

namespace {

constexpr const char* kFieldNames[] = {"minute", "hour", "day of month", "month", "day of week"};
constexpr const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A number or (for months and weekdays) a name; -1 when neither.
int Value(std::string_view tok, int field) {
  if (tok.empty()) return -1;
  if (std::isdigit(static_cast<unsigned char>(tok[0]))) {
    if (tok.size() > 3) return -1;
    int v = 0;
    auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
    return ec == std::errc() && p == tok.data() + tok.size() ? v : -1;
  }
  const std::string l = Lower(tok);
  if (field == 3)
    for (int i = 0; i < 12; ++i)
      if (l == kMonths[i]) return i + 1;
  if (field == 4)
    for (int i = 0; i < 7; ++i)
      if (l == kDays[i]) return i;
  return -1;
}

// Sets the bits of one field; `lo`/`hi` are the field's bounds.
Status ParseField(std::string_view text, int field, int lo, int hi, std::vector<bool>& bits, bool& restricted) {
  auto bad = [&](std::string_view tok, const std::string& why) {
    return Error(ErrorCode::kInvalidArgument, std::string("cron ") + kFieldNames[field] + " '" + std::string(tok) +
                                                  "': " + why);
  };
  restricted = text != "*";
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(start, comma - start);
    start = comma + 1;
    if (item.empty()) return bad(text, "empty list item");
    int step = 1;
    if (auto slash = item.find('/'); slash != std::string_view::npos) {
      step = Value(item.substr(slash + 1), -1);
      if (step <= 0 || step > hi) return bad(item, "step must be 1-" + std::to_string(hi));
      item = item.substr(0, slash);
    }
    int a, b;
    if (item == "*") {
      a = lo;
      b = hi;
    } else if (auto dash = item.find('-'); dash != std::string_view::npos) {
      a = Value(item.substr(0, dash), field);
      b = Value(item.substr(dash + 1), field);
      if (a < 0 || b < 0) return bad(item, "expected a range a-b");
    } else {
      a = Value(item, field);
      if (a < 0) return bad(item, "expected a number");
      b = step > 1 ? hi : a;  // "5/10": from 5 on, every 10
    }
    if (field == 4) {  // 7 is Sunday too
      if (a == 7 && b == 7) {
        a = b = 0;
      } else if (b == 7 && a <= 7) {
        b = 6;
        if (step == 1 || (7 - a) % step == 0) bits[0] = true;
      }
    }
    if (a < lo || a > hi || b < lo || b > hi)
      return bad(item, "out of range " + std::to_string(lo) + "-" + std::to_string(hi));
    if (a > b) return bad(item, "range runs backwards");
    for (int v = a; v <= b; v += step) bits[static_cast<size_t>(v)] = true;
    if (comma == text.size()) break;
  }
  return Ok();
}

template <size_t N>
void Copy(const std::vector<bool>& v, std::bitset<N>& out) {
  for (size_t i = 0; i < N && i < v.size(); ++i) out[i] = v[i];
}

}  // namespace

Result<CronExpr> ParseCron(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if (text.size() > 200) return Error(ErrorCode::kInvalidArgument, "cron expression longer than 200 characters");
  std::string expanded(text);
  const std::string l = Lower(text);
  if (l == "@hourly") expanded = "0 * * * *";
  else if (l == "@daily" || l == "@midnight") expanded = "0 0 * * *";
  else if (l == "@weekly") expanded = "0 0 * * 0";
  else if (l == "@monthly") expanded = "0 0 1 * *";
  else if (l == "@yearly" || l == "@annually") expanded = "0 0 1 1 *";
  else if (!l.empty() && l[0] == '@') return Error(ErrorCode::kInvalidArgument, "unknown cron macro '" + std::string(text) + "'");
  std::vector<std::string_view> fields;
  std::string_view rest = expanded;
  while (!rest.empty()) {
    size_t b = 0;
    while (b < rest.size() && std::isspace(static_cast<unsigned char>(rest[b]))) ++b;
    size_t e = b;
    while (e < rest.size() && !std::isspace(static_cast<unsigned char>(rest[e]))) ++e;
    if (e > b) fields.push_back(rest.substr(b, e - b));
    rest = rest.substr(e);
  }
  if (fields.size() != 5)
    return Error(ErrorCode::kInvalidArgument, "cron expression '" + std::string(text) +
                                                  "': expected 5 fields (minute hour day-of-month month day-of-week)");
  static constexpr int kLo[] = {0, 0, 1, 1, 0}, kHi[] = {59, 23, 31, 12, 7};
  CronExpr c;
  c.text = std::string(text);
  bool restricted[5];
  std::vector<bool> bits[5];
  for (int i = 0; i < 5; ++i) {
    bits[i].assign(static_cast<size_t>(kHi[i]) + 1, false);
    MEDSOC_TRY(ParseField(fields[static_cast<size_t>(i)], i, kLo[i], kHi[i], bits[i], restricted[i]));
  }
  if (bits[4][7]) bits[4][0] = true;
  Copy(bits[0], c.minutes);
  Copy(bits[1], c.hours);
  Copy(bits[2], c.days);
  Copy(bits[3], c.months);
  Copy(bits[4], c.weekdays);
  c.days_restricted = restricted[2];
  c.weekdays_restricted = restricted[4];
  return c;
}

std::optional<core::Timestamp> NextFire(const CronExpr& c, core::Timestamp after) {
  // Walk days, then hours and minutes inside a matching day, in local time (mktime normalizes
  // and handles daylight saving).
  std::time_t t = static_cast<std::time_t>(after.seconds()) + 60;
  std::tm tm{};
  localtime_r(&t, &tm);
  tm.tm_sec = 0;
  for (int day = 0; day < 366 * 5; ++day) {
    tm.tm_isdst = -1;
    std::time_t norm = std::mktime(&tm);
    localtime_r(&norm, &tm);
    const bool dom = c.days[static_cast<size_t>(tm.tm_mday)];
    const bool dow = c.weekdays[static_cast<size_t>(tm.tm_wday)];
    bool day_ok = c.days_restricted && c.weekdays_restricted ? (dom || dow)
                  : c.days_restricted                      ? dom
                  : c.weekdays_restricted                  ? dow
                                                           : true;
    if (c.months[static_cast<size_t>(tm.tm_mon + 1)] && day_ok) {
      for (int h = tm.tm_hour; h < 24; ++h) {
        if (!c.hours[static_cast<size_t>(h)]) continue;
        for (int m = h == tm.tm_hour ? tm.tm_min : 0; m < 60; ++m) {
          if (!c.minutes[static_cast<size_t>(m)]) continue;
          std::tm hit = tm;
          hit.tm_hour = h;
          hit.tm_min = m;
          hit.tm_isdst = -1;
          return core::Timestamp::FromSeconds(static_cast<std::int64_t>(std::mktime(&hit)));
        }
      }
    }
    // Next day at 00:00.
    tm.tm_mday += 1;
    tm.tm_hour = 0;
    tm.tm_min = 0;
  }
  return std::nullopt;
}

}  // namespace medsoc::assets
