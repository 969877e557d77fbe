// The triage data model: what goes in (AlertInput), what the engine keeps (AlertRecord, Incident),
// and the analyst's exceptions (Suppression, AllowEntry, MaintenanceWindow) and judgements (Verdict).
//
// AlertInput is triage's own type, so that triage does not depend on the detection engine. The
// adapters that build it (docs/triage.md, "Adapters") are thin:
//
//   detect::Alert (Sigma)   rule id/title/level/tags -> rule_*, level, tags; tags "attack.tNNNN[.NNN]"
//                           -> attack_technique, "attack.<tactic>" -> attack_tactic; the event's
//                           host.name, user.name, source.ip, destination.ip, @timestamp and id ->
//                           entity fields, event_time, event_id; matched fields -> matched_fields.
//   Suricata EVE alert      alert.signature_id -> rule_id "suricata:<sid>", alert.signature -> title,
//                           alert.severity 1/2/3 -> high/medium/low, alert.action "blocked" ->
//                           action kBlocked, src_ip/dest_ip, metadata.mitre_* -> ATT&CK.
//   WAF / firewall IPS      vendor rule id -> rule_id "<product>:<id>", action deny/drop -> kBlocked,
//                           client ip -> src_ip, the protected site's address -> dst_ip.
//   antivirus               signature name -> rule_id "av:<name>", threat category -> level
//                           (ransomware/hacktool high, trojan medium, PUP/adware low), action
//                           quarantined/deleted -> kBlocked, endpoint host and user.
//
// Thread-safety: value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/time.h"

namespace medsoc::triage {

// Where an alert came from; reported separately in the noise-reduction figures.
enum class SourceKind : std::uint8_t { kSigma, kSuricata, kWaf, kFirewallIps, kAntivirus };
inline constexpr int kSourceKinds = 5;

// Rule level (Sigma's levels; third-party severities are mapped by the adapter).
enum class Level : std::uint8_t { kInformational, kLow, kMedium, kHigh, kCritical };

// Incident severity. Ordered: a comparison means "at least as severe".
enum class Severity : std::uint8_t { kLow, kMedium, kHigh, kCritical };

// What the sensor did about the traffic: an IPS drop or a quarantined file is evidence of an
// attempt that did not succeed, and weighs less.
enum class SensorAction : std::uint8_t { kDetected, kBlocked };

enum class IncidentStatus : std::uint8_t {
  kNew, kAcknowledged, kInvestigating, kContained, kResolved, kClosed,
};

enum class AlertStatus : std::uint8_t {
  kOpen,        // scored; may raise or join an incident later (risk accumulation)
  kSuppressed,  // matched an allow-list, a suppression rule or a maintenance window
  kInIncident,  // part of an incident
  kClosed,      // closed by an analyst outside an incident
};

enum class VerdictKind : std::uint8_t { kTruePositive, kFalsePositive, kBenignTruePositive };

// Why an alert was suppressed.
enum class SuppressionKind : std::uint8_t { kNone, kAllowList, kRule, kMaintenance };

std::string_view SourceKindName(SourceKind k);      // sigma, suricata, waf, firewall_ips, antivirus
std::optional<SourceKind> ParseSourceKind(std::string_view s);
std::string_view LevelName(Level l);                // informational, low, medium, high, critical
std::optional<Level> ParseLevel(std::string_view s);
std::string_view SeverityName(Severity s);          // low, medium, high, critical
std::string_view SeverityNameZh(Severity s);        // 低, 中, 高, 严重
std::optional<Severity> ParseSeverity(std::string_view s);
std::string_view IncidentStatusName(IncidentStatus s);  // new, acknowledged, investigating, ...
std::string_view IncidentStatusNameZh(IncidentStatus s);
std::optional<IncidentStatus> ParseIncidentStatus(std::string_view s);
std::string_view AlertStatusName(AlertStatus s);    // open, suppressed, in_incident, closed
std::optional<AlertStatus> ParseAlertStatus(std::string_view s);
std::string_view VerdictName(VerdictKind v);        // true_positive, false_positive, benign_true_positive
std::optional<VerdictKind> ParseVerdict(std::string_view s);
std::string_view SuppressionKindName(SuppressionKind k);  // none, allowlist, rule, maintenance

// True for the lifecycle moves an analyst may make. Any open status may go to a later one (work can
// skip steps: a false alarm goes new -> resolved); resolved -> closed needs the post-incident review
// (checked by the caller); resolved or closed -> acknowledged is "reopen".
bool IsAllowedTransition(IncidentStatus from, IncidentStatus to);
inline bool IsOpen(IncidentStatus s) { return s < IncidentStatus::kResolved; }

// One alert as triage receives it (see the file comment for the adapters).
struct AlertInput {
  std::string tenant_id = "default";
  SourceKind source = SourceKind::kSigma;
  std::string rule_id;     // stable id: a Sigma rule's UUID, "suricata:2019401", "av:Trojan.X"
  std::string rule_title;
  Level level = Level::kMedium;
  std::vector<std::string> tags;    // e.g. "attack.t1059.001", "attack.execution"
  std::string attack_technique;     // "T1059.001"; empty when unknown
  std::string attack_tactic;        // ATT&CK tactic short name: "execution", "lateral-movement"
  SensorAction action = SensorAction::kDetected;
  // Entity fields; any may be empty.
  std::string host;        // host name as logged
  std::string user;        // account name (domain stripped by the adapter)
  std::string src_ip;
  std::string dst_ip;
  std::string asset_id;    // when the sensor knows the asset
  core::Timestamp event_time;
  std::string event_id;    // the triggering event in the event store
  std::vector<std::pair<std::string, std::string>> matched_fields;
  std::vector<std::string> intel_hits;  // threat-intelligence indicators that matched (ip, domain, hash)
};

// An entity an alert is about. Internal addresses and host names are resolved to assets when the
// asset directory knows them ("asset:<id>"); unknown internal addresses stay "ip:<addr>".
enum class EntityKind : std::uint8_t { kAsset, kHost, kUser, kIp };
struct Entity {
  EntityKind kind = EntityKind::kAsset;
  std::string value;
  bool external = false;  // an address outside the hospital's networks
  std::string Key() const;  // "asset:pacs-01", "user:alice", "ip:203.0.113.9"
  bool operator==(const Entity&) const = default;
};
std::string_view EntityKindName(EntityKind k);

// What triage needs to know about an asset. The asset module's ledger extends this.
struct AssetInfo {
  std::string id;
  std::string name;            // host name
  std::vector<std::string> ips;
  int criticality = 3;         // 1 (lab printer) .. 5 (HIS, PACS, EMR database)
  std::string zone;            // network zone: "dmz", "server", "office", "medical-device", ...
  bool internet_facing = false;
  std::string asset_group;     // used by suppressions, maintenance windows and routing
};

// A deduplicated alert: the same rule on the same entity within the dedup window.
struct AlertRecord {
  std::string id;
  std::string tenant_id;
  std::string dedup_key;
  SourceKind source = SourceKind::kSigma;
  std::string rule_id;
  std::string rule_title;
  Level level = Level::kMedium;
  std::string attack_technique;
  std::string attack_tactic;
  std::string host, user, src_ip, dst_ip, asset_id;  // of the first occurrence (asset resolved)
  std::vector<std::string> entity_keys;              // resolved entities, Entity::Key()
  double score = 0;                                  // 0..100, the highest of its occurrences
  core::Timestamp first_seen, last_seen;
  std::int64_t count = 0;
  AlertStatus status = AlertStatus::kOpen;
  SuppressionKind suppression = SuppressionKind::kNone;
  std::string suppressed_by;                         // id of the allow-list entry, rule or window
  std::string incident_id;
  std::string last_event_id;
  std::vector<std::pair<std::string, std::string>> matched_fields;  // of the first occurrence
  std::vector<std::string> intel_hits;
  bool blocked = false;
  std::optional<VerdictKind> verdict;
};

// A grouped story about one or more entities.
struct Incident {
  std::string id;
  std::string tenant_id;
  std::string title;
  Severity severity = Severity::kLow;
  IncidentStatus status = IncidentStatus::kNew;
  double score = 0;         // highest alert score
  double risk = 0;          // entity risk when it was raised or last joined
  std::string raised_by;    // "alert" (one alert scored high enough) or "risk" (accumulated)
  std::string owner;        // user id; empty: unassigned
  std::vector<std::string> entity_keys;
  std::vector<std::string> tactics;     // ATT&CK tactics in order of first appearance
  std::vector<std::string> techniques;
  std::vector<std::string> alert_ids;
  std::int64_t event_count = 0;         // raw occurrences of its alerts
  core::Timestamp created_at, updated_at, first_seen, last_seen;
  SourceKind source = SourceKind::kSigma;  // of the alert that raised it
  std::string merged_into;                 // set when merged into another incident (then closed)
  std::optional<VerdictKind> verdict;
};

// A suppression rule: alerts matching every condition are suppressed until it expires.
// status: "active", "proposed" (a suggestion awaiting approval), "disabled", "rejected".
struct FieldCondition {
  std::string field;                // host, user, src_ip, dst_ip, asset_id, or a matched field name
  std::vector<std::string> values;  // any of; an IP field accepts CIDR ("10.0.5.0/24")
};
struct Suppression {
  std::string id;
  std::string tenant_id;
  std::string status = "active";
  std::string rule_id;              // empty: any rule
  std::vector<FieldCondition> conditions;
  std::string asset_group;          // empty: any
  std::string reason;               // required
  std::string author;               // user id
  std::string approved_by;
  std::string origin = "manual";    // manual, alert, suggestion
  core::Timestamp created_at;
  core::Timestamp expires_at;       // 0: never (the API requires an expiry unless explicitly permanent)
  std::int64_t hits = 0;
  core::Timestamp last_hit_at;
};

// Known-benign sources: vulnerability scanners, backup jobs, monitoring systems.
struct AllowEntry {
  std::string id;
  std::string tenant_id;
  std::string category;   // vuln_scanner, backup, monitoring, other
  std::string kind;       // ip (address or CIDR; matches the alert's source address), user, host
  std::string value;
  std::string comment;
  std::string author;
  core::Timestamp created_at;
  core::Timestamp expires_at;  // 0: never
};

// Planned work on assets. One-off (starts_at..ends_at) or weekly (weekdays mask, bit 0 = Monday,
// local start minute and duration, in the given UTC offset), bounded by starts_at..ends_at.
struct MaintenanceWindow {
  std::string id;
  std::string tenant_id;
  std::string name;
  std::vector<std::string> asset_ids;   // any of these assets ...
  std::string asset_group;              // ... or any asset of this group
  core::Timestamp starts_at, ends_at;
  int weekdays = 0;                     // 0: one-off window
  int start_minute = 0;                 // local minutes after midnight (weekly)
  int duration_minutes = 0;             // (weekly)
  int utc_offset_minutes = 480;         // China Standard Time
  std::string author;
};

struct Verdict {
  std::string id;
  std::string tenant_id;
  std::string target_kind;  // alert, incident
  std::string target_id;
  VerdictKind verdict = VerdictKind::kTruePositive;
  std::string comment;
  std::string author;
  core::Timestamp created_at;
};

// Severity from a 0..100 score: critical >= 85, high >= 60, medium >= 35, else low.
Severity SeverityForScore(double score);

// True when `ip` is a literal IPv4/IPv6 address inside `cidr` ("10.0.0.0/8", or an address alone).
bool IpInCidr(std::string_view ip, std::string_view cidr);
// RFC 1918, loopback, link-local, CGNAT and IPv6 ULA/link-local: the hospital's own networks.
bool IsInternalIp(std::string_view ip);

}  // namespace medsoc::triage
