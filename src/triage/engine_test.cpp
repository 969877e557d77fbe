#include "triage/engine.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "triage/simulate.h"

namespace medsoc::triage {
namespace {

const core::Timestamp kT0 = core::Timestamp::FromSeconds(1'740'000'000);

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    assets_.Upsert({"pacs-01", "pacs-01", {"10.1.2.20"}, 5, "server", false, "server"});
    assets_.Upsert({"ws-001", "ws-001", {"10.20.0.11"}, 2, "office", false, "workstation"});
    assets_.Upsert({"ws-002", "ws-002", {"10.20.0.12"}, 2, "office", false, "workstation"});
    assets_.Upsert({"portal", "portal", {"172.16.10.10"}, 3, "dmz", true, "dmz"});
  }

  AlertInput Alert(std::string rule, Level level, std::string host, core::Timestamp t, std::string tactic = "execution") {
    AlertInput a;
    a.rule_id = rule;
    a.rule_title = "rule " + rule;
    a.level = level;
    a.host = std::move(host);
    a.event_time = t;
    a.attack_tactic = std::move(tactic);
    return a;
  }

  AssetTable assets_;
  Policy policy_;
  TriageOptions options_;
};

TEST_F(EngineTest, SameRuleSameEntityWithinWindowIsOneAlertWithCountAndFirstLastSeen) {
  Engine e(options_, &assets_, &policy_);
  auto r1 = e.Process(Alert("r1", Level::kLow, "ws-001", kT0));
  auto r2 = e.Process(Alert("r1", Level::kLow, "WS-001", kT0 + core::Minutes(30)));
  auto r3 = e.Process(Alert("r1", Level::kLow, "ws-001", kT0 + core::Minutes(80)));
  auto other = e.Process(Alert("r1", Level::kLow, "ws-002", kT0 + core::Minutes(81)));
  EXPECT_TRUE(r1.new_record);
  EXPECT_FALSE(r2.new_record);
  EXPECT_EQ(r1.alert_id, r2.alert_id);
  EXPECT_EQ(r1.alert_id, r3.alert_id);  // 50 minutes after the last occurrence: still inside the window
  EXPECT_NE(r1.alert_id, other.alert_id);
  const AlertRecord* rec = e.FindAlert(r1.alert_id);
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(rec->count, 3);
  EXPECT_EQ(rec->first_seen, kT0);
  EXPECT_EQ(rec->last_seen, kT0 + core::Minutes(80));
  auto later = e.Process(Alert("r1", Level::kLow, "ws-001", kT0 + core::Minutes(200)));
  EXPECT_TRUE(later.new_record);
}

TEST_F(EngineTest, ScoreMultipliesLevelCriticalityExposureAndIntel) {
  Engine e(options_, &assets_, &policy_);
  AlertInput a = Alert("r", Level::kHigh, "pacs-01", kT0);
  EXPECT_DOUBLE_EQ(e.Score(a, assets_.ById("pacs-01")), 90);   // 60 x 1.5
  EXPECT_DOUBLE_EQ(e.Score(a, assets_.ById("ws-001")), 48);    // 60 x 0.8
  EXPECT_DOUBLE_EQ(e.Score(a, assets_.ById("portal")), 78);    // 60 x 1.0 x 1.3
  a.intel_hits = {"203.0.113.9"};
  EXPECT_DOUBLE_EQ(e.Score(a, assets_.ById("ws-001")), 72);    // x 1.5
  a.action = SensorAction::kBlocked;
  EXPECT_DOUBLE_EQ(e.Score(a, assets_.ById("ws-001")), 21.6);  // x 0.3
}

TEST_F(EngineTest, HighAlertRaisesIncidentAndPullsInPendingAlertsOfTheEntity) {
  Engine e(options_, &assets_, &policy_);
  auto low = e.Process(Alert("phish", Level::kMedium, "ws-001", kT0));
  EXPECT_TRUE(low.incident_id.empty());
  AlertInput beacon = Alert("beacon", Level::kHigh, "", kT0 + core::Minutes(10), "command-and-control");
  beacon.src_ip = "10.20.0.11";
  beacon.dst_ip = "203.0.113.9";
  beacon.intel_hits = {"203.0.113.9"};
  auto hi = e.Process(beacon);
  ASSERT_TRUE(hi.incident_created);
  const Incident* inc = e.FindIncident(hi.incident_id);
  ASSERT_NE(inc, nullptr);
  EXPECT_EQ(inc->severity, Severity::kHigh);
  EXPECT_EQ(inc->alert_ids.size(), 2u);
  EXPECT_EQ(e.FindAlert(low.alert_id)->incident_id, inc->id);
  EXPECT_EQ(inc->tactics, (std::vector<std::string>{"execution", "command-and-control"}));
  // The external address is an observable of the incident, but does not group.
  EXPECT_NE(std::find(inc->entity_keys.begin(), inc->entity_keys.end(), "ip:203.0.113.9"), inc->entity_keys.end());
  AlertInput other = Alert("beacon", Level::kHigh, "", kT0 + core::Minutes(11), "command-and-control");
  other.src_ip = "10.20.0.12";
  other.dst_ip = "203.0.113.9";
  auto unrelated = e.Process(other);
  EXPECT_TRUE(unrelated.incident_id.empty());  // 48 on a workstation: below the threshold alone
  // A later alert on the entity joins; lateral movement to PACS makes it critical.
  AlertInput lateral = Alert("lateral", Level::kHigh, "pacs-01", kT0 + core::Hours(3), "lateral-movement");
  lateral.src_ip = "10.20.0.11";
  auto joined = e.Process(lateral);
  EXPECT_EQ(joined.incident_id, inc->id);
  EXPECT_EQ(e.FindIncident(inc->id)->severity, Severity::kCritical);
  auto staging = e.Process(Alert("archive", Level::kMedium, "pacs-01", kT0 + core::Hours(4), "collection"));
  EXPECT_EQ(staging.incident_id, inc->id);
}

TEST_F(EngineTest, RiskAccumulatesAcrossDistinctRulesAndTacticsNotRepeats) {
  Engine e(options_, &assets_, &policy_);
  for (int i = 0; i < 50; ++i) {  // one rule repeated: risk stays at one rule's score
    AlertInput a = Alert("query", Level::kMedium, "ws-001", kT0 + core::Minutes(i * 2), "collection");
    a.user = "dr1";
    EXPECT_TRUE(e.Process(a).incident_id.empty());
  }
  EXPECT_DOUBLE_EQ(e.EntityRisk("user:dr1", kT0 + core::Hours(2)), 28);
  AlertInput usb = Alert("usb", Level::kMedium, "ws-001", kT0 + core::Hours(2), "exfiltration");
  usb.user = "dr1";
  EXPECT_TRUE(e.Process(usb).incident_id.empty());  // (28 + 28) x 1.5 = 84
  AlertInput upload = Alert("upload", Level::kMedium, "", kT0 + core::Hours(3), "exfiltration");
  upload.user = "dr1";
  upload.src_ip = "10.20.0.11";
  upload.dst_ip = "198.51.100.7";
  auto r = e.Process(upload);
  ASSERT_TRUE(r.incident_created);  // (28 x 3) x 1.5 = 126
  const Incident* inc = e.FindIncident(r.incident_id);
  EXPECT_EQ(inc->raised_by, "risk");
  EXPECT_EQ(inc->severity, Severity::kHigh);
  EXPECT_EQ(inc->alert_ids.size(), 3u);
  EXPECT_EQ(inc->event_count, 52);
  // Outside the risk window the contributions are gone.
  EXPECT_DOUBLE_EQ(e.EntityRisk("user:dr1", kT0 + core::Hours(30)), 0);
}

TEST_F(EngineTest, AllowListRuleAndMaintenanceWindowSuppressWithGuardRails) {
  policy_.allow.push_back({"al1", "default", "vuln_scanner", "ip", "10.0.0.50/31", "", "", {}, {}});
  Suppression s;
  s.id = "s1";
  s.rule_id = "noisy";
  s.conditions = {{"host", {"ws-002"}}};
  s.reason = "known";
  s.expires_at = kT0 + core::Days(1);
  policy_.suppressions.push_back(s);
  MaintenanceWindow w;
  w.id = "mw";
  w.asset_ids = {"pacs-01"};
  w.starts_at = kT0;
  w.ends_at = kT0 + core::Hours(2);
  policy_.windows.push_back(w);
  Engine e(options_, &assets_, &policy_);

  AlertInput scan = Alert("scan", Level::kHigh, "", kT0);
  scan.src_ip = "10.0.0.51";
  scan.dst_ip = "10.1.2.20";
  EXPECT_EQ(e.Process(scan).suppression, SuppressionKind::kAllowList);
  scan.level = Level::kCritical;  // never allow-listed
  auto crit = e.Process(scan);
  EXPECT_EQ(crit.suppression, SuppressionKind::kNone);
  ASSERT_TRUE(crit.incident_created);

  EXPECT_EQ(e.Process(Alert("noisy", Level::kHigh, "ws-002", kT0)).suppression, SuppressionKind::kRule);
  EXPECT_EQ(e.Process(Alert("noisy", Level::kHigh, "ws-001", kT0)).suppression, SuppressionKind::kNone);
  EXPECT_EQ(e.Process(Alert("noisy", Level::kHigh, "ws-002", kT0 + core::Days(2))).suppression, SuppressionKind::kNone);

  auto maint = e.Process(Alert("svc", Level::kHigh, "pacs-01", kT0 + core::Minutes(5), "persistence"));
  EXPECT_EQ(maint.suppression, SuppressionKind::kMaintenance);
  EXPECT_EQ(maint.incident_id, crit.incident_id);  // context for the open incident on pacs-01
  EXPECT_EQ(e.FindIncident(crit.incident_id)->score, 100);  // but does not raise its score
  EXPECT_EQ(e.Process(Alert("svc", Level::kHigh, "pacs-01", kT0 + core::Hours(3))).suppression, SuppressionKind::kNone);
}

TEST_F(EngineTest, WeeklyMaintenanceWindowCrossesMidnightInLocalTime) {
  MaintenanceWindow w;
  w.asset_group = "server";
  w.weekdays = 1 << 3;  // Thursday
  w.start_minute = 22 * 60;
  w.duration_minutes = 240;
  w.utc_offset_minutes = 480;
  const AssetInfo* pacs = assets_.ById("pacs-01");
  // 2025-03-06 is a Thursday. 22:30 local = 14:30 UTC; 01:30 Friday local = 17:30 UTC Thursday.
  auto utc = [](int d, int h, int m) {
    return core::Timestamp::FromSeconds(core::DaysFromCivil(2025, 3, d) * 86400 + h * 3600 + m * 60);
  };
  EXPECT_TRUE(WindowCovers(w, pacs, utc(6, 14, 30)));
  EXPECT_TRUE(WindowCovers(w, pacs, utc(6, 17, 30)));
  EXPECT_FALSE(WindowCovers(w, pacs, utc(6, 18, 30)));  // 02:30 Friday
  EXPECT_FALSE(WindowCovers(w, pacs, utc(6, 13, 30)));  // 21:30 Thursday
  EXPECT_FALSE(WindowCovers(w, pacs, utc(5, 14, 30)));  // Wednesday
  EXPECT_FALSE(WindowCovers(w, assets_.ById("ws-001"), utc(6, 14, 30)));
}

TEST_F(EngineTest, AlertTouchingTwoNewIncidentsMergesThem) {
  Engine e(options_, &assets_, &policy_);
  auto a = e.Process(Alert("x", Level::kCritical, "ws-001", kT0));
  auto b = e.Process(Alert("y", Level::kCritical, "pacs-01", kT0 + core::Minutes(1)));
  ASSERT_TRUE(a.incident_created && b.incident_created);
  AlertInput link = Alert("lateral", Level::kHigh, "pacs-01", kT0 + core::Minutes(5), "lateral-movement");
  link.src_ip = "10.20.0.11";
  auto r = e.Process(link);
  EXPECT_EQ(r.incident_id, a.incident_id);
  EXPECT_EQ(e.FindIncident(b.incident_id)->merged_into, a.incident_id);
  EXPECT_EQ(e.FindIncident(a.incident_id)->alert_ids.size(), 3u);
  EXPECT_EQ(e.FindAlert(b.alert_id)->incident_id, a.incident_id);
  auto changes = e.TakeChanges();
  EXPECT_FALSE(changes.timeline.empty());
  EXPECT_TRUE(e.TakeChanges().alert_ids.empty());
}

TEST_F(EngineTest, ClosedIncidentAcceptsNoMoreAlerts) {
  Engine e(options_, &assets_, &policy_);
  auto a = e.Process(Alert("x", Level::kCritical, "ws-001", kT0));
  e.OnIncidentStatus(a.incident_id, IncidentStatus::kClosed);
  auto b = e.Process(Alert("z", Level::kCritical, "ws-001", kT0 + core::Minutes(3)));
  EXPECT_TRUE(b.incident_created);
  EXPECT_NE(b.incident_id, a.incident_id);
}

TEST(IpTest, CidrAndInternal) {
  EXPECT_TRUE(IpInCidr("10.0.0.51", "10.0.0.50/31"));
  EXPECT_FALSE(IpInCidr("10.0.0.52", "10.0.0.50/31"));
  EXPECT_TRUE(IpInCidr("10.0.0.60", "10.0.0.60"));
  EXPECT_TRUE(IpInCidr("fd00::1", "fc00::/7"));
  EXPECT_FALSE(IpInCidr("10.0.0.1", "fc00::/7"));
  EXPECT_FALSE(IpInCidr("not-an-ip", "10.0.0.0/8"));
  EXPECT_FALSE(IpInCidr("10.0.0.1", "10.0.0.0/33"));
  EXPECT_TRUE(IsInternalIp("172.16.10.10"));
  EXPECT_FALSE(IsInternalIp("203.0.113.9"));
}

// The evaluation: >= 95% reduction and every planted story found, for any seed. Each month
// takes ~40 s under ASan, so CI runs two seeds; MEDSOC_TRIAGE_ALL_SEEDS=1 runs all four.
TEST(SimulationTest, MonthMeetsTheGoalForSeveralSeeds) {
  std::vector<std::uint64_t> seeds = {1ull, 42ull};
  if (const char* all = std::getenv("MEDSOC_TRIAGE_ALL_SEEDS"); all != nullptr && std::string(all) == "1")
    seeds = {1ull, 3ull, 42ull, 20250301ull};
  for (std::uint64_t seed : seeds) {
    SimReport r = RunSimulation(seed, 30);
    SCOPED_TRACE(FormatSimReport(r));
    EXPECT_GT(r.alerts_in, 20000);
    EXPECT_GE(r.reduction_pct, 95.0);
    EXPECT_GE(r.stories.size(), 4u);
    EXPECT_EQ(r.stories_found, static_cast<int>(r.stories.size()));
    // No catch-all incident: the found stories are not hidden in a giant bucket.
    EXPECT_LT(r.largest_incident_alerts, 200u);
  }
}

TEST(SimulationTest, SameSeedSameScenario) {
  SimScenario a = GenerateScenario(99, 3), b = GenerateScenario(99, 3);
  ASSERT_EQ(a.alerts.size(), b.alerts.size());
  for (std::size_t i = 0; i < a.alerts.size(); i += 97) {
    EXPECT_EQ(a.alerts[i].rule_id, b.alerts[i].rule_id);
    EXPECT_EQ(a.alerts[i].event_time, b.alerts[i].event_time);
    EXPECT_EQ(a.alerts[i].host, b.alerts[i].host);
  }
  SimReport ra = RunSimulation(99, 3), rb = RunSimulation(99, 3);
  EXPECT_EQ(ra.alerts_in, rb.alerts_in);
  EXPECT_EQ(ra.incidents_out, rb.incidents_out);
  EXPECT_NE(GenerateScenario(100, 3).alerts.size(), a.alerts.size());
}

}  // namespace
}  // namespace medsoc::triage
