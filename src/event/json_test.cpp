#include "event/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace medsoc::event {
namespace {

std::string Quote(std::string_view s, bool* valid = nullptr) {
  std::string out;
  bool ok = AppendJsonString(s, out);
  if (valid) *valid = ok;
  return out;
}

TEST(EventJsonTest, EscapesSpecialAndControlCharacters) {
  EXPECT_EQ(Quote("plain"), "\"plain\"");
  EXPECT_EQ(Quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Quote("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\"");
  EXPECT_EQ(Quote(std::string_view("\x00\x01\x1f\x7f", 4)), "\"\\u0000\\u0001\\u001f\x7f\"");
  EXPECT_EQ(Quote("/"), "\"/\"");
  EXPECT_EQ(Quote("\xe2\x80\xa8\xe2\x80\xa9"), "\"\\u2028\\u2029\"");
}

TEST(EventJsonTest, ValidUtf8PassesThrough) {
  bool valid = false;
  EXPECT_EQ(Quote("患者 登录失败 \xf0\x9f\x94\x92", &valid), "\"患者 登录失败 \xf0\x9f\x94\x92\"");
  EXPECT_TRUE(valid);
}

TEST(EventJsonTest, InvalidUtf8BecomesReplacementCharacter) {
  const std::string r = "\xef\xbf\xbd";
  struct Case {
    std::string_view in;
    std::string out;
  } cases[] = {
      {"a\xff" "b", "a" + r + "b"},                        // never valid
      {"\x80", r},                                         // stray continuation
      {"\xc0\xaf", r + r},                                 // overlong '/': C0 never valid
      {"\xe0\x80\xaf", r + r + r},                         // overlong 3-byte
      {"\xed\xa0\x80", r + r + r},                         // UTF-16 surrogate
      {"\xf4\x90\x80\x80", r + r + r + r},                 // above U+10FFFF
      {"\xe4\xb8", r},                                     // truncated at end: one maximal subpart
      {"\xe4\xb8" "a", r + "a"},                           // truncated before ASCII
      {"\xf0\x9f\x94", r},                                 // truncated 4-byte
      {"GBK \xd6\xd0\xce\xc4", "GBK " + r + r + r + r},    // GBK-encoded text is not UTF-8
  };
  for (const auto& c : cases) {
    bool valid = true;
    EXPECT_EQ(Quote(c.in, &valid), "\"" + c.out + "\"") << ::testing::PrintToString(std::string(c.in));
    EXPECT_FALSE(valid);
  }
}

TEST(EventJsonTest, Values) {
  std::string out;
  AppendJsonValue(Value(), out);
  out += ' ';
  AppendJsonValue(Value::Int(-7), out);
  out += ' ';
  AppendJsonValue(Value::Float(2.5), out);
  out += ' ';
  AppendJsonValue(Value::Float(NAN), out);
  out += ' ';
  AppendJsonValue(Value::Bool(true), out);
  out += ' ';
  AppendJsonValue(Value::Ip(*IpAddress::Parse("::ffff:1.2.3.4")), out);
  out += ' ';
  AppendJsonValue(Value::Time({1'000'000}), out);
  EXPECT_EQ(out, "null -7 2.5 \"NaN\" true \"::ffff:1.2.3.4\" \"1970-01-01T00:00:00.001Z\"");
}

TEST(EventJsonTest, RendersAnEvent) {
  FieldTable table;
  Event e;
  e.set_time({1'500'000'000});
  e.set_ingest_time({2'000'000'000});
  e.set_time_text("Jan  1 08:00:01");
  e.set_tenant_id("h1");
  e.set_source_name("syslog");
  e.set_raw("EventID=4688 cmd=\"whoami\"\n");
  e.Set(*table.Intern("source.ip"), Value::Ip(*IpAddress::Parse("10.0.0.1")));
  e.Append(*table.Intern("related.ip"), Value::String("10.0.0.1"));
  e.Set(*table.Intern("event.code"), Value::String("4688"));
  e.Append(*table.Intern("related.ip"), Value::String("10.0.0.2"));
  e.SetOriginal(*table.Intern("EventID"), Value::Int(4688));
  EXPECT_EQ(EventToJson(e, table),
            "{\"time\":\"1970-01-01T00:00:01.500Z\",\"time_text\":\"Jan  1 08:00:01\","
            "\"ingest_time\":\"1970-01-01T00:00:02Z\",\"tenant_id\":\"h1\",\"source\":\"syslog\","
            "\"raw\":\"EventID=4688 cmd=\\\"whoami\\\"\\n\","
            "\"fields\":{\"source.ip\":\"10.0.0.1\",\"related.ip\":[\"10.0.0.1\",\"10.0.0.2\"],\"event.code\":\"4688\"},"
            "\"original\":{\"EventID\":4688}}");
}

TEST(EventJsonTest, FlagsInvalidUtf8AndParseErrors) {
  FieldTable table;
  Event e;
  e.set_raw("bad \xff byte");
  e.set_parse_error("no header");
  std::string out;
  EXPECT_FALSE(AppendEventJson(e, out, table));
  EXPECT_EQ(out,
            "{\"time\":\"1970-01-01T00:00:00Z\",\"ingest_time\":\"1970-01-01T00:00:00Z\",\"tenant_id\":\"\","
            "\"source\":\"\",\"raw\":\"bad \xef\xbf\xbd byte\",\"parse_error\":\"no header\",\"fields\":{},"
            "\"invalid_utf8\":true}");
}

}  // namespace
}  // namespace medsoc::event
