// The triage engine: turns a stream of alerts into deduplicated alert records and a few incidents.
//
// For each AlertInput, in event-time order:
//
//   resolve entities ─► exceptions ─► dedup ─► score ─► entity risk ─► join / merge / raise
//
//   entities   host name, addresses and asset id resolved through the AssetTable; user; external
//              addresses kept as observables but never used to group (an internet scanner touches
//              everything).
//   exceptions Policy::Match (allow-list, suppression rule, maintenance window).
//   dedup      the same rule on the same subject (asset/host, user, internal source address)
//              within dedup_window is one AlertRecord with a count and first/last seen.
//   score      base(level) x asset criticality x exposure (internet-facing) x threat intel,
//              capped at 100; a blocked attempt (IPS drop, quarantined file) weighs blocked_weight.
//   risk       per entity (user, internal asset or address), over risk_window: the sum over
//              distinct rules of each rule's highest score, times 1 + 0.5 per extra distinct ATT&CK
//              tactic (at most x2.5). Repeating one rule does not add risk; a chain across
//              tactics does (risk-based alerting). Blocked attempts from outside add no risk.
//   grouping   internal assets, addresses and users; a user active on more than max_user_fanout
//              assets within risk_window (an administrator) stops grouping.
//   incidents  an alert joins the open incident of any of its entities (last activity within
//              join_window, incident younger than max_incident_span); when it touches several
//              still-new incidents they are merged into the oldest. Otherwise it raises an incident
//              when its own score reaches incident_score (not for blocked attempts) or an entity's
//              risk reaches risk_threshold; the entity's pending alerts within risk_window (incl.
//              maintenance-window context) are pulled in.
//   severity   SeverityForScore(highest alert score); an incident raised or joined at risk >=
//              risk_threshold is at least high, at 2x the threshold critical.
//
// The engine is deterministic given its inputs (ids aside) and does no I/O: TriageService persists
// what TakeChanges() reports; `medsoc triage simulate` runs it alone.
//
// Thread-safety: not thread-safe; the owner serializes calls.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "triage/model.h"
#include "triage/policy.h"

namespace medsoc::triage {

struct TriageOptions {
  std::int64_t dedup_window_ns = core::Hours(1);        // same rule + subject within this: one alert
  std::int64_t join_window_ns = core::Hours(48);        // an incident idle longer accepts no alerts
  std::int64_t max_incident_span_ns = core::Hours(72);  // nor does one older than this
  std::int64_t risk_window_ns = core::Hours(24);        // entity risk accumulates over this
  double incident_score = 60;    // one alert at or above this raises an incident
  double risk_threshold = 100;   // entity risk at or above this raises an incident
  std::size_t max_user_fanout = 4;  // a user on more assets than this within risk_window does not group
  double blocked_weight = 0.3;   // score factor for blocked attempts
  double exposure_factor = 1.3;  // internet-facing asset
  double intel_factor = 1.5;     // threat-intelligence hit
  int utc_offset_minutes = 480;  // local day for the per-period figures (China Standard Time)
};

// Per-source counters of one period.
struct NoiseCounters {
  std::int64_t alerts_in = 0;          // raw alerts received
  std::int64_t alert_records = 0;      // after dedup
  std::int64_t suppressed = 0;         // raw alerts suppressed (allow-list, rule, window)
  std::int64_t incidents = 0;          // incidents raised by an alert of this source
};

struct TimelineEntry {
  std::string incident_id;
  core::Timestamp at;
  std::string actor = "triage";
  std::string kind;    // created, alert_added, merged, merged_into, severity_changed, related
  std::string detail;  // short text; ids of what was involved
};

// What Process() did with one alert.
struct ProcessResult {
  std::string alert_id;
  bool new_record = false;
  SuppressionKind suppression = SuppressionKind::kNone;
  double score = 0;
  std::string incident_id;      // empty: not (yet) part of an incident
  bool incident_created = false;
};

// Everything that changed since the last TakeChanges(), for persistence.
struct EngineChanges {
  std::vector<std::string> alert_ids;
  std::vector<std::string> incident_ids;
  std::vector<TimelineEntry> timeline;
  std::vector<std::int64_t> days;  // local days whose counters changed
};

class Engine {
 public:
  // REQUIRES: assets and policy outlive the engine; the caller may change them between calls.
  Engine(TriageOptions options, const AssetTable* assets, const Policy* policy);

  ProcessResult Process(const AlertInput& alert);

  const AlertRecord* FindAlert(const std::string& id) const;
  const Incident* FindIncident(const std::string& id) const;
  Incident* MutableIncident(const std::string& id);
  const std::vector<std::string>& incident_order() const { return incident_order_; }  // creation order
  std::size_t alert_count() const { return alerts_.size(); }

  // Per local day (days since epoch in options.utc_offset_minutes) and source.
  const std::map<std::int64_t, std::array<NoiseCounters, kSourceKinds>>& counters() const { return counters_; }

  // An analyst changed an incident's status (closed incidents accept no more alerts) or an alert's.
  void OnIncidentStatus(const std::string& incident_id, IncidentStatus status);

  // Restores hot state after a restart: alerts and incidents whose last activity is recent.
  void Restore(std::vector<AlertRecord> alerts, std::vector<Incident> incidents);

  // Forgets alerts and incidents idle for longer than every window (they stay in the store).
  void Compact(core::Timestamp now);

  EngineChanges TakeChanges();

  const TriageOptions& options() const { return options_; }

  // Score of one alert against its resolved primary asset (exposed for tests and the API).
  double Score(const AlertInput& alert, const AssetInfo* asset) const;
  // Current risk of an entity key at time `at`.
  double EntityRisk(const std::string& entity_key, core::Timestamp at);

 private:
  struct Contribution {
    core::Timestamp at;
    std::string rule_id;
    std::string tactic;
    double score = 0;
    std::string alert_id;
    bool context_only = false;  // maintenance-window alert: joins incidents, adds no risk
  };
  struct Resolved {
    std::vector<Entity> entities;
    const AssetInfo* primary = nullptr;  // asset the alert is about (host, then asset id, then address)
  };

  Resolved Resolve(const AlertInput& a) const;
  std::string DedupKey(const AlertInput& a, const Resolved& r) const;
  bool Joinable(const Incident& inc, core::Timestamp at) const;
  void AddToIncident(Incident& inc, AlertRecord& rec, core::Timestamp at, bool record_timeline);
  void MergeInto(Incident& target, Incident& other, core::Timestamp at);
  Incident& CreateIncident(const AlertRecord& trigger, const Resolved& r, core::Timestamp at, bool by_risk, double risk);
  void RaiseSeverity(Incident& inc, Severity s, core::Timestamp at, const std::string& why);
  void Count(const AlertInput& a, bool new_record, bool suppressed);
  // Records the user's assets and returns how many distinct assets it touched within risk_window.
  std::size_t UserFanOut(const std::string& user_key, const std::vector<std::string>& asset_keys, core::Timestamp at);
  void Touch(const std::string& alert_id) { changed_alerts_.insert(alert_id); }
  void TouchIncident(const std::string& id) { changed_incidents_.insert(id); }

  TriageOptions options_;
  const AssetTable* assets_;
  const Policy* policy_;

  std::unordered_map<std::string, AlertRecord> alerts_;
  std::unordered_map<std::string, std::string> by_dedup_key_;     // dedup key -> latest alert id
  std::unordered_map<std::string, Incident> incidents_;
  std::vector<std::string> incident_order_;
  std::unordered_map<std::string, std::string> open_by_entity_;   // entity key -> latest incident id
  std::unordered_map<std::string, std::deque<Contribution>> risk_;  // entity key -> window
  std::unordered_map<std::string, std::vector<std::pair<core::Timestamp, std::string>>> user_assets_;

  std::map<std::int64_t, std::array<NoiseCounters, kSourceKinds>> counters_;
  std::unordered_set<std::string> changed_alerts_, changed_incidents_;
  std::unordered_set<std::int64_t> changed_days_;
  std::vector<TimelineEntry> timeline_;
};

// ATT&CK tactic short name -> Chinese display name ("lateral-movement" -> "横向移动"); the name
// itself when unknown.
std::string_view TacticNameZh(std::string_view tactic);

}  // namespace medsoc::triage
