#include "triage/service.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "triage/sla.h"

namespace medsoc::triage {
namespace {

using store::TenantScope;

const core::Timestamp kT0 = core::Timestamp::FromSeconds(1'740'000'000);

AlertInput Alert(std::string rule, Level level, std::string host, core::Timestamp t, std::string tactic = "execution") {
  AlertInput a;
  a.rule_id = rule;
  a.rule_title = "rule " + rule;
  a.level = level;
  a.host = std::move(host);
  a.event_time = t;
  a.attack_tactic = std::move(tactic);
  a.attack_technique = "T1059";
  return a;
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = TriageService::OpenInMemoryForTest();
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    svc_ = std::move(*s);
    ASSERT_TRUE(svc_->UpsertAsset(scope_, {"pacs-01", "pacs-01", {"10.1.2.20"}, 5, "server", false, "server"}).ok());
    ASSERT_TRUE(svc_->UpsertAsset(scope_, {"ws-001", "ws-001", {"10.20.0.11"}, 2, "office", false, "workstation"}).ok());
  }
  std::unique_ptr<TriageService> svc_;
  TenantScope scope_ = TenantScope::Of("default");
  TenantScope other_ = TenantScope::Of("other");
};

TEST_F(ServiceTest, IngestPersistsAlertsIncidentsTimelineAndFigures) {
  auto r = svc_->Ingest(scope_, {Alert("a", Level::kMedium, "ws-001", kT0), Alert("a", Level::kMedium, "ws-001", kT0 + 60),
                                 Alert("b", Level::kHigh, "pacs-01", kT0 + core::Minutes(1))});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->alerts, 3);
  EXPECT_EQ(r->new_records, 2);
  EXPECT_EQ(r->incidents_created, 1);
  auto alerts = svc_->ListAlerts(scope_, {});
  ASSERT_TRUE(alerts.ok());
  ASSERT_EQ(alerts->size(), 2u);
  auto incidents = svc_->ListIncidents(scope_, {.status = "open"});
  ASSERT_TRUE(incidents.ok());
  ASSERT_EQ(incidents->size(), 1u);
  const IncidentView& inc = incidents->front();
  EXPECT_EQ(inc.number, 1);
  EXPECT_EQ(inc.incident.severity, Severity::kCritical);  // 60 x 1.5 on PACS
  auto tl = svc_->Timeline(scope_, inc.incident.id);
  ASSERT_TRUE(tl.ok());
  ASSERT_FALSE(tl->empty());
  EXPECT_EQ(tl->front().kind, "created");
  auto figures = svc_->NoiseReduction(scope_, "", "");
  ASSERT_TRUE(figures.ok());
  EXPECT_EQ((*figures)["total"]["alerts_in"], 3);
  EXPECT_EQ((*figures)["total"]["incidents"], 1);
  // Tenant isolation: the other hospital sees nothing and cannot touch the incident.
  EXPECT_TRUE(svc_->ListAlerts(other_, {})->empty());
  EXPECT_FALSE(svc_->GetIncident(other_, inc.incident.id)->has_value());
  EXPECT_EQ(svc_->Transition(other_, inc.incident.id, IncidentStatus::kAcknowledged, "x", "", "").error().code(),
            ErrorCode::kNotFound);
}

TEST_F(ServiceTest, LifecycleNeedsReviewToCloseAndCanReopen) {
  ASSERT_TRUE(svc_->Ingest(scope_, {Alert("b", Level::kHigh, "pacs-01", kT0)}).ok());
  std::string id = svc_->ListIncidents(scope_, {})->front().incident.id;
  ASSERT_TRUE(svc_->Assign(scope_, id, "u-analyst", "u-lead").ok());
  ASSERT_TRUE(svc_->Transition(scope_, id, IncidentStatus::kAcknowledged, "u-analyst", "", "").ok());
  EXPECT_EQ(svc_->Transition(scope_, id, IncidentStatus::kNew, "u-analyst", "", "").error().code(),
            ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(svc_->Transition(scope_, id, IncidentStatus::kInvestigating, "u-analyst", "", "").ok());
  ASSERT_TRUE(svc_->AddComment(scope_, id, "u-analyst", "隔离了 PACS 服务器的外联").ok());
  ASSERT_TRUE(svc_->AddEvidence(scope_, id, "pcap.txt", "text/plain", "evidence bytes", "capture", "u-analyst").ok());
  ASSERT_TRUE(svc_->AddLink(scope_, id, "finding", "F-1", "", "u-analyst").ok());
  ASSERT_TRUE(svc_->SetWatcher(scope_, id, "u-ciso", true, "u-analyst").ok());
  ASSERT_TRUE(svc_->Transition(scope_, id, IncidentStatus::kResolved, "u-analyst", "", "").ok());
  EXPECT_EQ(svc_->Transition(scope_, id, IncidentStatus::kClosed, "u-analyst", "", "").error().code(),
            ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(svc_->Transition(scope_, id, IncidentStatus::kClosed, "u-analyst", "", "复盘：补丁已安装").ok());
  auto inc = svc_->GetIncident(scope_, id);
  ASSERT_TRUE(inc.ok() && inc->has_value());
  EXPECT_EQ((*inc)->incident.status, IncidentStatus::kClosed);
  EXPECT_NE((*inc)->acknowledged_at.ns, 0);
  EXPECT_NE((*inc)->closed_at.ns, 0);
  EXPECT_EQ((*inc)->watchers, std::vector<std::string>{"u-ciso"});
  ASSERT_TRUE(svc_->Transition(scope_, id, IncidentStatus::kAcknowledged, "u-analyst", "new evidence", "").ok());
  EXPECT_EQ((*svc_->GetIncident(scope_, id))->closed_at.ns, 0);
  auto report = svc_->IncidentReport(scope_, id);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ((*report)["report_title"], "安全事件应急响应与处置报告");
  for (const char* section : {"summary", "timeline", "impact", "analysis", "disposal", "hardening_advice"})
    EXPECT_TRUE(report->contains(section)) << section;
  EXPECT_EQ((*report)["impact"]["assets"][0]["id"], "pacs-01");
  EXPECT_EQ((*report)["disposal"]["actions"].size(), 1u);
}

TEST_F(ServiceTest, SuppressionFromAlertAppliesToLaterAlertsAndFalsePositivesSuggestOne) {
  auto first = svc_->Ingest(scope_, {Alert("noisy", Level::kMedium, "ws-001", kT0)});
  ASSERT_TRUE(first.ok());
  const std::string alert_id = first->results[0].alert_id;
  auto sup = svc_->SuppressFromAlert(scope_, alert_id, {"host"}, "备份软件触发", kT0 + core::Days(30), "u-analyst");
  ASSERT_TRUE(sup.ok()) << sup.error().ToString();
  EXPECT_EQ(sup->rule_id, "noisy");
  auto later = svc_->Ingest(scope_, {Alert("noisy", Level::kMedium, "ws-001", kT0 + core::Hours(5))});
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->results[0].suppression, SuppressionKind::kRule);
  EXPECT_EQ(svc_->ListSuppressions(scope_, "active")->front().hits, 1);

  // Three false positives of one rule on one host propose a suppression, pending approval.
  for (int i = 0; i < 3; ++i) {
    auto r = svc_->Ingest(scope_, {Alert("fp-rule", Level::kLow, "pacs-01", kT0 + core::Hours(10 * (i + 1)))});
    ASSERT_TRUE(r.ok());
    Verdict v;
    v.target_kind = "alert";
    v.target_id = r->results[0].alert_id;
    v.verdict = VerdictKind::kFalsePositive;
    v.author = "u-analyst";
    ASSERT_TRUE(svc_->SetVerdict(scope_, v).ok());
  }
  auto proposed = svc_->ListSuppressions(scope_, "proposed");
  ASSERT_TRUE(proposed.ok());
  ASSERT_EQ(proposed->size(), 1u);
  EXPECT_EQ(proposed->front().rule_id, "fp-rule");
  EXPECT_EQ(svc_->Ingest(scope_, {Alert("fp-rule", Level::kLow, "pacs-01", kT0 + core::Hours(50))})->results[0].suppression,
            SuppressionKind::kNone);  // not applied before approval
  ASSERT_TRUE(svc_->ChangeSuppression(scope_, proposed->front().id, "approve", "u-lead").ok());
  EXPECT_EQ(svc_->Ingest(scope_, {Alert("fp-rule", Level::kLow, "pacs-01", kT0 + core::Hours(60))})->results[0].suppression,
            SuppressionKind::kRule);
}

TEST_F(ServiceTest, EngineStateSurvivesReopeningFromTheDatabase) {
  // A second service over the same rows (as after a restart) dedups into the stored alert.
  ASSERT_TRUE(svc_->Ingest(scope_, {Alert("b", Level::kHigh, "pacs-01", kT0)}).ok());
  auto again = svc_->Ingest(scope_, {Alert("b", Level::kHigh, "pacs-01", kT0 + core::Minutes(5))});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->results[0].new_record);
  EXPECT_EQ(svc_->ListAlerts(scope_, {})->front().count, 2);
}

TEST(SlaTest, ClocksBreachPauseAndMeet) {
  SlaPolicy p = DefaultSlaPolicies()[static_cast<int>(Severity::kCritical)];
  SlaInputs in;
  in.created_at = kT0;
  auto c = ComputeSla(p, in, kT0 + core::Minutes(10));
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].name, "acknowledge");
  EXPECT_FALSE(c[0].breached);
  c = ComputeSla(p, in, kT0 + core::Minutes(16));
  EXPECT_TRUE(c[0].breached);
  EXPECT_FALSE(c[1].breached);
  in.acknowledged_at = kT0 + core::Minutes(5);
  c = ComputeSla(p, in, kT0 + core::Minutes(40));
  EXPECT_FALSE(c[0].breached);
  EXPECT_TRUE(c[1].breached);  // not investigating within 30 minutes
  in.paused_ns = core::Minutes(20);
  c = ComputeSla(p, in, kT0 + core::Minutes(40));
  EXPECT_FALSE(c[1].breached);  // 20 of the 40 minutes were paused
  EXPECT_EQ(c[1].due_at, kT0 + core::Minutes(50));
}

TEST_F(ServiceTest, SlaBreachEscalatesOnceToTheNextTierOnDuty) {
  const core::Timestamp now = core::Now();
  ASSERT_TRUE(svc_->Ingest(scope_, {Alert("b", Level::kHigh, "pacs-01", now)}).ok());
  Shift s1;
  s1.user_id = "u-night";
  s1.display = "值班一线";
  s1.tier = 1;
  s1.starts_at = now - core::Hours(1);
  s1.ends_at = now + core::Hours(11);
  ASSERT_TRUE(svc_->AddShift(scope_, s1).ok());
  Shift s2 = s1;
  s2.user_id = "u-senior";
  s2.display = "二线专家";
  s2.tier = 2;
  ASSERT_TRUE(svc_->AddShift(scope_, s2).ok());
  EXPECT_EQ(svc_->OnDutyNow(scope_, now, 2)->front().user_id, "u-senior");
  // Clocks start at the incident's creation; 20 minutes later only "acknowledge" is breached.
  auto esc = svc_->CheckSla(now + core::Minutes(20));
  ASSERT_TRUE(esc.ok()) << esc.error().ToString();
  ASSERT_EQ(esc->size(), 1u);
  EXPECT_EQ(esc->front().clock, "acknowledge");
  EXPECT_EQ(esc->front().tier, 2);
  ASSERT_EQ(esc->front().notify.size(), 1u);
  EXPECT_EQ(esc->front().notify[0].user_id, "u-senior");
  EXPECT_TRUE(svc_->CheckSla(now + core::Minutes(21))->empty());  // once per clock
}

TEST(RotationTest, SevenByTwentyFour) {
  auto shifts = GenerateRotation({{"a", "A"}, {"b", "B"}, {"c", "C"}}, 1, kT0, 7, 8);
  ASSERT_EQ(shifts.size(), 21u);
  for (std::int64_t h = 0; h < 7 * 24; ++h) EXPECT_EQ(OnDuty(shifts, kT0 + core::Hours(h), 1).size(), 1u);
  EXPECT_EQ(OnDuty(shifts, kT0 + core::Hours(9), 1)[0].user_id, "b");
}

// The asset ledger (injected lookup) wins over the minimal table; what it does not rate comes from
// the table; hosts it does not know fall back to the table.
TEST_F(ServiceTest, ScoresAgainstInjectedAssetLookupWithTableFallback) {
  int calls = 0;
  svc_->SetAssetLookup([&calls](const std::string& tenant, const std::string& host,
                                const std::string& ip) -> std::optional<AssetInfo> {
    ++calls;
    if (tenant != "default") return std::nullopt;
    if (host == "HIS-DB01" || ip == "10.1.9.9") return AssetInfo{"L-his", "his-db01", {"10.1.9.9"}, 5, "dmz", true, "HIS"};
    if (host == "pacs-01") return AssetInfo{"L-pacs", "pacs-01", {}, 0, "medical", false, ""};  // unrated
    return std::nullopt;
  });
  auto r = svc_->Ingest(scope_, {Alert("m", Level::kMedium, "HIS-DB01", kT0),        // ledger: 35 x 1.5 x 1.3
                                 Alert("m", Level::kMedium, "pacs-01", kT0 + 1),     // ledger id, table's crit 5
                                 Alert("m", Level::kMedium, "ws-001", kT0 + 2),      // table only: crit 2
                                 Alert("m", Level::kMedium, "unknown-9", kT0 + 3)});  // default crit 3
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_DOUBLE_EQ(r->results[0].score, 68.3);
  EXPECT_TRUE(r->results[0].incident_created);
  EXPECT_DOUBLE_EQ(r->results[1].score, 52.5);
  EXPECT_DOUBLE_EQ(r->results[2].score, 28);
  EXPECT_DOUBLE_EQ(r->results[3].score, 35);
  auto his = svc_->GetAlert(scope_, r->results[0].alert_id);
  ASSERT_TRUE(his.ok() && *his);
  EXPECT_EQ((*his)->asset_id, "L-his");
  EXPECT_EQ((*his)->entity_keys, std::vector<std::string>{"asset:L-his"});
  auto pacs = svc_->GetAlert(scope_, r->results[1].alert_id);
  EXPECT_EQ((*pacs)->asset_id, "L-pacs");
  // Answers, "not found" included, are cached: the same hosts again ask nothing; an address does.
  const int before = calls;
  AlertInput by_ip = Alert("n", Level::kLow, "", kT0 + 4);
  by_ip.src_ip = "10.1.9.9";
  ASSERT_TRUE(svc_->Ingest(scope_, {Alert("m", Level::kMedium, "unknown-9", kT0 + 5), by_ip}).ok());
  EXPECT_EQ(calls, before + 1);
  // Another tenant is asked with its own id and gets nothing from this tenant's ledger.
  auto o = svc_->Ingest(other_, {Alert("m", Level::kMedium, "HIS-DB01", kT0)});
  ASSERT_TRUE(o.ok());
  EXPECT_DOUBLE_EQ(o->results[0].score, 35);
}

// GET /triage/summary's figures: counts by severity, status and SLA state from aggregate queries
// agree with the incident list and the alert list, move with time and lifecycle, and stay in the
// tenant.
TEST_F(ServiceTest, SummaryCountsOpenIncidentsBySeverityStatusAndSla) {
  const core::Timestamp now = core::Now();
  ASSERT_TRUE(svc_->Ingest(scope_, {Alert("b", Level::kHigh, "pacs-01", now)}).ok());
  auto list = svc_->ListIncidents(scope_, {.status = "open"});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  const IncidentView inc = list->front();
  const std::string id = inc.incident.id;
  const std::string sev(SeverityName(inc.incident.severity));
  const core::Timestamp created = inc.incident.created_at;
  const int ack = DefaultSlaPolicies()[static_cast<int>(inc.incident.severity)].ack_minutes;

  auto s = svc_->Summary(scope_, created + core::Minutes(1), true, true);
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_TRUE(s->incidents);
  EXPECT_TRUE(s->alerts);
  EXPECT_EQ(s->open_incidents, 1);
  EXPECT_EQ(s->by_severity.at(sev), 1);
  EXPECT_EQ(s->by_status.at("new"), 1);
  EXPECT_EQ(s->by_sla.at("on_track"), 1);
  EXPECT_EQ(s->by_sla.at("breached"), 0);
  auto open_alerts = svc_->ListAlerts(scope_, {.status = "open"});
  ASSERT_TRUE(open_alerts.ok());
  EXPECT_EQ(s->open_alerts, static_cast<std::int64_t>(open_alerts->size()));
  // Under a quarter of the acknowledge target left: at risk; past it: breached.
  EXPECT_EQ(svc_->Summary(scope_, created + core::Seconds(ack * 60 * 4 / 5), true, false)->by_sla.at("at_risk"), 1);
  EXPECT_EQ(svc_->Summary(scope_, created + core::Minutes(ack + 1), true, false)->by_sla.at("breached"), 1);
  // Only what was asked for.
  auto only_alerts = svc_->Summary(scope_, now, false, true);
  EXPECT_FALSE(only_alerts->incidents);
  EXPECT_EQ(only_alerts->open_incidents, 0);
  EXPECT_TRUE(only_alerts->by_sla.empty());

  // Lifecycle: acknowledged moves the status count; a pause shows as paused.
  ASSERT_TRUE(svc_->Transition(scope_, id, IncidentStatus::kAcknowledged, "u-analyst", "", "").ok());
  ASSERT_TRUE(svc_->SetSlaPaused(scope_, id, true, "等待设备停机", "u-analyst").ok());
  auto p = svc_->Summary(scope_, core::Now(), true, false);
  EXPECT_EQ(p->by_status.at("new"), 0);
  EXPECT_EQ(p->by_status.at("acknowledged"), 1);
  EXPECT_EQ(p->by_sla.at("paused"), 1);
  // Resolved incidents are not open.
  ASSERT_TRUE(svc_->Transition(scope_, id, IncidentStatus::kInvestigating, "u-analyst", "", "").ok());
  ASSERT_TRUE(svc_->Transition(scope_, id, IncidentStatus::kResolved, "u-analyst", "", "").ok());
  auto r = svc_->Summary(scope_, core::Now(), true, true);
  EXPECT_EQ(r->open_incidents, 0);
  EXPECT_EQ(r->by_severity.at(sev), 0);

  // Another tenant sees none of it.
  auto o = svc_->Summary(other_, created + core::Minutes(1), true, true);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->open_incidents, 0);
  EXPECT_EQ(o->open_alerts, 0);
  EXPECT_EQ(o->by_sla.at("on_track"), 0);
}

TEST(SlaStateTest, NamesOneStatePerIncident) {
  SlaClock running{.name = "acknowledge", .target_minutes = 60, .elapsed_ns = core::Minutes(10)};
  SlaClock late = running;
  late.elapsed_ns = core::Minutes(50);  // 10 of 60 minutes left: under a quarter
  SlaClock met = running;
  met.met_at = kT0;
  SlaClock over = running;
  over.breached = true;
  EXPECT_EQ(SlaStateOf({running}, false, false), "on_track");
  EXPECT_EQ(SlaStateOf({met, late}, false, false), "at_risk");
  EXPECT_EQ(SlaStateOf({met, running}, false, true), "paused");
  EXPECT_EQ(SlaStateOf({met}, false, false), "met");
  EXPECT_EQ(SlaStateOf({}, false, false), "none");
  EXPECT_EQ(SlaStateOf({running}, true, false), "breached");
  EXPECT_EQ(SlaStateOf({over}, false, true), "breached");
}

// The list loads alert ids and watchers per page in one query each; they match one incident's.
TEST_F(ServiceTest, ListedIncidentsCarryTheirOwnAlertsAndWatchers) {
  const core::Timestamp now = core::Now();
  ASSERT_TRUE(svc_->Ingest(scope_, {Alert("b", Level::kHigh, "pacs-01", now)}).ok());
  ASSERT_TRUE(svc_->Ingest(scope_, {Alert("c", Level::kHigh, "ws-001", now + core::Hours(30), "impact")}).ok());
  ASSERT_TRUE(svc_->Ingest(other_, {Alert("b", Level::kHigh, "pacs-01", now)}).ok());
  auto list = svc_->ListIncidents(scope_, {});
  ASSERT_TRUE(list.ok());
  ASSERT_FALSE(list->empty());
  ASSERT_TRUE(svc_->SetWatcher(scope_, list->front().incident.id, "u-ciso", true, "u-analyst").ok());
  ASSERT_TRUE(svc_->SetWatcher(scope_, list->front().incident.id, "u-analyst", true, "u-analyst").ok());
  list = svc_->ListIncidents(scope_, {});
  ASSERT_TRUE(list.ok());
  for (const auto& v : *list) {
    auto one = svc_->GetIncident(scope_, v.incident.id);
    ASSERT_TRUE(one.ok() && one->has_value());
    EXPECT_FALSE(v.incident.alert_ids.empty());
    EXPECT_EQ(v.alert_count, static_cast<std::int64_t>((*one)->incident.alert_ids.size()));
    EXPECT_EQ(v.incident.alert_ids, (*one)->incident.alert_ids);  // one alert each: nothing cut
    EXPECT_FALSE(v.alert_ids_truncated);
    EXPECT_EQ(v.watchers, (*one)->watchers);
  }
  EXPECT_EQ(list->front().watchers, (std::vector<std::string>{"u-analyst", "u-ciso"}));
}

// A listed incident carries its alert count and only its newest kListAlertIds alert ids; the
// detail has them all.
TEST_F(ServiceTest, ListedIncidentsCarryAlertCountAndTheNewestFewIds) {
  const core::Timestamp now = core::Now();
  std::vector<AlertInput> batch;
  for (int i = 0; i < 12; ++i)  // distinct rules on one host: 12 records, one incident
    batch.push_back(Alert("r" + std::to_string(i), Level::kHigh, "pacs-01", now + core::Minutes(i)));
  ASSERT_TRUE(svc_->Ingest(scope_, batch).ok());
  ASSERT_TRUE(svc_->Ingest(scope_, {Alert("small", Level::kCritical, "ws-001", now, "impact")}).ok());
  auto list = svc_->ListIncidents(scope_, {});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  auto all_alerts = svc_->ListAlerts(scope_, {.limit = 1000});  // newest last_seen first
  ASSERT_TRUE(all_alerts.ok());
  for (const auto& v : *list) {
    auto one = svc_->GetIncident(scope_, v.incident.id);
    ASSERT_TRUE(one.ok() && one->has_value());
    const auto& full = (*one)->incident.alert_ids;
    EXPECT_EQ((*one)->alert_count, static_cast<std::int64_t>(full.size()));
    EXPECT_FALSE((*one)->alert_ids_truncated);
    EXPECT_EQ(v.alert_count, static_cast<std::int64_t>(full.size()));
    std::vector<std::string> newest;  // the incident's alerts, newest first, as the alert list orders them
    for (const auto& a : *all_alerts)
      if (a.incident_id == v.incident.id && newest.size() < static_cast<std::size_t>(kListAlertIds)) newest.push_back(a.id);
    EXPECT_EQ(v.incident.alert_ids, newest);
    EXPECT_EQ(v.alert_ids_truncated, full.size() > static_cast<std::size_t>(kListAlertIds));
  }
  const IncidentView& big = list->front().alert_count == 12 ? list->front() : list->back();
  EXPECT_EQ(big.alert_count, 12);
  EXPECT_TRUE(big.alert_ids_truncated);
  ASSERT_EQ(big.incident.alert_ids.size(), static_cast<std::size_t>(kListAlertIds));
  EXPECT_EQ(svc_->GetAlert(scope_, big.incident.alert_ids.front()).value()->rule_id, "r11");
  EXPECT_EQ(svc_->GetAlert(scope_, big.incident.alert_ids.back()).value()->rule_id, "r7");
  // The other tenant's list counts only its own.
  ASSERT_TRUE(svc_->Ingest(other_, {Alert("b", Level::kHigh, "pacs-01", now)}).ok());
  auto theirs = svc_->ListIncidents(other_, {});
  ASSERT_TRUE(theirs.ok());
  ASSERT_EQ(theirs->size(), 1u);
  EXPECT_EQ(theirs->front().alert_count, 1);
}

// A listed incident carries its entity count and only its first kListEntities entity keys (the
// detail's first ones); the detail has them all. The entity filter looks at all of them.
TEST_F(ServiceTest, ListedIncidentsCarryEntityCountAndTheFirstFewEntities) {
  const core::Timestamp now = core::Now();
  std::vector<AlertInput> batch;
  for (int i = 0; i < 14; ++i) {  // one host, 14 accounts: one incident naming 15+ entities
    AlertInput a = Alert("logon", Level::kHigh, "pacs-01", now + core::Minutes(i));
    a.user = "nurse" + std::to_string(i);
    batch.push_back(std::move(a));
  }
  ASSERT_TRUE(svc_->Ingest(scope_, batch).ok());
  ASSERT_TRUE(svc_->Ingest(scope_, {Alert("small", Level::kCritical, "ws-001", now, "impact")}).ok());
  auto list = svc_->ListIncidents(scope_, {});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  for (const auto& v : *list) {
    auto one = svc_->GetIncident(scope_, v.incident.id);
    ASSERT_TRUE(one.ok() && one->has_value());
    const auto& full = (*one)->incident.entity_keys;
    ASSERT_FALSE(full.empty());
    EXPECT_EQ((*one)->entity_count, static_cast<std::int64_t>(full.size()));
    EXPECT_FALSE((*one)->entities_truncated);
    EXPECT_EQ(v.entity_count, static_cast<std::int64_t>(full.size()));
    const std::size_t shown = std::min(full.size(), static_cast<std::size_t>(kListEntities));
    EXPECT_EQ(v.incident.entity_keys, std::vector<std::string>(full.begin(), full.begin() + shown));
    EXPECT_EQ(v.entities_truncated, full.size() > static_cast<std::size_t>(kListEntities));
  }
  const IncidentView& big = list->front().entity_count > kListEntities ? list->front() : list->back();
  EXPECT_GE(big.entity_count, 15);
  EXPECT_TRUE(big.entities_truncated);
  EXPECT_EQ(big.incident.entity_keys.size(), static_cast<std::size_t>(kListEntities));
  const IncidentView& small = &big == &list->front() ? list->back() : list->front();
  EXPECT_FALSE(small.entities_truncated);

  // The filter finds an entity past the listed ones, and the item it returns is capped the same way.
  auto detail = svc_->GetIncident(scope_, big.incident.id);
  ASSERT_TRUE(detail.ok() && detail->has_value());
  const std::string late = (*detail)->incident.entity_keys.back();
  ASSERT_EQ(std::count(big.incident.entity_keys.begin(), big.incident.entity_keys.end(), late), 0);
  auto found = svc_->ListIncidents(scope_, {.entity = late});
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->front().incident.id, big.incident.id);
  EXPECT_EQ(found->front().incident.entity_keys, big.incident.entity_keys);
  EXPECT_EQ(found->front().entity_count, big.entity_count);
  auto host = svc_->ListIncidents(scope_, {.entity = small.incident.entity_keys.front()});
  ASSERT_TRUE(host.ok());
  ASSERT_EQ(host->size(), 1u);
  EXPECT_EQ(host->front().incident.id, small.incident.id);
  auto none = svc_->ListIncidents(scope_, {.entity = "user:nobody"});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto prefix = svc_->ListIncidents(scope_, {.entity = late.substr(0, 5)});  // whole keys only, no prefixes
  ASSERT_TRUE(prefix.ok());
  EXPECT_TRUE(prefix->empty());
  auto theirs = svc_->ListIncidents(other_, {.entity = late});
  ASSERT_TRUE(theirs.ok());
  EXPECT_TRUE(theirs->empty());
}

// The alert list pages by cursor: the pages together are the whole list in order, without
// repeats, also across alerts seen at the same instant and with filters.
TEST_F(ServiceTest, AlertListPagesByCursor) {
  const core::Timestamp now = core::Now();
  std::vector<AlertInput> batch;
  for (int i = 0; i < 11; ++i)  // pairs share a last_seen: the cursor must split ties
    batch.push_back(Alert("p" + std::to_string(i), i % 3 == 0 ? Level::kLow : Level::kHigh, i % 2 ? "pacs-01" : "ws-001",
                          now + core::Minutes(i / 2)));
  ASSERT_TRUE(svc_->Ingest(scope_, batch).ok());
  ASSERT_TRUE(svc_->Ingest(other_, {Alert("p0", Level::kHigh, "pacs-01", now)}).ok());
  auto all = svc_->ListAlerts(scope_, {.limit = 1000});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 11u);
  for (std::size_t i = 1; i < all->size(); ++i) EXPECT_GE((*all)[i - 1].last_seen.ns, (*all)[i].last_seen.ns);
  std::string some_incident;
  for (const auto& a : *all)
    if (!a.incident_id.empty()) some_incident = a.incident_id;
  ASSERT_FALSE(some_incident.empty());
  for (const std::string& incident : {std::string(), some_incident}) {
    std::vector<std::string> want;
    for (const auto& a : *all)
      if (incident.empty() || a.incident_id == incident) want.push_back(a.id);
    for (int limit : {1, 2, 3, 5}) {
      std::vector<std::string> got;
      AlertQuery q{.incident_id = incident, .limit = limit};
      for (int pages = 0; pages < 20; ++pages) {
        auto page = svc_->ListAlertPage(scope_, q);
        ASSERT_TRUE(page.ok()) << page.error().ToString();
        EXPECT_LE(page->items.size(), static_cast<std::size_t>(limit));
        for (const auto& a : page->items) got.push_back(a.id);
        if (page->next.empty()) break;
        EXPECT_EQ(page->items.size(), static_cast<std::size_t>(limit));
        q.after = page->next;
      }
      EXPECT_EQ(got, want) << "limit " << limit << " incident '" << incident << "'";
    }
  }
  // A last full page says so only when more follow.
  auto exact = svc_->ListAlertPage(scope_, {.limit = 11});
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->items.size(), 11u);
  EXPECT_TRUE(exact->next.empty());
  for (const char* bad : {"x", "1", "1.", ".1", "1.2.3", "1.x", "-"})
    EXPECT_EQ(svc_->ListAlertPage(scope_, {.after = bad}).error().code(), ErrorCode::kInvalidArgument) << bad;
}

}  // namespace
}  // namespace medsoc::triage
