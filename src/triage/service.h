// TriageService: the triage engine bound to the state database. It owns its own SQLite connection
// to the state database file (WAL lets it share the file with SqliteStateStore), one Engine per
// tenant (restored from the database on first use), and the tenant's assets and policy.
//
// Every method takes a TenantScope and touches only that tenant's rows; an id of another tenant's
// object behaves as absent (kNotFound). Ingest of a batch is one transaction: the alert records,
// incidents, timeline entries and per-day figures it produced are committed together.
//
// Thread-safety: safe to call from any thread (one mutex around the connection and the engines).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "store/sqlite/db.h"
#include "store/tenant.h"
#include "triage/engine.h"
#include "triage/sla.h"

namespace medsoc::triage {

struct AlertQuery {
  std::string status;       // open, suppressed, in_incident, closed; empty: any
  std::string source;       // empty: any
  std::string incident_id;  // empty: any
  core::Timestamp since;    // last_seen >= since; 0: any
  std::string after;        // AlertPage::next of the previous page: continue after it; empty: first page
  int limit = 100;          // capped at 1000 (the API caps it at kMaxAlertPage)
};

// The API's largest alert page; the portal pages through larger sets.
inline constexpr int kMaxAlertPage = 500;

// One page of the alert list, newest last_seen first; next is set when more may follow.
struct AlertPage {
  std::vector<AlertRecord> items;
  std::string next;  // opaque cursor for AlertQuery::after; empty: this was the last page
};

struct IncidentQuery {
  std::string status;       // a status, "open" (any open status), or empty
  std::string severity;     // empty: any
  std::string owner;
  std::string entity;       // an entity key ("host:pc7"): only incidents with it among ALL their entities; empty: any
  int limit = 100;
};

// How many alert ids each incident of ListIncidents carries (the newest); GetIncident has them all.
inline constexpr int kListAlertIds = 5;
// How many entity keys each incident of ListIncidents carries (its first); GetIncident has them all.
inline constexpr int kListEntities = 10;

// The incident as the API shows it: engine fields plus analyst-owned ones.
struct IncidentView {
  Incident incident;
  std::int64_t number = 0;
  // Alerts linked to the incident, counted in SQL. incident.alert_ids holds all of them (first seen
  // first) from GetIncident, at most kListAlertIds (newest first) from ListIncidents; truncated then.
  std::int64_t alert_count = 0;
  bool alert_ids_truncated = false;
  // The incident's entity keys: incident.entity_keys holds all of them from GetIncident, the first
  // kListEntities from ListIncidents (truncated then); entity_count counts all of them either way.
  std::int64_t entity_count = 0;
  bool entities_truncated = false;
  std::string review, impact, root_cause;
  core::Timestamp acknowledged_at, investigating_at, onsite_at, contained_at, resolved_at, closed_at;
  core::Timestamp sla_paused_at;
  std::int64_t sla_paused_ns = 0;
  int escalation_tier = 1;
  std::vector<std::string> breaches;
  std::vector<std::string> watchers;
};

struct TimelineRow {
  std::int64_t seq = 0;
  core::Timestamp at;
  std::string actor, kind, detail;
};

struct Comment {
  std::string id, author, body;
  core::Timestamp created_at;
};

// An SLA breach found by CheckSla and the people it was escalated to.
struct Escalation {
  std::string tenant_id, incident_id, clock;
  int tier = 1;
  std::vector<Shift> notify;
};

// An asset directory richer than triage's minimal table: the asset ledger, wired in by app/serve.cpp
// (triage does not depend on the assets module). Given a tenant and either a host name or an
// address (the other is empty), it returns the asset that names, or nullopt. criticality 0 means
// "not rated"; empty zone or asset_group means unknown. Called with the service's lock held: it
// must be thread-safe and must not call back into TriageService.
using AssetLookup =
    std::function<std::optional<AssetInfo>(const std::string& tenant, const std::string& host, const std::string& ip)>;

// Dashboard figures (GET /api/v1/triage/summary). Open incidents are new, acknowledged,
// investigating or contained and not merged; by_sla uses the server's clocks (ComputeSla, pauses and
// pause_statuses included). A part the caller did not ask for is left empty (incidents/alerts false).
struct TriageSummary {
  bool incidents = false, alerts = false;
  std::int64_t open_incidents = 0;
  std::map<std::string, std::int64_t> by_severity;  // critical, high, medium, low
  std::map<std::string, std::int64_t> by_status;    // new, acknowledged, investigating, contained
  std::map<std::string, std::int64_t> by_sla;       // breached, at_risk, paused, on_track, met, none
  std::int64_t open_alerts = 0;                     // alerts with status "open"
};

// One SLA state for an open incident, as the portal names them (web/src/triage.ts slaState):
// breached if escalated for a breach or any clock breached; none without clocks; paused; at_risk
// when a running clock has under a quarter of its target left; on_track; met when no clock runs.
std::string SlaStateOf(const std::vector<SlaClock>& clocks, bool escalated, bool paused);

class TriageService {
 public:
  // Opens `db_path` (the state database, already migrated to the triage schema).
  static Result<std::unique_ptr<TriageService>> Open(const std::string& db_path, TriageOptions options,
                                                     int busy_timeout_ms = 5000);
  // Tests: a private in-memory database with the state and triage migrations applied.
  static Result<std::unique_ptr<TriageService>> OpenInMemoryForTest(TriageOptions options = {});
  ~TriageService();
  TriageService(const TriageService&) = delete;
  TriageService& operator=(const TriageService&) = delete;

  // --- alerts in ---
  struct IngestSummary {
    std::int64_t alerts = 0, new_records = 0, suppressed = 0, incidents_created = 0;
    std::vector<ProcessResult> results;
  };
  // REQUIRES: every alert's tenant_id is the scope's (it is overwritten with it).
  Result<IngestSummary> Ingest(const store::TenantScope& scope, std::vector<AlertInput> alerts);

  // --- alerts ---
  Result<std::vector<AlertRecord>> ListAlerts(const store::TenantScope& scope, const AlertQuery& q);
  // The same with the cursor of the next page; kInvalidArgument for a malformed q.after.
  Result<AlertPage> ListAlertPage(const store::TenantScope& scope, const AlertQuery& q);
  Result<std::optional<AlertRecord>> GetAlert(const store::TenantScope& scope, const std::string& id);
  Status CloseAlert(const store::TenantScope& scope, const std::string& id, const std::string& actor);

  // --- incidents ---
  Result<std::vector<IncidentView>> ListIncidents(const store::TenantScope& scope, const IncidentQuery& q);
  Result<std::optional<IncidentView>> GetIncident(const store::TenantScope& scope, const std::string& id);
  // Counts for the dashboard in a few aggregate queries (no incident list).
  Result<TriageSummary> Summary(const store::TenantScope& scope, core::Timestamp now, bool incidents, bool alerts);
  // Lifecycle move; closing needs a post-incident review (here or stored before). `note` goes to
  // the timeline.
  Status Transition(const store::TenantScope& scope, const std::string& id, IncidentStatus to,
                    const std::string& actor, const std::string& note, const std::string& review);
  Status Assign(const store::TenantScope& scope, const std::string& id, const std::string& owner, const std::string& actor);
  Status SetWatcher(const store::TenantScope& scope, const std::string& id, const std::string& user, bool watch,
                    const std::string& actor);
  Result<Comment> AddComment(const store::TenantScope& scope, const std::string& id, const std::string& author,
                             const std::string& body);
  Result<std::vector<Comment>> ListComments(const store::TenantScope& scope, const std::string& id);
  Status AddLink(const store::TenantScope& scope, const std::string& id, const std::string& kind, const std::string& ref,
                 const std::string& note, const std::string& actor);
  Result<nlohmann::json> ListLinks(const store::TenantScope& scope, const std::string& id);
  // Evidence is limited to 8 MiB per file.
  Result<nlohmann::json> AddEvidence(const store::TenantScope& scope, const std::string& id, const std::string& name,
                                     const std::string& media_type, const std::string& content,
                                     const std::string& description, const std::string& actor);
  Result<nlohmann::json> ListEvidence(const store::TenantScope& scope, const std::string& id);
  Status SetAnalysis(const store::TenantScope& scope, const std::string& id, const std::optional<std::string>& impact,
                     const std::optional<std::string>& root_cause, const std::string& actor);
  Status RecordOnsite(const store::TenantScope& scope, const std::string& id, const std::string& actor);
  Status SetSlaPaused(const store::TenantScope& scope, const std::string& id, bool paused, const std::string& reason,
                      const std::string& actor);
  Result<std::vector<TimelineRow>> Timeline(const store::TenantScope& scope, const std::string& id);

  // --- exceptions ---
  Result<Suppression> CreateSuppression(const store::TenantScope& scope, Suppression s);
  // One step from an alert: its rule plus the chosen fields' values (default host/user).
  Result<Suppression> SuppressFromAlert(const store::TenantScope& scope, const std::string& alert_id,
                                        const std::vector<std::string>& fields, const std::string& reason,
                                        core::Timestamp expires_at, const std::string& author);
  Result<std::vector<Suppression>> ListSuppressions(const store::TenantScope& scope, const std::string& status);
  // approve (proposed -> active), reject, disable, enable.
  Result<Suppression> ChangeSuppression(const store::TenantScope& scope, const std::string& id, const std::string& action,
                                        const std::string& actor);
  Result<AllowEntry> CreateAllowEntry(const store::TenantScope& scope, AllowEntry e);
  Result<std::vector<AllowEntry>> ListAllowEntries(const store::TenantScope& scope);
  Status DeleteAllowEntry(const store::TenantScope& scope, const std::string& id);
  Result<MaintenanceWindow> CreateWindow(const store::TenantScope& scope, MaintenanceWindow w);
  Result<std::vector<MaintenanceWindow>> ListWindows(const store::TenantScope& scope);
  Status DeleteWindow(const store::TenantScope& scope, const std::string& id);

  // --- verdicts --- A false positive counted kSuggestAfter times for the same rule and subject
  // proposes a suppression (status "proposed"), applied only after approval.
  static constexpr int kSuggestAfter = 3;
  Result<Verdict> SetVerdict(const store::TenantScope& scope, Verdict v);
  Result<std::vector<Verdict>> ListVerdicts(const store::TenantScope& scope, const std::string& target_kind,
                                            const std::string& target_id);

  // --- figures --- per local day (from/to inclusive, "YYYY-MM-DD") and source.
  Result<nlohmann::json> NoiseReduction(const store::TenantScope& scope, const std::string& from, const std::string& to);

  // --- assets ---
  // Scoring prefers `lookup` (the asset ledger) for an alert's host and addresses and falls back to
  // the minimal table below. A ledger asset's unrated criticality, unknown group and exposure are
  // taken from the minimal table when it knows the same host or address. Results (also "not
  // found") are cached per tenant for kAssetLookupTtl. Set before the first Ingest.
  static constexpr std::int64_t kAssetLookupTtl = core::Minutes(5);
  void SetAssetLookup(AssetLookup lookup);
  // The minimal directory.
  Status UpsertAsset(const store::TenantScope& scope, const AssetInfo& a);
  Result<std::vector<AssetInfo>> ListAssets(const store::TenantScope& scope);

  // --- SLA and on-call ---
  Result<std::array<SlaPolicy, 4>> SlaPolicies(const store::TenantScope& scope);
  Status PutSlaPolicy(const store::TenantScope& scope, const SlaPolicy& p);
  Result<std::vector<SlaClock>> IncidentSla(const store::TenantScope& scope, const std::string& id, core::Timestamp now);
  // Finds newly breached clocks of every open incident of every tenant, escalates each once, and
  // writes an "sla.breach" row to the notification outbox in the same transaction (the notification
  // service delivers it to the routes of the incident's tenant, naming the on-duty people).
  Result<std::vector<Escalation>> CheckSla(core::Timestamp now);
  Result<Shift> AddShift(const store::TenantScope& scope, Shift s);
  Result<std::vector<Shift>> ListShifts(const store::TenantScope& scope, core::Timestamp from, core::Timestamp to);
  Status DeleteShift(const store::TenantScope& scope, const std::string& id);
  Result<std::vector<Shift>> OnDutyNow(const store::TenantScope& scope, core::Timestamp at, int tier);

  // --- report --- 《安全事件应急响应与处置报告》 as JSON.
  Result<nlohmann::json> IncidentReport(const store::TenantScope& scope, const std::string& id);

  const TriageOptions& options() const { return options_; }

 private:
  struct TenantState;
  TriageService(std::unique_ptr<store::sqlite::Database> db, TriageOptions options);

  Result<TenantState*> State(const std::string& tenant);  // REQUIRES: mu_ held
  Status Persist(TenantState& st, const EngineChanges& changes);
  Status AppendTimeline(const std::string& tenant, const std::string& incident, core::Timestamp at,
                        const std::string& actor, const std::string& kind, const std::string& detail);
  Result<std::optional<IncidentView>> LoadIncident(const std::string& tenant, const std::string& id);
  Status LoadAlertsAndWatchers(const std::string& tenant, IncidentView& v);  // REQUIRES: mu_ held
  // Brings the ledger's view of the alerts' hosts and addresses into st.assets. REQUIRES: mu_ held.
  void RefreshAssets(TenantState& st, const std::string& tenant, const std::vector<AlertInput>& alerts);
  Result<std::vector<Shift>> ShiftsAt(const std::string& tenant, core::Timestamp at);
  Status ReloadPolicy(TenantState& st, const std::string& tenant);
  // Announces an event to the notification service (notify_outbox), inside the caller's transaction.
  Status AppendOutbox(const std::string& tenant, std::string_view event, const std::string& incident,
                      const std::string& detail, core::Timestamp at);

  std::mutex mu_;
  std::unique_ptr<store::sqlite::Database> db_;
  TriageOptions options_;
  std::map<std::string, std::unique_ptr<TenantState>> tenants_;
  AssetLookup asset_lookup_;
};

}  // namespace medsoc::triage
