// RuleService: listing and search, per-tenant enable state (persisted), custom uploads validated
// with positions, tenant isolation of custom rules, deletion, statistics, and publication into an
// attached Detector.
#include "detect/rule_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "detect/json_events.h"

namespace medsoc::detect {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBuiltin = R"(title: Shadow copies deleted
id: 7c1e0000-0000-4000-8000-000000000001
status: stable
description: vssadmin deletes shadow copies
tags: [attack.impact, attack.t1490]
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\vssadmin.exe'
    CommandLine|contains: delete shadows
  condition: sel
level: critical
---
title: Failed VPN login
id: 7c1e0000-0000-4000-8000-000000000002
name: vpn_fail
description: building block
tags: [attack.credential-access, attack.t1110]
logsource: {product: vpn, service: auth}
detection:
  sel: {event.outcome: failure}
  condition: sel
level: informational
---
title: VPN brute force
id: 7c1e0000-0000-4000-8000-000000000003
tags: [attack.credential-access, attack.t1110.001]
correlation:
  type: event_count
  rules: [vpn_fail]
  group-by: [user.name]
  timespan: 5m
  condition: {gte: 3}
level: high
)";

constexpr const char* kCustom = R"(title: Cardiology export tool started
id: 7c1e0000-0000-4000-8000-0000000000c1
description: the hospital's own rule
tags: [attack.exfiltration, attack.t1567]
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\cardioexport.exe'
  condition: sel
level: high
)";

std::string SourceDir() {
  const char* s = std::getenv("MEDSOC_SOURCE_DIR");
  return s ? s : ".";
}

class RuleServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("medsoc_rules_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "builtin");
    std::ofstream(root_ / "builtin" / "rules.yml") << kBuiltin;
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<RuleService> Open() {
    RuleServiceOptions o;
    o.logsource_dir = SourceDir() + "/content/logsources";
    o.builtin_paths = {(root_ / "builtin").string()};
    o.data_dir = (root_ / "data").string();
    auto s = RuleService::Open(o);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().ToString());
    return s.ok() ? std::move(*s) : nullptr;
  }

  static std::size_t Alerts(Detector& d, const std::string& tenant, const std::string& image) {
    event::Batch batch;
    event::Event& e = batch.Add();
    EXPECT_TRUE(FlattenJsonObject(R"({"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":")" + image +
                                      R"(","CommandLine":"x delete shadows /all"})",
                                  e)
                    .ok());
    e.set_tenant_id(tenant);
    std::vector<Alert> out;
    d.Process(batch, 0, out);
    return out.size();
  }

  fs::path root_;
};

TEST_F(RuleServiceTest, ListsAndSearches) {
  auto s = Open();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->summary().errors, 0u);
  RuleQuery q;
  auto all = s->List("hospital-a", q);
  ASSERT_EQ(all.total, 3u);
  q.tag = "attack.credential-access";
  EXPECT_EQ(s->List("hospital-a", q).total, 2u);
  q = {};
  q.tag = "attack.";
  EXPECT_EQ(s->List("hospital-a", q).total, 3u);
  q = {};
  q.text = "SHADOW";
  ASSERT_EQ(s->List("hospital-a", q).total, 1u);
  q = {};
  q.level = "high";
  auto high = s->List("hospital-a", q);
  ASSERT_EQ(high.total, 1u);
  EXPECT_EQ(high.items[0].kind, "correlation");
  EXPECT_EQ(high.items[0].correlation_type, "event_count");
  q = {};
  q.logsource = "category=process_creation";
  EXPECT_EQ(s->List("hospital-a", q).total, 1u);
  q = {};
  q.limit = 2;
  q.offset = 2;
  auto page = s->List("hospital-a", q);
  EXPECT_EQ(page.total, 3u);
  EXPECT_EQ(page.items.size(), 1u);
  auto one = s->Get("hospital-a", "7c1e0000-0000-4000-8000-000000000001");
  ASSERT_TRUE(one);
  EXPECT_NE(one->source_text.find("vssadmin"), std::string::npos);
  EXPECT_EQ(one->origin, RuleOrigin::kBuiltin);
  EXPECT_FALSE(s->Get("hospital-a", "nope"));
}

TEST_F(RuleServiceTest, EnableStateIsPerTenantAndPersisted) {
  auto s = Open();
  ASSERT_TRUE(s);
  Detector d(s->rules(), {.threads = 1});
  s->AttachDetector(&d);
  const std::string id = "7c1e0000-0000-4000-8000-000000000001";
  ASSERT_TRUE(s->SetEnabled("hospital-a", id, false).ok());
  EXPECT_FALSE(s->Get("hospital-a", id)->enabled);
  EXPECT_TRUE(s->Get("hospital-b", id)->enabled);
  EXPECT_EQ(Alerts(d, "hospital-a", "C:\\\\Windows\\\\vssadmin.exe"), 0u);
  EXPECT_EQ(Alerts(d, "hospital-b", "C:\\\\Windows\\\\vssadmin.exe"), 1u);
  RuleQuery q;
  q.enabled = false;
  EXPECT_EQ(s->List("hospital-a", q).total, 1u);
  EXPECT_EQ(s->SetEnabled("hospital-a", "no-such-rule", false).error().code(), ErrorCode::kNotFound);
  s.reset();
  auto again = Open();
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->Get("hospital-a", id)->enabled);
  ASSERT_TRUE(again->SetEnabled("hospital-a", id, true).ok());
  EXPECT_TRUE(again->Get("hospital-a", id)->enabled);
}

TEST_F(RuleServiceTest, UploadValidatesWithPositions) {
  auto s = Open();
  ASSERT_TRUE(s);
  std::vector<Problem> problems;
  // A bad modifier (line 8) and a condition naming an identifier that does not exist.
  auto r = s->Upload("hospital-a", R"(title: broken
id: 7c1e0000-0000-4000-8000-0000000000b1
description: x
tags: [attack.t1000]
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswidth: 'x'
  condition: sel
)",
                     problems);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  ASSERT_FALSE(problems.empty());
  EXPECT_EQ(problems[0].pos.file, "upload.yml");
  EXPECT_EQ(problems[0].pos.line, 8);
  EXPECT_GT(problems[0].pos.column, 0);
  EXPECT_NE(problems[0].reason.find("endswidth"), std::string::npos) << problems[0].ToString();

  problems.clear();
  r = s->Upload("hospital-a", "title: [unclosed\n", problems);
  ASSERT_FALSE(r.ok());
  ASSERT_FALSE(problems.empty());
  EXPECT_EQ(problems[0].pos.file, "upload.yml");
  EXPECT_GT(problems[0].pos.line, 0);  // yaml-cpp reports where the flow sequence ends

  problems.clear();
  std::string dup = kCustom;
  dup.replace(dup.find("0000000000c1"), 12, "000000000001");
  r = s->Upload("hospital-a", dup, problems);
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].reason.find("already used"), std::string::npos);

  problems.clear();
  std::string unmapped = kCustom;
  unmapped.replace(unmapped.find("product: windows"), 16, "product: nosuch");
  r = s->Upload("hospital-a", unmapped, problems);
  ASSERT_FALSE(r.ok());
  bool unmapped_error = false;
  for (const auto& p : problems)
    unmapped_error |= p.severity == Severity::kError && p.reason.find("must use a mapped logsource") != std::string::npos &&
                      p.pos.file == "upload.yml" && p.pos.line == 1;
  EXPECT_TRUE(unmapped_error);
  EXPECT_FALSE(fs::exists(root_ / "data" / "rules" / "custom"));
  EXPECT_EQ(s->List("hospital-a", {}).total, 3u);
}

TEST_F(RuleServiceTest, CustomRulesBelongToOneTenant) {
  auto s = Open();
  ASSERT_TRUE(s);
  Detector d(s->rules(), {.threads = 1});
  s->AttachDetector(&d);
  std::vector<Problem> problems;
  auto r = s->Upload("hospital-a", kCustom, problems);
  ASSERT_TRUE(r.ok()) << (problems.empty() ? r.error().ToString() : problems[0].ToString());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].origin, RuleOrigin::kCustom);
  const std::string id = "7c1e0000-0000-4000-8000-0000000000c1";
  EXPECT_TRUE(fs::exists(root_ / "data" / "rules" / "custom" / "hospital-a" / (id + ".yml")));
  EXPECT_TRUE(s->Get("hospital-a", id));
  EXPECT_FALSE(s->Get("hospital-b", id));
  EXPECT_EQ(s->List("hospital-b", {}).total, 3u);
  // Hot-reloaded into the detector, for its tenant only.
  EXPECT_EQ(Alerts(d, "hospital-a", "C:\\\\apps\\\\cardioexport.exe"), 1u);
  EXPECT_EQ(Alerts(d, "hospital-b", "C:\\\\apps\\\\cardioexport.exe"), 0u);
  // Another tenant cannot take the id; the owner may replace its rule.
  problems.clear();
  EXPECT_FALSE(s->Upload("hospital-b", kCustom, problems).ok());
  problems.clear();
  std::string v2 = kCustom;
  v2.replace(v2.find("level: high"), 11, "level: low");
  auto r2 = s->Upload("hospital-a", v2, problems);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(s->Get("hospital-a", id)->level, "low");
  // Survives a restart.
  s.reset();
  auto again = Open();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->Get("hospital-a", id)->level, "low");
  // Deletion: not by another tenant, not for built-ins.
  EXPECT_EQ(again->Delete("hospital-b", id).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(again->Delete("hospital-a", "7c1e0000-0000-4000-8000-000000000001").error().code(),
            ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(again->Delete("hospital-a", id).ok());
  EXPECT_FALSE(again->Get("hospital-a", id));
  EXPECT_FALSE(fs::exists(root_ / "data" / "rules" / "custom" / "hospital-a" / (id + ".yml")));
}

TEST_F(RuleServiceTest, StatsAndTop) {
  auto s = Open();
  ASSERT_TRUE(s);
  Detector d(s->rules(), {.threads = 1});
  s->AttachDetector(&d);
  for (int i = 0; i < 3; ++i) Alerts(d, "hospital-a", "C:\\\\Windows\\\\vssadmin.exe");
  auto v = s->Get("hospital-a", "7c1e0000-0000-4000-8000-000000000001");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->hits, 3u);
  EXPECT_GE(v->evaluations, 3u);
  auto top = s->Top("hospital-a", 10);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].id, v->id);
}

}  // namespace
}  // namespace medsoc::detect
