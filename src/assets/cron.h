// Cron expressions for scheduled scans: the five classic fields, in local time.
//
//   minute hour day-of-month month day-of-week
//   */15 * * * *        every 15 minutes
//   30 1 * * Mon-Fri    01:30 on weekdays
//   0 22 1,15 * *       22:00 on the 1st and the 15th
// Each field: `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, or a comma list of these.
// Months may be named (JAN-DEC), weekdays too (SUN-SAT; 0 and 7 are Sunday), case-insensitive.
// As in Vixie cron, when both day-of-month and day-of-week are restricted, a day matching either
// one fires. Macros: @hourly, @daily (= @midnight), @weekly, @monthly, @yearly (= @annually).
//
// The text comes from API requests and configuration: errors (kInvalidArgument) name the field
// and the bad token; nothing is ever read out of bounds.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <bitset>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/time.h"

namespace medsoc::assets {

struct CronExpr {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days;    // 1-31
  std::bitset<13> months;  // 1-12
  std::bitset<7> weekdays; // 0 = Sunday
  bool days_restricted = false;
  bool weekdays_restricted = false;
  std::string text;
};

Result<CronExpr> ParseCron(std::string_view text);

// The first minute strictly after `after` (local time) at which `expr` fires; nullopt when none
// within the next 5 years (e.g. "0 0 31 2 *").
std::optional<core::Timestamp> NextFire(const CronExpr& expr, core::Timestamp after);

}  // namespace medsoc::assets
