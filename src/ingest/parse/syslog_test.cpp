#include "ingest/parse/syslog.h"

#include <gtest/gtest.h>

#include <string>

#include "ingest/parse/text_test_util.h"

namespace medsoc::ingest::text {
namespace {

using namespace testing;

TEST(Rfc3164, FullHeaderWithZoneAndYearInference) {
  Rfc3164Parser p;
  event::Event e;
  ASSERT_TRUE(ParseLine(p, "<38>Mar  3 10:01:02 his-db01 sshd[4242]: Server listening on 0.0.0.0 port 22.", e).ok());
  EXPECT_EQ(Get(e, "log.syslog.priority"), "38");
  EXPECT_EQ(Get(e, "log.syslog.facility.code"), "4");
  EXPECT_EQ(Get(e, "log.syslog.severity.code"), "6");
  EXPECT_EQ(Get(e, "log.level"), "info");
  EXPECT_EQ(Get(e, "host.hostname"), "his-db01");
  EXPECT_EQ(Get(e, "process.name"), "sshd");
  EXPECT_EQ(Get(e, "process.pid"), "4242");
  EXPECT_EQ(Get(e, "message"), "Server listening on 0.0.0.0 port 22.");
  // 10:01:02 in UTC+8 on 2024-03-03 (the year of `now`).
  EXPECT_EQ(Utc(e), "2024-03-03T02:01:02.000Z");
  EXPECT_EQ(e.time_text(), "Mar  3 10:01:02");
}

TEST(Rfc3164, DecemberReadInJanuaryBelongsToLastYear) {
  Rfc3164Parser p;
  event::Event e;
  ParseContext ctx = Ctx(0);
  ctx.now = core::Timestamp::FromSeconds(1'704'153'600);  // 2024-01-02T00:00:00Z
  ASSERT_TRUE(ParseLine(p, "<13>Dec 31 23:59:58 host app: bye", e, ctx).ok());
  EXPECT_EQ(Utc(e), "2023-12-31T23:59:58.000Z");
}

TEST(Rfc3164, PerSourceTimeZone) {
  Rfc3164Parser p;
  event::Event e;
  ASSERT_TRUE(ParseLine(p, "<13>Mar  3 10:01:02 host app: x", e, Ctx(-300)).ok());
  EXPECT_EQ(Utc(e), "2024-03-03T15:01:02.000Z");
}

TEST(Rfc3164, Deviations) {
  Rfc3164Parser p;
  event::Event e;
  // No PRI.
  ASSERT_TRUE(ParseLine(p, "Mar 10 08:00:00 web01 nginx: started", e).ok());
  EXPECT_EQ(Get(e, "log.syslog.priority"), "");
  EXPECT_EQ(Get(e, "host.hostname"), "web01");
  EXPECT_EQ(Get(e, "process.name"), "nginx");
  // rsyslog ISO timestamp with fraction and offset.
  ASSERT_TRUE(ParseLine(p, "<86>2024-03-03T10:01:02.123456+08:00 pacs01 sudo: hello", e).ok());
  EXPECT_EQ(Utc(e), "2024-03-03T02:01:02.123Z");
  EXPECT_EQ(Get(e, "host.hostname"), "pacs01");
  // No hostname: the tag follows the timestamp.
  ASSERT_TRUE(ParseLine(p, "<13>Mar  3 10:01:02 CRON[77]: (root) CMD (run-parts /etc/cron.hourly)", e).ok());
  EXPECT_EQ(Get(e, "host.hostname"), "");
  EXPECT_EQ(Get(e, "process.name"), "CRON");
  EXPECT_EQ(Get(e, "user.name"), "root");
  // No tag: everything after the host is the message.
  ASSERT_TRUE(ParseLine(p, "<13>Mar  3 10:01:02 switch1 link up on port 7", e).ok());
  EXPECT_EQ(Get(e, "host.hostname"), "switch1");
  EXPECT_EQ(Get(e, "message"), "link up on port 7");
  // Year after the time (H3C) and before it (Huawei).
  ASSERT_TRUE(ParseLine(p, "<190>Mar  3 10:01:02 2023 fw1 %%10SHELL/5/LOGIN: x", e).ok());
  EXPECT_EQ(Utc(e), "2023-03-03T02:01:02.000Z");
  ASSERT_TRUE(ParseLine(p, "<190>Mar 3 2022 10:01:02 fw2 %%01SEC/6/X(l): y", e).ok());
  EXPECT_EQ(Utc(e), "2022-03-03T02:01:02.000Z");
}

TEST(Rfc3164, BadPri) {
  Rfc3164Parser p;
  event::Event e;
  auto st = ParseLine(p, "<999>Mar  3 10:01:02 host app: x", e);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("at byte"), std::string::npos);
  EXPECT_FALSE(ParseLine(p, "<12", e).ok());
}

TEST(Rfc5424, FullMessageWithStructuredData) {
  Rfc5424Parser p;
  event::Event e;
  const std::string line =
      "<165>1 2024-03-03T10:01:02.003+08:00 lis-app01 labd 8710 ID47 "
      "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" note=\"a \\\"quoted\\\" \\] bracket\"]"
      "[origin ip=\"10.2.3.4\"] \xEF\xBB\xBFSample result stored";
  ASSERT_TRUE(ParseLine(p, line, e).ok());
  EXPECT_EQ(Get(e, "log.syslog.priority"), "165");
  EXPECT_EQ(Get(e, "log.syslog.facility.code"), "20");
  EXPECT_EQ(Get(e, "log.syslog.severity.code"), "5");
  EXPECT_EQ(Get(e, "host.hostname"), "lis-app01");
  EXPECT_EQ(Get(e, "process.name"), "labd");
  EXPECT_EQ(Get(e, "process.pid"), "8710");
  EXPECT_EQ(Get(e, "event.code"), "ID47");
  EXPECT_EQ(Get(e, "message"), "Sample result stored");
  EXPECT_EQ(Orig(e, "sd.exampleSDID@32473.iut"), "3");
  EXPECT_EQ(Orig(e, "sd.exampleSDID@32473.note"), "a \"quoted\" ] bracket");
  EXPECT_EQ(Orig(e, "sd.origin.ip"), "10.2.3.4");
  EXPECT_EQ(Utc(e), "2024-03-03T02:01:02.003Z");
  EXPECT_EQ(e.time_text(), "2024-03-03T10:01:02.003+08:00");
}

TEST(Rfc5424, NilValues) {
  Rfc5424Parser p;
  event::Event e;
  ASSERT_TRUE(ParseLine(p, "<14>1 - - - - - -", e).ok());
  EXPECT_EQ(Get(e, "host.hostname"), "");
  EXPECT_EQ(Get(e, "message"), "");
  EXPECT_EQ(e.time().ns, 0);
  ASSERT_TRUE(ParseLine(p, "<14>1 2024-03-03T02:01:02Z - app - - - msg", e).ok());
  EXPECT_EQ(Get(e, "process.name"), "app");
  EXPECT_EQ(Get(e, "message"), "msg");
}

TEST(Rfc5424, ErrorsSayWhere) {
  Rfc5424Parser p;
  event::Event e;
  auto st = ParseLine(p, "<14>1 2024-13-03T02:01:02Z h a - - - m", e);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("TIMESTAMP at byte 6"), std::string::npos) << st.error().message();
  st = ParseLine(p, "<14>1 2024-03-03T02:01:02Z h a - - [id x=\"1\"", e);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("unterminated SD-ELEMENT"), std::string::npos);
  st = ParseLine(p, "<14>2 - - - - - -", e);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("at byte 4"), std::string::npos);
}

TEST(BadInput, TruncatedFrame) {
  Rfc5424Parser p5;
  Rfc3164Parser p3;
  event::Event e;
  EXPECT_FALSE(ParseLine(p5, "<14>1 2024-03-03T02:01:02Z host", e).ok());
  // RFC 3164 keeps whatever it got.
  ASSERT_TRUE(ParseLine(p3, "<14>Mar  3 10:0", e).ok());
  EXPECT_EQ(Get(e, "message"), "Mar  3 10:0");
}

TEST(BadInput, InvalidUtf8IsKeptAndFlagged) {
  Rfc3164Parser p;
  event::Event e;
  const std::string line = "<13>Mar  3 10:01:02 host app: bad \xC3\x28 bytes \xFF";
  ASSERT_TRUE(ParseLine(p, line, e).ok());
  EXPECT_TRUE(HasFlag(e, kFlagInvalidUtf8));
  EXPECT_EQ(Get(e, "message"), "bad \xC3\x28 bytes \xFF");
  EXPECT_EQ(e.raw(), line);
  // Valid multi-byte text is not flagged.
  ASSERT_TRUE(ParseLine(p, "<13>Mar  3 10:01:02 host app: 登录成功", e).ok());
  EXPECT_FALSE(HasFlag(e, kFlagInvalidUtf8));
}

TEST(BadInput, OversizedMessageIsTruncatedAndFlagged) {
  Rfc3164Parser p;
  event::Event e;
  ParseContext ctx = Ctx();
  ctx.max_message_bytes = 64;
  std::string line = "<13>Mar  3 10:01:02 host app: ";
  for (int i = 0; i < 100; ++i) line += "检";  // 3 bytes each: the cut must not split one
  ASSERT_TRUE(ParseLine(p, line, e, ctx).ok());
  EXPECT_TRUE(HasFlag(e, kFlagTruncated));
  EXPECT_LE(e.raw().size(), 64u);
  EXPECT_FALSE(HasFlag(e, kFlagInvalidUtf8));
  EXPECT_EQ(Get(e, "host.hostname"), "host");
}

TEST(BadInput, BinaryGarbage) {
  Rfc3164Parser p3;
  Rfc5424Parser p5;
  event::Event e;
  std::string garbage;
  for (int i = 0; i < 256; ++i) garbage.push_back(static_cast<char>((i * 37) & 0xFF));
  // rfc3164 is lenient: it keeps the bytes as the message, flagged; rfc5424 refuses.
  auto st = ParseLine(p3, garbage, e);
  if (st.ok()) {
    EXPECT_TRUE(HasFlag(e, kFlagBinary));
    EXPECT_TRUE(HasFlag(e, kFlagInvalidUtf8));
  }
  EXPECT_FALSE(ParseLine(p5, garbage, e).ok());
  EXPECT_FALSE(ParseLine(p3, std::string_view("", 0), e).ok());
}

TEST(Detect, Scores) {
  EXPECT_GT(DetectRfc5424("<14>1 2024-03-03T02:01:02Z h a - - - m"), DetectRfc3164("<14>1 2024-03-03T02:01:02Z h a - - - m"));
  EXPECT_GE(DetectRfc3164("<13>Mar  3 10:01:02 host app: x"), 90);
  EXPECT_EQ(DetectRfc5424("<13>Mar  3 10:01:02 host app: x"), 0);
  EXPECT_EQ(DetectRfc3164("{\"a\":1}"), 0);
}

}  // namespace
}  // namespace medsoc::ingest::text
