#include "triage/alert_json.h"

#include <gtest/gtest.h>

#include <string>

namespace medsoc::triage {
namespace {

using nlohmann::json;

std::string ErrorOf(const json& j) {
  auto r = ParseAlertInput(j);
  EXPECT_FALSE(r.ok()) << j.dump();
  return r.ok() ? std::string() : r.error().message();
}

TEST(AlertJsonTest, ParsesEveryField) {
  const json j = json::parse(R"({
    "rule_id": "suricata:2019401", "rule_title": "ET SCAN", "source": "suricata", "level": "high",
    "action": "blocked", "attack_technique": "T1046", "attack_tactic": "discovery", "host": "pacs-01",
    "user": "alice", "src_ip": "203.0.113.9", "dst_ip": "10.1.2.20", "asset_id": "a-1", "event_id": "ev-7",
    "tags": ["attack.t1046", "attack.discovery"], "intel_hits": ["203.0.113.9"],
    "event_time": "2026-03-02T10:00:00.5+08:00", "matched_fields": {"dest_port": 104, "proto": "TCP"},
    "vendor_extra": {"ignored": true}})");
  auto r = ParseAlertInput(j);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const AlertInput& a = *r;
  EXPECT_EQ(a.rule_id, "suricata:2019401");
  EXPECT_EQ(a.rule_title, "ET SCAN");
  EXPECT_EQ(a.source, SourceKind::kSuricata);
  EXPECT_EQ(a.level, Level::kHigh);
  EXPECT_EQ(a.action, SensorAction::kBlocked);
  EXPECT_EQ(a.attack_technique, "T1046");
  EXPECT_EQ(a.attack_tactic, "discovery");
  EXPECT_EQ(a.host, "pacs-01");
  EXPECT_EQ(a.user, "alice");
  EXPECT_EQ(a.src_ip, "203.0.113.9");
  EXPECT_EQ(a.dst_ip, "10.1.2.20");
  EXPECT_EQ(a.asset_id, "a-1");
  EXPECT_EQ(a.event_id, "ev-7");
  EXPECT_EQ(a.tags, (std::vector<std::string>{"attack.t1046", "attack.discovery"}));
  EXPECT_EQ(a.intel_hits, std::vector<std::string>{"203.0.113.9"});
  EXPECT_EQ(a.event_time, *core::ParseRfc3339("2026-03-02T02:00:00.5Z"));
  ASSERT_EQ(a.matched_fields.size(), 2u);
  EXPECT_EQ(a.matched_fields[0], (std::pair<std::string, std::string>{"dest_port", "104"}));
  EXPECT_EQ(a.matched_fields[1], (std::pair<std::string, std::string>{"proto", "TCP"}));
}

TEST(AlertJsonTest, DefaultsAndNulls) {
  auto r = ParseAlertInput(json::parse(R"({"rule_id": "r1", "rule_title": null, "level": null, "tags": null})"));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->rule_title, "r1");
  EXPECT_EQ(r->source, SourceKind::kSigma);
  EXPECT_EQ(r->level, Level::kMedium);
  EXPECT_EQ(r->action, SensorAction::kDetected);
  EXPECT_EQ(r->event_time.ns, 0);
  EXPECT_EQ(r->tenant_id, "default");
  EXPECT_TRUE(r->tags.empty());
}

TEST(AlertJsonTest, ErrorsNameTheField) {
  EXPECT_EQ(ErrorOf(json::array()), "an alert must be a JSON object");
  EXPECT_EQ(ErrorOf(json::object()), "rule_id: required (a non-empty string)");
  EXPECT_EQ(ErrorOf({{"rule_id", ""}}), "rule_id: required (a non-empty string)");
  EXPECT_EQ(ErrorOf({{"rule_id", 7}}), "rule_id: must be a string");
  EXPECT_EQ(ErrorOf({{"rule_id", "r"}, {"level", "urgent"}}),
            "level: unknown level 'urgent' (informational, low, medium, high, critical)");
  EXPECT_EQ(ErrorOf({{"rule_id", "r"}, {"source", "edr"}}).rfind("source: unknown source 'edr'", 0), 0u);
  EXPECT_EQ(ErrorOf({{"rule_id", "r"}, {"action", "allowed"}}), "action: must be detected or blocked, not 'allowed'");
  EXPECT_EQ(ErrorOf({{"rule_id", "r"}, {"host", json::array({"a"})}}), "host: must be a string");
  EXPECT_EQ(ErrorOf({{"rule_id", "r"}, {"tags", "attack.t1"}}), "tags: must be an array of strings");
  EXPECT_EQ(ErrorOf({{"rule_id", "r"}, {"intel_hits", json::array({"x", 1})}}), "intel_hits: element 1 must be a string");
  EXPECT_EQ(ErrorOf({{"rule_id", "r"}, {"event_time", "yesterday"}}).rfind("event_time: ", 0), 0u);
  EXPECT_EQ(ErrorOf({{"rule_id", "r"}, {"matched_fields", json::array()}}), "matched_fields: must be an object");
}

TEST(AlertJsonTest, RoundTrips) {
  AlertInput a;
  a.rule_id = "av:Ransom.Lockbit";
  a.rule_title = "勒索软件 Lockbit";
  a.source = SourceKind::kAntivirus;
  a.level = Level::kCritical;
  a.action = SensorAction::kBlocked;
  a.host = "fs01";
  a.user = "bob";
  a.tags = {"attack.impact"};
  a.intel_hits = {"e3b0c442"};
  a.event_time = core::Timestamp{1'772'000'000'123'456'789};
  a.matched_fields = {{"file.path", "D:\\share\\x.lockbit"}};
  auto r = ParseAlertInput(AlertInputToJson(a));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(AlertInputToJson(*r), AlertInputToJson(a));
  EXPECT_EQ(r->event_time, a.event_time);
  EXPECT_EQ(r->matched_fields, a.matched_fields);
}

}  // namespace
}  // namespace medsoc::triage
