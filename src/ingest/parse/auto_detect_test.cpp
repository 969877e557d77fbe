#include "ingest/parse/auto_detect.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "ingest/parse/text_test_util.h"

namespace medsoc::ingest {
namespace {

using namespace text::testing;

std::string ContentDir() {
  const char* src = std::getenv("MEDSOC_SOURCE_DIR");
  return std::string(src ? src : ".") + "/content";
}

class AutoDetectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto problems = RegisterParsers(registry_, ContentDir());
    for (const auto& p : problems) ADD_FAILURE() << p.ToString();
  }
  std::unique_ptr<AutoDetector> Make(AutoDetectOptions o = {}) {
    auto d = AutoDetector::FromRegistry(registry_, o);
    EXPECT_TRUE(d.ok());
    return std::move(*d);
  }
  core::Registry registry_;
};

TEST_F(AutoDetectTest, RegistryHasEveryTextFormat) {
  auto names = registry_.Names<Parser>();
  for (const char* n : {"rfc3164", "rfc5424", "syslog", "cef", "leef", "kv", "auditd", "fortigate", "huawei_usg",
                        "sangfor_af", "hillstone", "h3c", "auto"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  auto a = registry_.Create<Parser>("auto");
  ASSERT_TRUE(a.ok());
  ASSERT_NE(*a, nullptr);
  EXPECT_EQ((*a)->name(), "auto");
}

TEST_F(AutoDetectTest, LocksOntoTheBestFormatAfterTheSample) {
  AutoDetectOptions o;
  o.sample_size = 4;
  auto d = Make(o);
  event::Event e;
  const std::string line = "<134>Mar  3 10:01:02 fw CEF:0|V|P|1|42|Scan|5|src=1.2.3.4";
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(ParseLine(*d, line, e).ok());
    EXPECT_EQ(d->locked(), "");
  }
  ASSERT_TRUE(ParseLine(*d, line, e).ok());
  EXPECT_EQ(d->locked(), "cef");
  EXPECT_EQ(Get(e, "source.ip"), "1.2.3.4");
}

TEST_F(AutoDetectTest, EachFormatIsRecognised) {
  const std::pair<const char*, const char*> cases[] = {
      {"<13>Mar  3 10:01:02 host sshd[1]: Accepted password for a from 1.2.3.4 port 1 ssh2", "rfc3164"},
      {"<14>1 2024-03-03T02:01:02Z h app - - - m", "rfc5424"},
      {"LEEF:1.0|V|P|1|x|src=1.2.3.4", "leef"},
      {"type=SYSCALL msg=audit(1.000:2): pid=2", "auditd"},
      {"date=2024-03-03 time=10:01:02 devid=\"FG1\" logid=\"1\" type=\"traffic\" subtype=\"forward\" srcip=1.2.3.4", "fortigate"},
      {"a=1 b=2 c=3", "kv"},
  };
  for (const auto& [line, want] : cases) {
    AutoDetectOptions o;
    o.sample_size = 1;
    auto d = Make(o);
    event::Event e;
    (void)ParseLine(*d, line, e);
    EXPECT_EQ(d->locked(), want) << line;
  }
}

TEST_F(AutoDetectTest, FallbackAndRedetection) {
  AutoDetectOptions o;
  o.sample_size = 2;
  o.redetect_after_failures = 3;
  auto d = Make(o);
  event::Event e;
  // Nothing recognisable: the lenient fallback keeps each line as a message.
  ASSERT_TRUE(ParseLine(*d, "just some words", e).ok());
  ASSERT_TRUE(ParseLine(*d, "more words", e).ok());
  EXPECT_EQ(d->locked(), "rfc3164");
  EXPECT_EQ(Get(e, "message"), "more words");

  // A source locked on rfc5424 that starts sending LEEF: single lines are rescued by the best other
  // parser; after 3 consecutive failures it samples again.
  auto d2 = Make(o);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(ParseLine(*d2, "<14>1 2024-03-03T02:01:02Z h app - - - m", e).ok());
  EXPECT_EQ(d2->locked(), "rfc5424");
  ASSERT_TRUE(ParseLine(*d2, "LEEF:1.0|V|P|1|x|src=1.2.3.4", e).ok());
  EXPECT_EQ(Get(e, "source.ip"), "1.2.3.4");
  EXPECT_EQ(e.raw(), "LEEF:1.0|V|P|1|x|src=1.2.3.4");
  ASSERT_TRUE(ParseLine(*d2, "LEEF:1.0|V|P|1|x|src=1.2.3.5", e).ok());
  ASSERT_TRUE(ParseLine(*d2, "LEEF:1.0|V|P|1|x|src=1.2.3.6", e).ok());
  EXPECT_EQ(d2->locked(), "");
  ASSERT_TRUE(ParseLine(*d2, "LEEF:1.0|V|P|1|x|src=1.2.3.7", e).ok());
  ASSERT_TRUE(ParseLine(*d2, "LEEF:1.0|V|P|1|x|src=1.2.3.8", e).ok());
  EXPECT_EQ(d2->locked(), "leef");
}

}  // namespace
}  // namespace medsoc::ingest
