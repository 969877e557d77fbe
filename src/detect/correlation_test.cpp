// Correlation rules: timelines at the window boundaries for every type, group-by, aliases,
// generate, chaining, bounded state with counted eviction, persistence and hot reload.
#include "detect/correlation.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "detect/detector.h"
#include "detect/json_events.h"
#include "detect/reader.h"

namespace medsoc::detect {
namespace {

constexpr const char* kMapping = R"(
product: test
field_templates: ["{}"]
logsources:
  - service: auth
)";

// Two base rules: a failed and a successful logon.
constexpr const char* kBase = R"(
title: failed logon
id: 11111111-0000-0000-0000-000000000001
name: fail
logsource: {product: test, service: auth}
detection:
  sel: {action: fail}
  condition: sel
---
title: successful logon
id: 11111111-0000-0000-0000-000000000002
name: ok
logsource: {product: test, service: auth}
detection:
  sel: {action: ok}
  condition: sel
---
title: unrelated
id: 11111111-0000-0000-0000-000000000003
logsource: {product: test, service: auth}
detection:
  sel: {action: other}
  condition: sel
)";

// An event at second `s` (plus `ms` milliseconds) of 2026-01-01.
std::string Ev(int s, const std::string& action, const std::string& user, const std::string& extra = "", int ms = 0) {
  char ts[64];
  std::snprintf(ts, sizeof ts, "2026-01-01T00:%02d:%02d.%03dZ", s / 60, s % 60, ms);
  return std::string("{\"@timestamp\":\"") + ts + "\",\"action\":\"" + action + "\",\"user\":\"" + user + "\"" +
         (extra.empty() ? "" : "," + extra) + "}";
}

class Correlation : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(ls_.LoadYaml(kMapping, "mapping.yaml").empty()); }

  std::shared_ptr<RuleSet> Load(const std::string& correlations) {
    ReadResult rr = ReadSigmaYaml(std::string(kBase) + "---\n" + correlations, "rules.yml");
    problems_ = rr.problems;
    return RuleSet::Compile(std::move(rr.docs), ls_, {}, problems_);
  }

  // Feeds `events` as one batch (stream indexes from `first`); returns every alert.
  std::vector<Alert> Run(Detector& d, const std::vector<std::string>& events, std::uint64_t first = 0) {
    event::Batch batch;
    for (const auto& j : events) {
      event::Event& e = batch.Add();
      EXPECT_TRUE(FlattenJsonObject(j, e).ok()) << j;
    }
    std::vector<Alert> out;
    d.Process(batch, first, out);
    return out;
  }

  static std::vector<Alert> Correlations(const std::vector<Alert>& all) {
    std::vector<Alert> out;
    for (const auto& a : all)
      if (a.is_correlation()) out.push_back(a);
    return out;
  }

  static std::vector<std::uint64_t> Indexes(const Alert& a) {
    std::vector<std::uint64_t> v;
    for (const auto& e : a.events) v.push_back(e.event_index);
    return v;
  }

  std::string Problems() const {
    std::string s;
    for (const auto& p : problems_) s += p.ToString() + "\n";
    return s;
  }

  LogsourceMap ls_;
  std::vector<Problem> problems_;
};

constexpr const char* kCount3In10s = R"(
title: three failures
id: 22222222-0000-0000-0000-000000000001
level: high
tags: [attack.credential-access, attack.t1110]
correlation:
  type: event_count
  rules: [fail]
  group-by: [user]
  timespan: 10s
  condition: {gte: 3}
)";

// "timespan: defines a time period in which the events must occur": both ends inclusive.
TEST_F(Correlation, EventCountWindowIncludesBothEnds) {
  auto set = Load(kCount3In10s);
  ASSERT_EQ(set->correlation_plan().correlations.size(), 1u) << Problems();
  Detector d(set, {.threads = 1});
  auto alerts = Correlations(Run(d, {Ev(0, "fail", "ann"), Ev(5, "fail", "ann"), Ev(10, "fail", "ann")}));
  ASSERT_EQ(alerts.size(), 1u);
  const Alert& a = alerts[0];
  EXPECT_EQ(a.rule_id, "22222222-0000-0000-0000-000000000001");
  EXPECT_EQ(a.correlation_type, "event_count");
  EXPECT_EQ(a.level, "high");
  EXPECT_EQ(a.value, 3);
  EXPECT_EQ(a.event_index, 2u);
  ASSERT_EQ(a.group.size(), 1u);
  EXPECT_EQ(a.group[0], (std::pair<std::string, std::string>{"user", "ann"}));
  EXPECT_EQ(Indexes(a), (std::vector<std::uint64_t>{0, 1, 2}));
  EXPECT_EQ(a.events[0].rule_id, "11111111-0000-0000-0000-000000000001");
}

TEST_F(Correlation, EventCountOneMillisecondPastTheWindowDoesNotFire) {
  Detector d(Load(kCount3In10s), {.threads = 1});
  auto alerts = Correlations(Run(d, {Ev(0, "fail", "ann"), Ev(5, "fail", "ann"), Ev(10, "fail", "ann", "", 1)}));
  EXPECT_TRUE(alerts.empty());
  // The first event fell out; two more inside the window of the second complete it.
  alerts = Correlations(Run(d, {Ev(11, "fail", "ann")}, 3));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(Indexes(alerts[0]), (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST_F(Correlation, EventCountFiresOncePerSetOfEvents) {
  Detector d(Load(kCount3In10s), {.threads = 1});
  std::vector<std::string> ev;
  for (int i = 0; i < 7; ++i) ev.push_back(Ev(i, "fail", "ann"));
  auto alerts = Correlations(Run(d, ev));
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].event_index, 2u);
  EXPECT_EQ(alerts[1].event_index, 5u);
}

TEST_F(Correlation, GroupByKeepsGroupsApart) {
  Detector d(Load(kCount3In10s), {.threads = 1});
  auto alerts = Correlations(Run(d, {Ev(0, "fail", "ann"), Ev(1, "fail", "bob"), Ev(2, "fail", "ann"),
                                     Ev(3, "fail", "bob"), Ev(4, "fail", "bob")}));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].group[0].second, "bob");
  EXPECT_EQ(Indexes(alerts[0]), (std::vector<std::uint64_t>{1, 3, 4}));
}

TEST_F(Correlation, BaseAlertsSuppressedUnlessGenerate) {
  {
    Detector d(Load(kCount3In10s), {.threads = 1});
    auto all = Run(d, {Ev(0, "fail", "ann"), Ev(0, "other", "ann")});
    ASSERT_EQ(all.size(), 1u);  // "fail" feeds the correlation only; "unrelated" alerts
    EXPECT_EQ(all[0].rule_id, "11111111-0000-0000-0000-000000000003");
  }
  std::string gen = kCount3In10s;
  gen += "  generate: true\n";
  Detector d(Load(gen), {.threads = 1});
  auto all = Run(d, {Ev(0, "fail", "ann"), Ev(1, "fail", "ann"), Ev(2, "fail", "ann")});
  ASSERT_EQ(all.size(), 4u);
  EXPECT_FALSE(all[2].is_correlation());
  EXPECT_TRUE(all[3].is_correlation());  // after the base alert of the event that completed it
}

TEST_F(Correlation, ValueCountCountsDistinctValues) {
  auto set = Load(R"(
title: spraying
id: 22222222-0000-0000-0000-000000000002
correlation:
  type: value_count
  rules: [fail]
  group-by: [src]
  timespan: 1m
  condition: {field: user, gte: 3}
)");
  ASSERT_EQ(set->correlation_plan().correlations.size(), 1u) << Problems();
  Detector d(set, {.threads = 1});
  auto alerts = Correlations(Run(d, {Ev(0, "fail", "ann", R"("src":"10.0.0.9")"), Ev(1, "fail", "ann", R"("src":"10.0.0.9")"),
                                     Ev(2, "fail", "bob", R"("src":"10.0.0.9")"), Ev(3, "fail", "cat", R"("src":"10.0.0.8")"),
                                     Ev(60, "fail", "cat", R"("src":"10.0.0.9")")}));
  ASSERT_EQ(alerts.size(), 1u);  // at 60 s the window [0, 60] still holds ann, bob, cat
  EXPECT_EQ(alerts[0].value, 3);
  EXPECT_EQ(alerts[0].group[0].second, "10.0.0.9");
  EXPECT_EQ(Indexes(alerts[0]), (std::vector<std::uint64_t>{0, 1, 2, 4}));
}

TEST_F(Correlation, TemporalAnyOrderWithinTimespan) {
  Detector d(Load(R"(
title: both
id: 22222222-0000-0000-0000-000000000003
correlation:
  type: temporal
  rules: [fail, ok]
  group-by: [user]
  timespan: 30s
)"), {.threads = 1});
  auto alerts = Correlations(Run(d, {Ev(0, "ok", "ann"), Ev(30, "fail", "ann"), Ev(40, "ok", "bob"), Ev(71, "fail", "bob")}));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].value, 2);
  EXPECT_EQ(Indexes(alerts[0]), (std::vector<std::uint64_t>{0, 1}));
}

TEST_F(Correlation, TemporalOrderedNeedsTheOrder) {
  Detector d(Load(R"(
title: fail then ok
id: 22222222-0000-0000-0000-000000000004
correlation:
  type: temporal_ordered
  rules: [fail, ok]
  group-by: [user]
  timespan: 30s
)"), {.threads = 1});
  // ann: wrong order; bob: fail then ok exactly 30 s later (inside); cat: 31 s later (outside).
  auto alerts = Correlations(Run(d, {Ev(0, "ok", "ann"), Ev(1, "fail", "ann"), Ev(2, "fail", "bob"), Ev(32, "ok", "bob"),
                                     Ev(40, "fail", "cat"), Ev(71, "ok", "cat")}));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].group[0].second, "bob");
  EXPECT_EQ(alerts[0].value, 2);
  EXPECT_EQ(Indexes(alerts[0]), (std::vector<std::uint64_t>{2, 3}));
}

TEST_F(Correlation, TemporalOrderedEqualTimesInArrivalOrder) {
  Detector d(Load(R"(
title: fail then ok
id: 22222222-0000-0000-0000-000000000004
correlation:
  type: temporal_ordered
  rules: [fail, ok]
  group-by: [user]
  timespan: 30s
)"), {.threads = 1});
  EXPECT_EQ(Correlations(Run(d, {Ev(40, "fail", "cat"), Ev(40, "ok", "cat")})).size(), 1u);
  EXPECT_EQ(Correlations(Run(d, {Ev(50, "ok", "dan"), Ev(50, "fail", "dan")}, 2)).size(), 0u);
}

TEST_F(Correlation, ValueSumAvgPercentile) {
  auto set = Load(R"(
title: sum
id: 22222222-0000-0000-0000-000000000005
correlation:
  type: value_sum
  rules: [ok]
  group-by: [user]
  timespan: 1m
  condition: {field: bytes, gt: 1000}
---
title: avg
id: 22222222-0000-0000-0000-000000000006
correlation:
  type: value_avg
  rules: [ok]
  group-by: [user]
  timespan: 1m
  condition: {field: bytes, gte: 400}
---
title: p90
id: 22222222-0000-0000-0000-000000000007
correlation:
  type: value_percentile
  rules: [ok]
  group-by: [user]
  timespan: 1m
  condition: {field: bytes, percentile: 90, gte: 900}
)");
  ASSERT_EQ(set->correlation_plan().correlations.size(), 3u) << Problems();
  Detector d(set, {.threads = 1});
  auto alerts = Correlations(Run(d, {Ev(0, "ok", "ann", R"("bytes":300)"), Ev(1, "ok", "ann", R"("bytes":"500")"),
                                     Ev(2, "ok", "ann", R"("bytes":"n/a")"), Ev(3, "ok", "ann", R"("bytes":201)")}));
  // avg after 2 values: 400 -> fires (index 1); sum reaches 1001 at index 3 (the avg group was
  // cleared at index 1, 201 alone is below 400); p90 of {300,500,201} is 500 < 900.
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].correlation_type, "value_avg");
  EXPECT_EQ(alerts[0].value, 400);
  EXPECT_EQ(alerts[1].correlation_type, "value_sum");
  EXPECT_EQ(alerts[1].value, 1001);
  EXPECT_EQ(alerts[1].event_index, 3u);
  // Nearest rank: 10 values 100..1000, p90 is the 9th = 900.
  std::vector<std::string> ev;
  for (int i = 1; i <= 10; ++i) ev.push_back(Ev(10 + i, "ok", "bob", "\"bytes\":" + std::to_string(i * 100)));
  alerts = Correlations(Run(d, ev, 4));
  std::vector<Alert> p90;
  for (const auto& a : alerts)
    if (a.correlation_type == "value_percentile") p90.push_back(a);
  ASSERT_EQ(p90.size(), 2u);
  EXPECT_EQ(p90[0].value, 900);
  EXPECT_EQ(p90[0].event_index, 12u);  // the 9th value completes it
  EXPECT_EQ(p90[1].value, 1000);       // the group restarted: the 10th value alone is >= 900
  EXPECT_EQ(p90[1].event_index, 13u);
}

TEST_F(Correlation, AliasesMapFieldsPerRule) {
  auto set = Load(R"(
title: failure on one account then success on the same as target
id: 22222222-0000-0000-0000-000000000008
correlation:
  type: temporal_ordered
  rules: [fail, ok]
  group-by: [account]
  timespan: 1m
  aliases:
    account:
      fail: user
      ok: target
)");
  ASSERT_EQ(set->correlation_plan().correlations.size(), 1u) << Problems();
  Detector d(set, {.threads = 1});
  auto alerts = Correlations(Run(d, {Ev(0, "fail", "ann"), Ev(1, "ok", "admin", R"("target":"ann")")}));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].group[0], (std::pair<std::string, std::string>{"account", "ann"}));
}

TEST_F(Correlation, ChainedCorrelationCarriesContributingEvents) {
  auto set = Load(R"(
title: brute force succeeded
id: 22222222-0000-0000-0000-000000000009
level: critical
correlation:
  type: temporal_ordered
  rules: [many_fails, ok]
  group-by: [user]
  timespan: 5m
---
title: many failures
id: 22222222-0000-0000-0000-00000000000a
name: many_fails
correlation:
  type: event_count
  rules: [fail]
  group-by: [user]
  timespan: 1m
  condition: {gte: 3}
)");
  ASSERT_EQ(set->correlation_plan().correlations.size(), 2u) << Problems();
  Detector d(set, {.threads = 1});
  auto all = Run(d, {Ev(0, "fail", "ann"), Ev(1, "fail", "ann"), Ev(2, "ok", "ann"), Ev(3, "fail", "ann"),
                     Ev(4, "ok", "ann")});
  // The inner correlation and the base rules say nothing (generate: false). The ok at index 2
  // came before the inner correlation fired (at index 3), so only the ok at 4 completes the order;
  // every entry of the window contributes, the inner alert's events included.
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].rule_id, "22222222-0000-0000-0000-000000000009");
  EXPECT_EQ(all[0].level, "critical");
  EXPECT_EQ(all[0].event_index, 4u);
  EXPECT_EQ(Indexes(all[0]), (std::vector<std::uint64_t>{0, 1, 2, 3, 4}));
}

TEST_F(Correlation, ReferenceProblemsHavePositions) {
  Load(R"(
title: broken
id: 22222222-0000-0000-0000-00000000000b
correlation:
  type: event_count
  rules: [no_such_rule]
  group-by: [user]
  timespan: 1m
  condition: {gte: 3}
---
title: loop a
id: loop-a
correlation:
  type: temporal
  rules: [loop-b, ok]
  timespan: 1m
---
title: loop b
id: loop-b
correlation:
  type: temporal
  rules: [loop-a, ok]
  timespan: 1m
)");
  const std::string p = Problems();
  bool found = false;
  for (const auto& pr : problems_)
    if (pr.rule_id == "22222222-0000-0000-0000-00000000000b") {
      found = true;
      EXPECT_EQ(pr.severity, Severity::kError);
      EXPECT_EQ(pr.pos.file, "rules.yml");
      EXPECT_EQ(pr.pos.line, 29);  // the correlation map of the broken document
      EXPECT_EQ(pr.pos.column, 3);
      EXPECT_NE(pr.reason.find("correlation references 'no_such_rule'"), std::string::npos);
    }
  EXPECT_TRUE(found) << p;
  EXPECT_NE(p.find("[loop-a] correlation is part of a reference cycle"), std::string::npos) << p;
  EXPECT_NE(p.find("[loop-b] correlation is part of a reference cycle"), std::string::npos) << p;
}

TEST_F(Correlation, EvictionIsCounted) {
  DetectorOptions opt{.threads = 1};
  opt.correlation.max_groups = 2;
  opt.correlation.max_entries_per_group = 2;
  Detector d(Load(kCount3In10s), opt);
  Run(d, {Ev(0, "fail", "ann"), Ev(1, "fail", "bob"), Ev(2, "fail", "cat")});
  EXPECT_EQ(d.correlation_counters().evicted_groups.load(), 1u);  // ann, least recently updated
  EXPECT_EQ(d.correlation_counters().groups.load(), 2u);
  // Three events in one group with room for two: the oldest is evicted, so 3 is never reached.
  auto alerts = Correlations(Run(d, {Ev(3, "fail", "bob"), Ev(4, "fail", "bob")}, 3));
  EXPECT_TRUE(alerts.empty());
  EXPECT_EQ(d.correlation_counters().evicted_entries.load(), 1u);
}

TEST_F(Correlation, LateAndIncompleteEntriesAreCounted) {
  Detector d(Load(kCount3In10s), {.threads = 1});
  Run(d, {Ev(100, "fail", "ann"), Ev(80, "fail", "bob"), R"({"@timestamp":"2026-01-01T00:01:41Z","action":"fail"})"});
  EXPECT_EQ(d.correlation_counters().late_entries.load(), 1u);
  EXPECT_EQ(d.correlation_counters().missing_group_field.load(), 1u);
  // Out of order but inside the watermark's window: accepted and placed in time order.
  auto alerts = Correlations(Run(d, {Ev(95, "fail", "ann"), Ev(92, "fail", "ann")}, 3));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(Indexes(alerts[0]), (std::vector<std::uint64_t>{4, 3, 0}));
}

TEST_F(Correlation, GroupsNeverMixTenants) {
  Detector d(Load(kCount3In10s), {.threads = 1});
  event::Batch batch;
  const char* tenants[] = {"hosp-a", "hosp-b", "hosp-a", "hosp-b", "hosp-a"};
  for (int i = 0; i < 5; ++i) {
    event::Event& e = batch.Add();
    ASSERT_TRUE(FlattenJsonObject(Ev(i, "fail", "admin"), e).ok());
    e.set_tenant_id(tenants[i]);
  }
  std::vector<Alert> out;
  d.Process(batch, 0, out);
  auto alerts = Correlations(out);
  ASSERT_EQ(alerts.size(), 1u);  // hosp-a's third failure; hosp-b has two
  EXPECT_EQ(Indexes(alerts[0]), (std::vector<std::uint64_t>{0, 2, 4}));
}

TEST_F(Correlation, TimespanThatCannotBeRepresentedIsRejected) {
  std::string huge = kCount3In10s;
  huge.replace(huge.find("timespan: 10s"), 13, "timespan: 999999w");
  auto set = Load(huge);
  EXPECT_EQ(set->correlation_plan().correlations.size(), 0u);
  EXPECT_NE(Problems().find("is too long"), std::string::npos) << Problems();
}

class CorrelationFiles : public Correlation {
 protected:
  void SetUp() override {
    Correlation::SetUp();
    dir_ = std::filesystem::temp_directory_path() /
           ("medsoc_corr_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(CorrelationFiles, StateSurvivesARestart) {
  const std::string path = (dir_ / "detect" / "correlation.state").string();
  {
    Detector d(Load(kCount3In10s), {.threads = 1});
    Run(d, {Ev(0, "fail", "ann"), Ev(1, "fail", "ann"), Ev(2, "fail", "bob")});
    ASSERT_TRUE(d.SaveCorrelationState(path).ok());
  }
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  Detector d(Load(kCount3In10s), {.threads = 1});
  auto st = d.LoadCorrelationState(path);
  ASSERT_TRUE(st.ok()) << st.error().ToString();
  EXPECT_EQ(d.correlation_counters().restored_groups.load(), 2u);
  auto alerts = Correlations(Run(d, {Ev(3, "fail", "ann")}, 3));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(Indexes(alerts[0]), (std::vector<std::uint64_t>{0, 1, 3}));

  // A changed definition does not inherit the old state.
  std::string changed = kCount3In10s;
  changed.replace(changed.find("timespan: 10s"), 13, "timespan: 20s");
  Detector d2(Load(changed), {.threads = 1});
  ASSERT_TRUE(d2.LoadCorrelationState(path).ok());
  EXPECT_EQ(d2.correlation_counters().restored_groups.load(), 0u);
  EXPECT_EQ(d2.correlation_counters().dropped_on_restore.load(), 2u);
}

TEST_F(CorrelationFiles, ChainedStateRoundTrip) {
  const std::string rules = R"(
title: outer
id: outer
correlation:
  type: temporal_ordered
  rules: [inner, ok]
  group-by: [user]
  timespan: 5m
---
title: inner
id: inner
correlation:
  type: event_count
  rules: [fail]
  group-by: [user]
  timespan: 1m
  condition: {gte: 2}
)";
  const std::string path = (dir_ / "c.state").string();
  {
    Detector d(Load(rules), {.threads = 1});
    Run(d, {Ev(0, "fail", "ann"), Ev(1, "fail", "ann")});
    ASSERT_TRUE(d.SaveCorrelationState(path).ok());
  }
  Detector d(Load(rules), {.threads = 1});
  ASSERT_TRUE(d.LoadCorrelationState(path).ok());
  auto alerts = Correlations(Run(d, {Ev(2, "ok", "ann")}, 2));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(Indexes(alerts[0]), (std::vector<std::uint64_t>{0, 1, 2}));
}

TEST_F(CorrelationFiles, CorruptStateIsAnError) {
  std::filesystem::create_directories(dir_);
  const std::string path = (dir_ / "bad.state").string();
  std::ofstream(path) << "{\"format\":\"something else\"}";
  Detector d(Load(kCount3In10s), {.threads = 1});
  auto st = d.LoadCorrelationState(path);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kCorruption);
  EXPECT_EQ(d.LoadCorrelationState((dir_ / "absent").string()).error().code(), ErrorCode::kNotFound);
}

TEST_F(Correlation, ReloadKeepsStateOfUnchangedCorrelations) {
  Detector d(Load(kCount3In10s), {.threads = 1});
  Run(d, {Ev(0, "fail", "ann"), Ev(1, "fail", "ann")});
  d.Reload(Load(kCount3In10s));  // same id and definition
  auto alerts = Correlations(Run(d, {Ev(2, "fail", "ann")}, 2));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(Indexes(alerts[0]), (std::vector<std::uint64_t>{0, 1, 2}));

  Run(d, {Ev(3, "fail", "bob"), Ev(4, "fail", "bob")}, 3);
  std::string changed = kCount3In10s;
  changed.replace(changed.find("gte: 3"), 6, "gte: 4");
  d.Reload(Load(changed));
  EXPECT_TRUE(Correlations(Run(d, {Ev(5, "fail", "bob"), Ev(6, "fail", "bob")}, 5)).empty());
  EXPECT_EQ(d.correlation_counters().dropped_on_restore.load(), 1u);
}

TEST_F(Correlation, DisabledCorrelationStaysDisabledAcrossReload) {
  auto set = Load(kCount3In10s);
  set->correlation_plan().enabled[0].store(false);
  Detector d(set, {.threads = 1});
  d.Reload(Load(kCount3In10s));
  EXPECT_FALSE(d.rules()->correlation_plan().enabled_at(0));
  EXPECT_TRUE(Correlations(Run(d, {Ev(0, "fail", "ann"), Ev(1, "fail", "ann"), Ev(2, "fail", "ann")})).empty());
}

}  // namespace
}  // namespace medsoc::detect
