#include "assets/cron.h"

#include <gtest/gtest.h>

#include <ctime>

namespace medsoc::assets {
namespace {

// Local time y-m-d hh:mm as a Timestamp.
core::Timestamp Local(int y, int mo, int d, int h, int mi) {
  std::tm t{};
  t.tm_year = y - 1900;
  t.tm_mon = mo - 1;
  t.tm_mday = d;
  t.tm_hour = h;
  t.tm_min = mi;
  t.tm_isdst = -1;
  return core::Timestamp::FromSeconds(static_cast<std::int64_t>(std::mktime(&t)));
}

core::Timestamp Next(const char* expr, core::Timestamp after) {
  auto c = ParseCron(expr);
  EXPECT_TRUE(c.ok()) << expr << ": " << c.error().ToString();
  auto n = NextFire(*c, after);
  EXPECT_TRUE(n.has_value()) << expr;
  return n.value_or(core::Timestamp{0});
}

TEST(Cron, NextFireTimes) {
  // 2026-03-04 is a Wednesday.
  const auto wed_1000 = Local(2026, 3, 4, 10, 0);
  EXPECT_EQ(Next("*/15 * * * *", wed_1000), Local(2026, 3, 4, 10, 15));  // strictly after
  EXPECT_EQ(Next("30 1 * * Mon-Fri", wed_1000), Local(2026, 3, 5, 1, 30));
  EXPECT_EQ(Next("30 1 * * Mon-Fri", Local(2026, 3, 6, 2, 0)), Local(2026, 3, 9, 1, 30));  // Fri -> Mon
  EXPECT_EQ(Next("0 22 1,15 * *", wed_1000), Local(2026, 3, 15, 22, 0));
  EXPECT_EQ(Next("0 0 * JAN,jul *", wed_1000), Local(2026, 7, 1, 0, 0));
  EXPECT_EQ(Next("@daily", wed_1000), Local(2026, 3, 5, 0, 0));
  EXPECT_EQ(Next("@weekly", wed_1000), Local(2026, 3, 8, 0, 0));  // Sunday
  EXPECT_EQ(Next("0 3 * * 7", wed_1000), Local(2026, 3, 8, 3, 0));  // 7 is Sunday
  EXPECT_EQ(Next("0 3 * * 5-7", wed_1000), Local(2026, 3, 6, 3, 0));
  // Both day fields restricted: either matches (the 10th, or any Monday).
  EXPECT_EQ(Next("0 0 10 * Mon", wed_1000), Local(2026, 3, 9, 0, 0));
  EXPECT_EQ(Next("5-10/5 2 * * *", wed_1000), Local(2026, 3, 5, 2, 5));
  EXPECT_EQ(Next("0 0 29 2 *", wed_1000), Local(2028, 2, 29, 0, 0));  // leap day
}

TEST(Cron, NeverFires) {
  auto c = ParseCron("0 0 31 2 *");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(NextFire(*c, Local(2026, 1, 1, 0, 0)).has_value());
}

TEST(Cron, ErrorsNameTheFieldAndToken) {
  struct Case {
    const char* expr;
    const char* want;
  } cases[] = {
      {"* * * *", "expected 5 fields"},
      {"60 * * * *", "minute '60'"},
      {"* 24 * * *", "hour '24'"},
      {"* * 0 * *", "day of month '0'"},
      {"* * * 13 *", "month '13'"},
      {"* * * * 8", "day of week '8'"},
      {"*/0 * * * *", "step"},
      {"5-1 * * * *", "backwards"},
      {"a * * * *", "minute 'a'"},
      {"1,,2 * * * *", "empty list item"},
      {"@sometimes", "unknown cron macro"},
      {"* * * * Funday", "day of week 'Funday'"},
  };
  for (const auto& c : cases) {
    auto r = ParseCron(c.expr);
    ASSERT_FALSE(r.ok()) << c.expr;
    EXPECT_NE(r.error().message().find(c.want), std::string::npos) << c.expr << ": " << r.error().message();
  }
}

}  // namespace
}  // namespace medsoc::assets
