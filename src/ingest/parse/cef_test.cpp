#include "ingest/parse/cef.h"

#include <gtest/gtest.h>

#include "ingest/parse/kv.h"
#include "ingest/parse/syslog.h"
#include "ingest/parse/text_test_util.h"

namespace medsoc::ingest::text {
namespace {

using namespace testing;

TEST(Cef, HeaderEscapesAndExtension) {
  CefParser p;
  event::Event e;
  const std::string line =
      "CEF:0|Acme\\|Med|Guard WAF|5.1|1001|SQL injection \\\\ attempt|8|src=10.1.2.3 spt=51234 dst=10.9.9.9 dpt=443 "
      "suser=nurse01 act=blocked request=https://his.example/login?id\\=1 or 1\\=1 "
      "msg=detected in form field cs1Label=Rule Name cs1=SQLi generic cs2=x rt=1709431262000";
  ASSERT_TRUE(ParseLine(p, line, e).ok());
  EXPECT_EQ(Get(e, "observer.vendor"), "Acme|Med");
  EXPECT_EQ(Get(e, "observer.product"), "Guard WAF");
  EXPECT_EQ(Get(e, "event.code"), "1001");
  EXPECT_EQ(Orig(e, "cef.name"), "SQL injection \\ attempt");
  EXPECT_EQ(Get(e, "event.severity"), "8");
  EXPECT_EQ(Get(e, "source.ip"), "10.1.2.3");
  EXPECT_EQ(Get(e, "source.port"), "51234");
  EXPECT_EQ(Get(e, "destination.port"), "443");
  EXPECT_EQ(Get(e, "source.user.name"), "nurse01");
  EXPECT_EQ(Get(e, "user.name"), "nurse01");
  EXPECT_EQ(Get(e, "event.action"), "blocked");
  EXPECT_EQ(Get(e, "url.original"), "https://his.example/login?id=1 or 1=1");
  EXPECT_EQ(Get(e, "message"), "detected in form field");
  EXPECT_EQ(Orig(e, "Rule Name"), "SQLi generic");
  EXPECT_EQ(Orig(e, "cs2"), "x");
  EXPECT_EQ(Utc(e), "2024-03-03T02:01:02.000Z");
}

TEST(Cef, BehindSyslogAndSeverityWords) {
  CefParser p;
  event::Event e;
  ASSERT_TRUE(ParseLine(p, "<134>Mar  3 10:01:02 ids01 CEF:0|V|P|1|42|Port scan|High|src=1.2.3.4 dst=10.0.0.1", e).ok());
  EXPECT_EQ(Get(e, "host.hostname"), "ids01");
  EXPECT_EQ(Get(e, "event.severity"), "8");
  EXPECT_EQ(Get(e, "message"), "Port scan");
  EXPECT_EQ(Utc(e), "2024-03-03T02:01:02.000Z");
  // Through the rfc3164 parser's content dispatch too.
  Rfc3164Parser s;
  ASSERT_TRUE(ParseLine(s, "<134>Mar  3 10:01:02 ids01 ids: CEF:0|V|P|1|42|Port scan|3|src=1.2.3.4", e).ok());
  EXPECT_EQ(Get(e, "source.ip"), "1.2.3.4");
}

TEST(Cef, TruncatedHeaderSaysWhere) {
  CefParser p;
  event::Event e;
  auto st = ParseLine(p, "CEF:0|Vendor|Product|1.0", e);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("Device Version not terminated"), std::string::npos) << st.error().message();
  EXPECT_NE(st.error().message().find("at byte 21"), std::string::npos) << st.error().message();
}

TEST(Leef, Version1Tabs) {
  LeefParser p;
  event::Event e;
  ASSERT_TRUE(ParseLine(p, "LEEF:1.0|Lancope|StealthWatch|1.0|41|src=10.0.1.8\tdst=10.0.0.5\tsev=5\tcat=NetworkConcern"
                           "\tsrcPort=81\tdstPort=21\tusrName=joe.black\tdevTime=1709431262000",
                           e).ok());
  EXPECT_EQ(Get(e, "observer.vendor"), "Lancope");
  EXPECT_EQ(Get(e, "event.code"), "41");
  EXPECT_EQ(Get(e, "source.ip"), "10.0.1.8");
  EXPECT_EQ(Get(e, "destination.port"), "21");
  EXPECT_EQ(Get(e, "user.name"), "joe.black");
  EXPECT_EQ(Get(e, "event.severity"), "5");
  EXPECT_EQ(Utc(e), "2024-03-03T02:01:02.000Z");
}

TEST(Leef, Version2CustomAndHexDelimiters) {
  LeefParser p;
  event::Event e;
  ASSERT_TRUE(ParseLine(p, "LEEF:2.0|Vendor|Prod|2.1|login|^|src=10.1.1.1^usrName=alice^action=allow", e).ok());
  EXPECT_EQ(Get(e, "source.ip"), "10.1.1.1");
  EXPECT_EQ(Get(e, "user.name"), "alice");
  EXPECT_EQ(Get(e, "event.action"), "allow");
  ASSERT_TRUE(ParseLine(p, "LEEF:2.0|Vendor|Prod|2.1|login|x7C|src=10.1.1.2|usrName=bob", e).ok());
  EXPECT_EQ(Get(e, "source.ip"), "10.1.1.2");
  EXPECT_EQ(Get(e, "user.name"), "bob");
  ASSERT_TRUE(ParseLine(p, "LEEF:2.0|Vendor|Prod|2.1|login|0x09|src=10.1.1.3\tusrName=carol", e).ok());
  EXPECT_EQ(Get(e, "user.name"), "carol");
  EXPECT_FALSE(ParseLine(p, "LEEF:3.0|V|P|1|x|a=b", e).ok());
  EXPECT_FALSE(ParseLine(p, "LEEF:2.0|V|P", e).ok());
}

TEST(Kv, QuotingEscapesAndSpaces) {
  KvParser p;
  event::Event e;
  ASSERT_TRUE(ParseLine(p, "src=10.0.0.1 dst=10.0.0.2 user=\"Dr. Wang\" note='it\\'s ok' msg=login failed for admin "
                           "path=\"C:\\\\Temp\\\\x\" action=deny",
                           e).ok());
  EXPECT_EQ(Get(e, "source.ip"), "10.0.0.1");
  EXPECT_EQ(Get(e, "user.name"), "Dr. Wang");
  EXPECT_EQ(Orig(e, "note"), "it's ok");
  EXPECT_EQ(Get(e, "message"), "login failed for admin");
  EXPECT_EQ(Orig(e, "path"), "C:\\Temp\\x");
  EXPECT_EQ(Get(e, "event.action"), "deny");
  auto st = ParseLine(p, "a=1 b=\"unterminated", e);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("byte"), std::string::npos);
  EXPECT_FALSE(ParseLine(p, "no pairs here", e).ok());
}

TEST(Detect, CefLeefKv) {
  CefParser c;
  LeefParser l;
  KvParser k;
  EXPECT_GE(c.Detect("CEF:0|a|b|c|d|e|1|"), 95);
  EXPECT_GE(c.Detect("<13>Mar  3 10:01:02 h CEF:0|a|b|c|d|e|1|"), 90);
  EXPECT_EQ(c.Detect("hello"), 0);
  EXPECT_GE(l.Detect("LEEF:1.0|a|b|c|d|"), 95);
  EXPECT_GT(k.Detect("a=1 b=2 c=3"), 0);
  EXPECT_LT(k.Detect("a=1 b=2 c=3"), 90);
}

}  // namespace
}  // namespace medsoc::ingest::text
