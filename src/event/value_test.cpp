#include "event/value.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace medsoc::event {
namespace {

IpAddress Ip(std::string_view s) {
  auto ip = IpAddress::Parse(s);
  EXPECT_TRUE(ip.has_value()) << s;
  return ip.value_or(IpAddress());
}

TEST(IpAddressTest, ParsesAndFormatsV4) {
  IpAddress a = Ip("192.168.1.20");
  EXPECT_TRUE(a.is_v4());
  EXPECT_TRUE(a.IsV4Mapped());
  EXPECT_EQ(a.v4(), 0xC0A80114u);
  EXPECT_EQ(a.ToString(), "192.168.1.20");
  EXPECT_EQ(Ip("0.0.0.0").ToString(), "0.0.0.0");
  EXPECT_EQ(Ip("255.255.255.255").ToString(), "255.255.255.255");
  EXPECT_EQ(IpAddress::V4(0x0A000001).ToString(), "10.0.0.1");
}

TEST(IpAddressTest, RejectsInvalidV4) {
  for (std::string_view s : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-1", "01.2.3.4", "1.2.3.04", "1..2.3",
                             "1.2.3.4 ", " 1.2.3.4", "1.2.3.4/24", "a.b.c.d", "1.2.3.1000", "0x1.2.3.4"})
    EXPECT_FALSE(IpAddress::Parse(s).has_value()) << s;
}

TEST(IpAddressTest, ParsesAndFormatsV6Canonically) {
  struct Case {
    std::string_view in, out;
  } cases[] = {
      {"::", "::"},
      {"::1", "::1"},
      {"1::", "1::"},
      {"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
      {"2001:0db8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1"},  // first of equal runs
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},                  // a single zero group stays
      {"2001:db8:0:0:1:0:0:0", "2001:db8:0:0:1::"},                      // the longest run wins
      {"fe80::0202:b3ff:fe1e:8329", "fe80::202:b3ff:fe1e:8329"},
      {"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
      {"::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
      {"::1.2.3.4", "::102:304"},
      {"64:ff9b::192.0.2.33", "64:ff9b::c000:221"},
  };
  for (const auto& c : cases) {
    IpAddress a = Ip(c.in);
    EXPECT_FALSE(a.is_v4()) << c.in;
    EXPECT_EQ(a.ToString(), c.out) << c.in;
    EXPECT_EQ(Ip(c.out), a) << "round trip " << c.out;
  }
}

TEST(IpAddressTest, V4MappedV6) {
  IpAddress m = Ip("::ffff:10.1.2.3");
  EXPECT_FALSE(m.is_v4());
  EXPECT_TRUE(m.IsV4Mapped());
  EXPECT_EQ(m.ToString(), "::ffff:10.1.2.3");
  EXPECT_EQ(Ip("::FFFF:0a01:0203").ToString(), "::ffff:10.1.2.3");
  IpAddress v4 = Ip("10.1.2.3");
  EXPECT_NE(m, v4);  // strict: written differently
  EXPECT_TRUE(m.SameAddress(v4));
  EXPECT_EQ(m.Unmapped(), v4);
  EXPECT_EQ(m.Unmapped().ToString(), "10.1.2.3");
  EXPECT_FALSE(Ip("::1").IsV4Mapped());
  EXPECT_EQ(Ip("::1").Unmapped(), Ip("::1"));
}

TEST(IpAddressTest, RejectsInvalidV6) {
  for (std::string_view s :
       {":", ":::", "1:2:3:4:5:6:7:8:9", "1::2::3", ":1::", "1:2:3:4:5:6:7", "12345::", "g::1", "1:", ":1", "1::2:",
        "fe80::1%eth0", "[::1]", "::1/128", "1:2:3:4:5:6:7:8::", "1:2:3:4:5:6:7:1.2.3.4", "::ffff:1.2.3",
        "::ffff:256.1.1.1", "1.2.3.4::", "::1.2.3.4:5", " ::1"})
    EXPECT_FALSE(IpAddress::Parse(s).has_value()) << s;
}

TEST(IpAddressTest, InNetwork) {
  EXPECT_TRUE(Ip("10.1.2.3").InNetwork(Ip("10.0.0.0"), 8));
  EXPECT_FALSE(Ip("11.1.2.3").InNetwork(Ip("10.0.0.0"), 8));
  EXPECT_TRUE(Ip("192.168.1.130").InNetwork(Ip("192.168.1.128"), 25));
  EXPECT_FALSE(Ip("192.168.1.127").InNetwork(Ip("192.168.1.128"), 25));
  EXPECT_TRUE(Ip("::ffff:10.9.9.9").InNetwork(Ip("10.0.0.0"), 8));
  EXPECT_TRUE(Ip("1.2.3.4").InNetwork(Ip("0.0.0.0"), 0));
  EXPECT_FALSE(Ip("2001:db8::1").InNetwork(Ip("10.0.0.0"), 8));
  EXPECT_TRUE(Ip("2001:db8::1").InNetwork(Ip("2001:db8::"), 32));
  EXPECT_FALSE(Ip("2001:db9::1").InNetwork(Ip("2001:db8::"), 32));
  EXPECT_FALSE(Ip("1.2.3.4").InNetwork(Ip("1.2.3.4"), 33));
}

TEST(ValueTest, KindsAndAccessors) {
  EXPECT_TRUE(Value().is_null());
  EXPECT_EQ(Value::String("abc").str(), "abc");
  EXPECT_EQ(Value::Int(-5).int_value(), -5);
  EXPECT_EQ(Value::Float(1.5).float_value(), 1.5);
  EXPECT_TRUE(Value::Bool(true).bool_value());
  EXPECT_EQ(Value::Ip(Ip("1.2.3.4")).ip(), Ip("1.2.3.4"));
  EXPECT_EQ(Value::Time({42}).time().ns, 42);
  EXPECT_EQ(ValueKindName(Value::Ip(Ip("::1")).kind()), "ip");
}

TEST(ValueTest, AsIntConversions) {
  EXPECT_EQ(Value::String("4688").AsInt(), 4688);
  EXPECT_EQ(Value::String("-12").AsInt(), -12);
  EXPECT_EQ(Value::String("+12").AsInt(), 12);
  EXPECT_EQ(Value::String("0x1a2c").AsInt(), 0x1a2c);
  EXPECT_EQ(Value::String("9223372036854775807").AsInt(), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(Value::String("-9223372036854775808").AsInt(), std::numeric_limits<std::int64_t>::min());
  EXPECT_FALSE(Value::String("9223372036854775808").AsInt());
  EXPECT_FALSE(Value::String("12a").AsInt());
  EXPECT_FALSE(Value::String(" 12").AsInt());
  EXPECT_FALSE(Value::String("").AsInt());
  EXPECT_FALSE(Value::String("-").AsInt());
  EXPECT_FALSE(Value::String("0x").AsInt());
  EXPECT_FALSE(Value::String("1.5").AsInt());
  EXPECT_EQ(Value::Float(3.0).AsInt(), 3);
  EXPECT_FALSE(Value::Float(3.5).AsInt());
  EXPECT_FALSE(Value::Float(1e300).AsInt());
  EXPECT_FALSE(Value::Bool(true).AsInt());
  EXPECT_FALSE(Value().AsInt());
}

TEST(ValueTest, OtherConversions) {
  EXPECT_EQ(Value::String("1.5e3").AsFloat(), 1500.0);
  EXPECT_FALSE(Value::String("nan").AsFloat());
  EXPECT_FALSE(Value::String("inf").AsFloat());
  EXPECT_EQ(Value::Int(7).AsFloat(), 7.0);
  EXPECT_EQ(Value::String("TRUE").AsBool(), true);
  EXPECT_EQ(Value::String("false").AsBool(), false);
  EXPECT_FALSE(Value::String("1").AsBool());
  EXPECT_EQ(Value::String("::1").AsIp(), Ip("::1"));
  EXPECT_FALSE(Value::String("localhost").AsIp());
  EXPECT_EQ(Value::String("1970-01-01T00:00:01Z").AsTime(), core::Timestamp{1'000'000'000});
  EXPECT_FALSE(Value::String("yesterday").AsTime());
}

TEST(ValueTest, TextForms) {
  EXPECT_EQ(Value().ToString(), "");
  EXPECT_EQ(Value::Int(-42).ToString(), "-42");
  EXPECT_EQ(Value::Float(0.1).ToString(), "0.1");
  EXPECT_EQ(Value::Float(NAN).ToString(), "NaN");
  EXPECT_EQ(Value::Float(-INFINITY).ToString(), "-Infinity");
  EXPECT_EQ(Value::Bool(false).ToString(), "false");
  EXPECT_EQ(Value::Ip(Ip("2001:db8::1")).ToString(), "2001:db8::1");
  EXPECT_EQ(Value::Time({0}).ToString(), "1970-01-01T00:00:00Z");
  EXPECT_EQ(Value::Time({1'500'000'000}).ToString(), "1970-01-01T00:00:01.500Z");
  EXPECT_EQ(Value::Time({1'000'001'000}).ToString(), "1970-01-01T00:00:01.000001Z");
  EXPECT_EQ(Value::Time({1}).ToString(), "1970-01-01T00:00:00.000000001Z");
  EXPECT_EQ(Value::Time({-1}).ToString(), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(Value::Time(*core::ParseRfc3339("2024-03-03T10:01:02+08:00")).ToString(), "2024-03-03T02:01:02Z");
  TextBuffer buf;
  const char* raw = "view";
  EXPECT_EQ(Value::String(raw).AsText(buf).data(), raw);  // strings are not copied
}

TEST(ValueTest, StrictEquality) {
  EXPECT_EQ(Value::String("a"), Value::String("a"));
  EXPECT_NE(Value::String("4688"), Value::Int(4688));
  EXPECT_NE(Value::Int(1), Value::Float(1.0));
  EXPECT_EQ(Value(), Value());
  EXPECT_NE(Value::Ip(Ip("1.2.3.4")), Value::Ip(Ip("::ffff:1.2.3.4")));
  EXPECT_NE(Value::Float(NAN), Value::Float(NAN));
}

TEST(ValueTest, LooseEqualityAcrossKinds) {
  EXPECT_TRUE(LooseEquals(Value::String("4688"), Value::Int(4688)));
  EXPECT_TRUE(LooseEquals(Value::Int(4688), Value::String("4688")));
  EXPECT_FALSE(LooseEquals(Value::String("4689"), Value::Int(4688)));
  EXPECT_TRUE(LooseEquals(Value::String("0x10"), Value::Int(16)));
  EXPECT_TRUE(LooseEquals(Value::String("1.5"), Value::Float(1.5)));
  EXPECT_TRUE(LooseEquals(Value::String("2"), Value::Float(2.0)));
  EXPECT_TRUE(LooseEquals(Value::Int(2), Value::Float(2.0)));
  EXPECT_FALSE(LooseEquals(Value::Int(2), Value::Float(2.5)));
  EXPECT_FALSE(LooseEquals(Value::String("abc"), Value::Int(0)));
  EXPECT_TRUE(LooseEquals(Value::String("10.0.0.1"), Value::Ip(Ip("10.0.0.1"))));
  EXPECT_TRUE(LooseEquals(Value::Ip(Ip("::ffff:10.0.0.1")), Value::Ip(Ip("10.0.0.1"))));
  EXPECT_TRUE(LooseEquals(Value::String("True"), Value::Bool(true)));
  EXPECT_TRUE(LooseEquals(Value::String("1970-01-01T08:00:00+08:00"), Value::Time({0})));
  EXPECT_TRUE(LooseEquals(Value(), Value()));
  EXPECT_FALSE(LooseEquals(Value(), Value::String("")));
  EXPECT_FALSE(LooseEquals(Value::Int(1), Value::Bool(true)));
  EXPECT_FALSE(LooseEquals(Value::String("10"), Value::String("10.0")));  // strings stay strings
  EXPECT_FALSE(LooseEquals(Value::Float(NAN), Value::Float(NAN)));
}

TEST(ValueTest, LooseOrdering) {
  EXPECT_EQ(LooseCompare(Value::Int(9), Value::String("10")), std::partial_ordering::less);
  EXPECT_EQ(LooseCompare(Value::String("9"), Value::String("10")), std::partial_ordering::greater);
  EXPECT_EQ(LooseCompare(Value::Int(5), Value::Float(5.5)), std::partial_ordering::less);
  EXPECT_EQ(LooseCompare(Value::Float(-5.5), Value::Int(-5)), std::partial_ordering::less);
  EXPECT_EQ(LooseCompare(Value::Int(std::numeric_limits<std::int64_t>::max()), Value::Float(9.3e18)),
            std::partial_ordering::less);
  // 2^53 + 1 is not representable as a double: comparison must stay exact.
  EXPECT_EQ(LooseCompare(Value::Int((std::int64_t{1} << 53) + 1), Value::Float(9007199254740992.0)),
            std::partial_ordering::greater);
  EXPECT_EQ(LooseCompare(Value::Ip(Ip("10.0.0.1")), Value::Ip(Ip("10.0.0.2"))), std::partial_ordering::less);
  EXPECT_EQ(LooseCompare(Value::Time({1}), Value::Time({2})), std::partial_ordering::less);
  EXPECT_EQ(LooseCompare(Value::Int(1), Value()), std::partial_ordering::unordered);
}

}  // namespace
}  // namespace medsoc::event
