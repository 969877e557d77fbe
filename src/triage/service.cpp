#include "triage/service.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <set>

#include "core/crypto.h"
#include "core/ids.h"
#include "core/strings.h"
#include "store/sqlite/migrations.h"
#include "triage/report.h"
#include "triage/triage_migration.h"

namespace medsoc::triage {

using nlohmann::json;
using store::TenantScope;
using store::sqlite::Database;
using store::sqlite::Statement;
using store::sqlite::Transaction;

namespace {

constexpr std::size_t kMaxEvidenceBytes = 8u << 20;

json PairsJson(const std::vector<std::pair<std::string, std::string>>& v) {
  json o = json::object();
  for (const auto& [k, val] : v) o[k] = val;
  return o;
}

std::vector<std::string> StringList(const std::string& text) {
  std::vector<std::string> out;
  auto j = json::parse(text, nullptr, false);
  if (j.is_array())
    for (const auto& x : j)
      if (x.is_string()) out.push_back(x.get<std::string>());
  return out;
}

std::string ListText(const std::vector<std::string>& v) { return json(v).dump(); }

std::string LocalDate(std::int64_t day) {
  std::int64_t y;
  unsigned m, d;
  core::CivilFromDays(day, y, m, d);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  return buf;
}

Error NotFound(const std::string& what) { return Error(ErrorCode::kNotFound, what + " not found"); }

// Column lists and row readers, kept next to each other.
constexpr const char* kAlertColumns =
    "id, tenant_id, dedup_key, source, rule_id, rule_title, level, attack_technique, attack_tactic, host, user_name, "
    "src_ip, dst_ip, asset_id, entities, score, first_seen, last_seen, count, status, suppression, suppressed_by, "
    "incident_id, last_event_id, matched_fields, intel_hits, blocked, verdict";

AlertRecord ReadAlert(Statement& s) {
  AlertRecord a;
  a.id = s.ColumnText(0);
  a.tenant_id = s.ColumnText(1);
  a.dedup_key = s.ColumnText(2);
  a.source = ParseSourceKind(s.ColumnText(3)).value_or(SourceKind::kSigma);
  a.rule_id = s.ColumnText(4);
  a.rule_title = s.ColumnText(5);
  a.level = ParseLevel(s.ColumnText(6)).value_or(Level::kMedium);
  a.attack_technique = s.ColumnText(7);
  a.attack_tactic = s.ColumnText(8);
  a.host = s.ColumnText(9);
  a.user = s.ColumnText(10);
  a.src_ip = s.ColumnText(11);
  a.dst_ip = s.ColumnText(12);
  a.asset_id = s.ColumnText(13);
  a.entity_keys = StringList(s.ColumnText(14));
  a.score = s.ColumnDouble(15);
  a.first_seen = {s.ColumnInt64(16)};
  a.last_seen = {s.ColumnInt64(17)};
  a.count = s.ColumnInt64(18);
  a.status = ParseAlertStatus(s.ColumnText(19)).value_or(AlertStatus::kOpen);
  std::string sup = s.ColumnText(20);
  a.suppression = sup == "allowlist" ? SuppressionKind::kAllowList
                  : sup == "rule"    ? SuppressionKind::kRule
                  : sup == "maintenance" ? SuppressionKind::kMaintenance
                                         : SuppressionKind::kNone;
  a.suppressed_by = s.ColumnText(21);
  a.incident_id = s.ColumnText(22);
  a.last_event_id = s.ColumnText(23);
  auto mf = json::parse(s.ColumnText(24), nullptr, false);
  if (mf.is_object())
    for (auto it = mf.begin(); it != mf.end(); ++it)
      if (it->is_string()) a.matched_fields.emplace_back(it.key(), it->get<std::string>());
  a.intel_hits = StringList(s.ColumnText(25));
  a.blocked = s.ColumnInt64(26) != 0;
  if (auto v = ParseVerdict(s.ColumnText(27))) a.verdict = *v;
  return a;
}

// Column 11 is the entity keys as a JSON array: the stored column, or for the list an expression
// that keeps only the first few (see ListIncidents).
std::string IncidentColumns(std::string_view entities = "entities") {
  return "id, tenant_id, number, title, severity, status, score, risk, raised_by, source, owner, " +
         std::string(entities) +
         ", tactics, techniques, event_count, merged_into, verdict, review, impact, root_cause, created_at, "
         "updated_at, first_seen, last_seen, acknowledged_at, investigating_at, onsite_at, contained_at, "
         "resolved_at, closed_at, sla_paused_at, sla_paused_ns, escalation_tier, breaches";
}
constexpr int kIncidentColumnCount = 34;

IncidentView ReadIncident(Statement& s) {
  IncidentView v;
  Incident& i = v.incident;
  i.id = s.ColumnText(0);
  i.tenant_id = s.ColumnText(1);
  v.number = s.ColumnInt64(2);
  i.title = s.ColumnText(3);
  i.severity = ParseSeverity(s.ColumnText(4)).value_or(Severity::kLow);
  i.status = ParseIncidentStatus(s.ColumnText(5)).value_or(IncidentStatus::kNew);
  i.score = s.ColumnDouble(6);
  i.risk = s.ColumnDouble(7);
  i.raised_by = s.ColumnText(8);
  i.source = ParseSourceKind(s.ColumnText(9)).value_or(SourceKind::kSigma);
  i.owner = s.ColumnText(10);
  i.entity_keys = StringList(s.ColumnText(11));
  v.entity_count = static_cast<std::int64_t>(i.entity_keys.size());
  i.tactics = StringList(s.ColumnText(12));
  i.techniques = StringList(s.ColumnText(13));
  i.event_count = s.ColumnInt64(14);
  i.merged_into = s.ColumnText(15);
  if (auto vd = ParseVerdict(s.ColumnText(16))) i.verdict = *vd;
  v.review = s.ColumnText(17);
  v.impact = s.ColumnText(18);
  v.root_cause = s.ColumnText(19);
  i.created_at = {s.ColumnInt64(20)};
  i.updated_at = {s.ColumnInt64(21)};
  i.first_seen = {s.ColumnInt64(22)};
  i.last_seen = {s.ColumnInt64(23)};
  v.acknowledged_at = {s.ColumnInt64(24)};
  v.investigating_at = {s.ColumnInt64(25)};
  v.onsite_at = {s.ColumnInt64(26)};
  v.contained_at = {s.ColumnInt64(27)};
  v.resolved_at = {s.ColumnInt64(28)};
  v.closed_at = {s.ColumnInt64(29)};
  v.sla_paused_at = {s.ColumnInt64(30)};
  v.sla_paused_ns = s.ColumnInt64(31);
  v.escalation_tier = static_cast<int>(s.ColumnInt64(32));
  v.breaches = StringList(s.ColumnText(33));
  return v;
}

json ConditionsJson(const std::vector<FieldCondition>& cs) {
  json a = json::array();
  for (const auto& c : cs) a.push_back({{"field", c.field}, {"values", c.values}});
  return a;
}

std::vector<FieldCondition> ParseConditions(const std::string& text) {
  std::vector<FieldCondition> out;
  auto j = json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& c : j) {
    if (!c.is_object() || !c.contains("field") || !c["field"].is_string()) continue;
    FieldCondition fc;
    fc.field = c["field"].get<std::string>();
    if (c.contains("values") && c["values"].is_array())
      for (const auto& v : c["values"])
        if (v.is_string()) fc.values.push_back(v.get<std::string>());
    out.push_back(std::move(fc));
  }
  return out;
}

constexpr const char* kSuppressionColumns =
    "id, tenant_id, status, rule_id, conditions, asset_group, reason, author, approved_by, origin, created_at, "
    "expires_at, hits, last_hit_at";

Suppression ReadSuppression(Statement& s) {
  Suppression x;
  x.id = s.ColumnText(0);
  x.tenant_id = s.ColumnText(1);
  x.status = s.ColumnText(2);
  x.rule_id = s.ColumnText(3);
  x.conditions = ParseConditions(s.ColumnText(4));
  x.asset_group = s.ColumnText(5);
  x.reason = s.ColumnText(6);
  x.author = s.ColumnText(7);
  x.approved_by = s.ColumnText(8);
  x.origin = s.ColumnText(9);
  x.created_at = {s.ColumnInt64(10)};
  x.expires_at = {s.ColumnInt64(11)};
  x.hits = s.ColumnInt64(12);
  x.last_hit_at = {s.ColumnInt64(13)};
  return x;
}

constexpr const char* kShiftColumns = "id, tenant_id, user_id, display, phone, tier, kind, starts_at, ends_at";
Shift ReadShift(Statement& s) {
  Shift x;
  x.id = s.ColumnText(0);
  x.tenant_id = s.ColumnText(1);
  x.user_id = s.ColumnText(2);
  x.display = s.ColumnText(3);
  x.phone = s.ColumnText(4);
  x.tier = static_cast<int>(s.ColumnInt64(5));
  x.kind = s.ColumnText(6);
  x.starts_at = {s.ColumnInt64(7)};
  x.ends_at = {s.ColumnInt64(8)};
  return x;
}

}  // namespace

struct TriageService::TenantState {
  AssetTable assets;
  Policy policy;
  std::unique_ptr<Engine> engine;
  std::vector<AssetInfo> table;  // the minimal directory as stored (triage_assets)
  std::unordered_map<std::string, core::Timestamp> looked_up;  // "h:<host>" / "i:<ip>" -> when asked
};

TriageService::TriageService(std::unique_ptr<Database> db, TriageOptions options)
    : db_(std::move(db)), options_(options) {}
TriageService::~TriageService() = default;

Result<std::unique_ptr<TriageService>> TriageService::Open(const std::string& db_path, TriageOptions options,
                                                           int busy_timeout_ms) {
  MEDSOC_ASSIGN_OR_RETURN(auto db, Database::Open(db_path, {.busy_timeout_ms = busy_timeout_ms}));
  MEDSOC_ASSIGN_OR_RETURN(int version, store::sqlite::CurrentSchemaVersion(*db));
  if (version < kTriageMigrationVersion)
    return Error(ErrorCode::kFailedPrecondition,
                 "state database schema version " + std::to_string(version) + " lacks the triage tables (migration " +
                     std::to_string(kTriageMigrationVersion) + ")");
  return std::unique_ptr<TriageService>(new TriageService(std::move(db), options));
}

Result<std::unique_ptr<TriageService>> TriageService::OpenInMemoryForTest(TriageOptions options) {
  MEDSOC_ASSIGN_OR_RETURN(auto db, Database::Open(":memory:", {}));
  const auto ms = TriageSchemaMigrations();
  MEDSOC_TRY(store::sqlite::RunMigrations(*db, ms));
  MEDSOC_TRY(db->ExecScript("INSERT OR IGNORE INTO tenants (id, tenant_id, name, created_at) VALUES "
                            "('other', 'other', 'other hospital', 0)"));
  return std::unique_ptr<TriageService>(new TriageService(std::move(db), options));
}

Status TriageService::ReloadPolicy(TenantState& st, const std::string& tenant) {
  Policy p;
  {
    MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("SELECT ") + kSuppressionColumns +
                                                 " FROM suppressions WHERE tenant_id = ? AND status = 'active'"));
    MEDSOC_TRY(q->BindAll(tenant));
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      p.suppressions.push_back(ReadSuppression(*q));
    }
  }
  {
    MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT id, category, kind, value, comment, author, created_at, expires_at "
                                                 "FROM allowlist_entries WHERE tenant_id = ?"));
    MEDSOC_TRY(q->BindAll(tenant));
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      p.allow.push_back({q->ColumnText(0), tenant, q->ColumnText(1), q->ColumnText(2), q->ColumnText(3), q->ColumnText(4),
                         q->ColumnText(5), {q->ColumnInt64(6)}, {q->ColumnInt64(7)}});
    }
  }
  MEDSOC_ASSIGN_OR_RETURN(auto windows, [&]() -> Result<std::vector<MaintenanceWindow>> {
    std::vector<MaintenanceWindow> out;
    MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(
        "SELECT id, name, asset_ids, asset_group, starts_at, ends_at, weekdays, start_minute, duration_minutes, "
        "utc_offset_minutes, author FROM maintenance_windows WHERE tenant_id = ?"));
    MEDSOC_TRY(q->BindAll(tenant));
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      MaintenanceWindow w;
      w.id = q->ColumnText(0);
      w.tenant_id = tenant;
      w.name = q->ColumnText(1);
      w.asset_ids = StringList(q->ColumnText(2));
      w.asset_group = q->ColumnText(3);
      w.starts_at = {q->ColumnInt64(4)};
      w.ends_at = {q->ColumnInt64(5)};
      w.weekdays = static_cast<int>(q->ColumnInt64(6));
      w.start_minute = static_cast<int>(q->ColumnInt64(7));
      w.duration_minutes = static_cast<int>(q->ColumnInt64(8));
      w.utc_offset_minutes = static_cast<int>(q->ColumnInt64(9));
      w.author = q->ColumnText(10);
      out.push_back(std::move(w));
    }
    return out;
  }());
  p.windows = std::move(windows);
  st.policy = std::move(p);
  return Ok();
}

Result<TriageService::TenantState*> TriageService::State(const std::string& tenant) {
  if (auto it = tenants_.find(tenant); it != tenants_.end()) return it->second.get();
  auto st = std::make_unique<TenantState>();
  {
    MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT id, name, ips, criticality, zone, internet_facing, asset_group "
                                                 "FROM triage_assets WHERE tenant_id = ?"));
    MEDSOC_TRY(q->BindAll(tenant));
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      st->table.push_back({q->ColumnText(0), q->ColumnText(1), StringList(q->ColumnText(2)),
                           static_cast<int>(q->ColumnInt64(3)), q->ColumnText(4), q->ColumnInt64(5) != 0,
                           q->ColumnText(6)});
      st->assets.Upsert(st->table.back());
    }
  }
  MEDSOC_TRY(ReloadPolicy(*st, tenant));
  st->engine = std::make_unique<Engine>(options_, &st->assets, &st->policy);
  // Restore hot state: alerts and open incidents active within the longest window before the
  // newest alert seen (event time, not wall time: alerts may be replayed).
  const std::int64_t horizon = std::max({options_.dedup_window_ns, options_.risk_window_ns, options_.join_window_ns,
                                         options_.max_incident_span_ns});
  std::int64_t newest = 0;
  {
    MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT COALESCE(MAX(last_seen), 0) FROM alerts WHERE tenant_id = ?"));
    MEDSOC_TRY(q->BindAll(tenant));
    MEDSOC_TRY(q->Step());
    newest = q->ColumnInt64(0);
  }
  std::vector<AlertRecord> alerts;
  std::vector<Incident> incidents;
  {
    MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("SELECT ") + kAlertColumns +
                                                 " FROM alerts WHERE tenant_id = ? AND last_seen >= ?"));
    MEDSOC_TRY(q->BindAll(tenant, newest - horizon));
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      alerts.push_back(ReadAlert(*q));
    }
  }
  {
    MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT " + IncidentColumns() +
                                                 " FROM incidents WHERE tenant_id = ? AND last_seen >= ? "
                                                 "AND status IN ('new','acknowledged','investigating','contained')"));
    MEDSOC_TRY(q->BindAll(tenant, newest - horizon));
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      incidents.push_back(ReadIncident(*q).incident);
    }
  }
  for (auto& inc : incidents) {
    for (const auto& a : alerts)
      if (a.incident_id == inc.id) inc.alert_ids.push_back(a.id);
  }
  st->engine->Restore(std::move(alerts), std::move(incidents));
  auto* raw = st.get();
  tenants_[tenant] = std::move(st);
  return raw;
}

Status TriageService::AppendTimeline(const std::string& tenant, const std::string& incident, core::Timestamp at,
                                     const std::string& actor, const std::string& kind, const std::string& detail) {
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare("INSERT INTO incident_timeline (tenant_id, incident_id, at, actor, kind, "
                                               "detail) VALUES (?, ?, ?, ?, ?, ?)"));
  MEDSOC_TRY(q->BindAll(tenant, incident, at.ns, actor, kind, detail));
  return q->Run();
}

Status TriageService::Persist(TenantState& st, const EngineChanges& changes) {
  // Incidents first: alerts and timeline rows refer to them.
  for (const auto& id : changes.incident_ids) {
    const Incident* inc = st.engine->FindIncident(id);
    if (!inc) continue;
    // What the row said before, to announce creation and severity escalation through the
    // notification outbox in this same transaction.
    std::optional<Severity> before;
    {
      MEDSOC_ASSIGN_OR_RETURN(auto b, db_->Prepare("SELECT severity FROM incidents WHERE tenant_id = ? AND id = ?"));
      MEDSOC_TRY(b->BindAll(inc->tenant_id, inc->id));
      MEDSOC_ASSIGN_OR_RETURN(bool row, b->Step());
      if (row) before = ParseSeverity(b->ColumnText(0));
    }
    if (inc->merged_into.empty() && (!before || *before < inc->severity)) {
      const json detail = before ? json{{"from_severity", SeverityName(*before)}} : json::object();
      MEDSOC_TRY(AppendOutbox(inc->tenant_id, before ? "incident.escalated" : "incident.created", inc->id,
                              detail.dump(), inc->updated_at));
    }
    MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(
        "INSERT INTO incidents (tenant_id, id, number, title, severity, status, score, risk, raised_by, source, "
        "entities, tactics, techniques, alert_count, event_count, merged_into, created_at, updated_at, first_seen, "
        "last_seen) VALUES (?1, ?2, (SELECT COALESCE(MAX(number), 0) + 1 FROM incidents WHERE tenant_id = ?1), ?3, ?4, "
        "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19) "
        "ON CONFLICT (tenant_id, id) DO UPDATE SET title = excluded.title, severity = excluded.severity, "
        "status = CASE WHEN excluded.merged_into <> '' THEN 'closed' ELSE incidents.status END, "
        "score = excluded.score, risk = excluded.risk, entities = excluded.entities, tactics = excluded.tactics, "
        "techniques = excluded.techniques, alert_count = excluded.alert_count, event_count = excluded.event_count, "
        "merged_into = excluded.merged_into, updated_at = MAX(incidents.updated_at, excluded.updated_at), "
        "first_seen = excluded.first_seen, last_seen = excluded.last_seen"));
    MEDSOC_TRY(q->BindAll(inc->tenant_id, inc->id, inc->title, SeverityName(inc->severity),
                          IncidentStatusName(inc->status), inc->score, inc->risk, inc->raised_by,
                          SourceKindName(inc->source), ListText(inc->entity_keys), ListText(inc->tactics),
                          ListText(inc->techniques), static_cast<std::int64_t>(inc->alert_ids.size()), inc->event_count,
                          inc->merged_into, inc->created_at.ns, inc->updated_at.ns, inc->first_seen.ns,
                          inc->last_seen.ns));
    MEDSOC_TRY(q->Run());
  }
  for (const auto& id : changes.alert_ids) {
    const AlertRecord* a = st.engine->FindAlert(id);
    if (!a) continue;
    MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(
        std::string("INSERT INTO alerts (") + kAlertColumns +
        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (tenant_id, id) DO UPDATE SET score = excluded.score, first_seen = excluded.first_seen, "
        "last_seen = excluded.last_seen, count = excluded.count, "
        "status = CASE WHEN alerts.status = 'closed' THEN 'closed' ELSE excluded.status END, "
        "incident_id = excluded.incident_id, last_event_id = excluded.last_event_id"));
    MEDSOC_TRY(q->BindAll(a->id, a->tenant_id, a->dedup_key, SourceKindName(a->source), a->rule_id, a->rule_title,
                          LevelName(a->level), a->attack_technique, a->attack_tactic, a->host, a->user, a->src_ip,
                          a->dst_ip, a->asset_id, ListText(a->entity_keys), a->score, a->first_seen.ns, a->last_seen.ns,
                          a->count, AlertStatusName(a->status), SuppressionKindName(a->suppression), a->suppressed_by,
                          a->incident_id, a->last_event_id, PairsJson(a->matched_fields).dump(), ListText(a->intel_hits),
                          a->blocked ? 1 : 0, a->verdict ? std::string(VerdictName(*a->verdict)) : std::string()));
    MEDSOC_TRY(q->Run());
    if (a->suppression == SuppressionKind::kRule && a->count == 1) {
      MEDSOC_ASSIGN_OR_RETURN(auto h, db_->Prepare("UPDATE suppressions SET hits = hits + 1, last_hit_at = MAX(last_hit_at, ?) "
                                                   "WHERE tenant_id = ? AND id = ?"));
      MEDSOC_TRY(h->BindAll(a->last_seen.ns, a->tenant_id, a->suppressed_by));
      MEDSOC_TRY(h->Run());
    }
  }
  for (const auto& t : changes.timeline)
    MEDSOC_TRY(AppendTimeline(st.engine->FindIncident(t.incident_id) ? st.engine->FindIncident(t.incident_id)->tenant_id
                                                                      : std::string(),
                              t.incident_id, t.at, t.actor, t.kind, t.detail));
  return Ok();
}

Result<TriageService::IngestSummary> TriageService::Ingest(const TenantScope& scope, std::vector<AlertInput> alerts) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(TenantState * st, State(scope.tenant_id()));
  IngestSummary sum;
  // Per-day figures are deltas of the engine's counters over this batch.
  auto before = st->engine->counters();
  if (asset_lookup_) RefreshAssets(*st, scope.tenant_id(), alerts);
  for (auto& a : alerts) {
    a.tenant_id = scope.tenant_id();
    if (a.event_time.ns == 0) a.event_time = core::Now();
    if (a.rule_id.empty()) return Error(ErrorCode::kInvalidArgument, "alert without rule_id");
    ProcessResult r = st->engine->Process(a);
    ++sum.alerts;
    sum.new_records += r.new_record;
    sum.suppressed += r.suppression != SuppressionKind::kNone && r.suppression != SuppressionKind::kMaintenance;
    sum.incidents_created += r.incident_created;
    sum.results.push_back(std::move(r));
  }
  EngineChanges changes = st->engine->TakeChanges();
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_));
  MEDSOC_TRY(Persist(*st, changes));
  for (std::int64_t day : changes.days) {
    const auto& now_c = st->engine->counters().at(day);
    auto prev = before.find(day);
    for (int s = 0; s < kSourceKinds; ++s) {
      NoiseCounters d = now_c[s];
      if (prev != before.end()) {
        d.alerts_in -= prev->second[s].alerts_in;
        d.alert_records -= prev->second[s].alert_records;
        d.suppressed -= prev->second[s].suppressed;
        d.incidents -= prev->second[s].incidents;
      }
      if (d.alerts_in == 0 && d.incidents == 0) continue;
      MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(
          "INSERT INTO triage_stats (tenant_id, day, source, alerts_in, alert_records, suppressed, incidents) "
          "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, day, source) DO UPDATE SET "
          "alerts_in = alerts_in + excluded.alerts_in, alert_records = alert_records + excluded.alert_records, "
          "suppressed = suppressed + excluded.suppressed, incidents = incidents + excluded.incidents"));
      MEDSOC_TRY(q->BindAll(scope.tenant_id(), LocalDate(day), SourceKindName(static_cast<SourceKind>(s)), d.alerts_in,
                            d.alert_records, d.suppressed, d.incidents));
      MEDSOC_TRY(q->Run());
    }
  }
  MEDSOC_TRY(tx.Commit());
  // Keep the engine's memory bounded; everything older is in the database.
  if (!alerts.empty()) st->engine->Compact(alerts.back().event_time);
  return sum;
}

Result<std::vector<AlertRecord>> TriageService::ListAlerts(const TenantScope& scope, const AlertQuery& q) {
  MEDSOC_ASSIGN_OR_RETURN(auto page, ListAlertPage(scope, q));
  return std::move(page.items);
}

Result<AlertPage> TriageService::ListAlertPage(const TenantScope& scope, const AlertQuery& q) {
  // The cursor is the last row's (last_seen, rowid): the list's order, which every index of the
  // alerts table that leads with last_seen after its equality columns already has.
  std::int64_t after_seen = 0, after_row = 0;
  if (!q.after.empty()) {
    const std::string_view c = q.after;
    const auto dot = c.find('.');
    const auto seen = c.substr(0, dot == std::string_view::npos ? 0 : dot);
    const auto row = dot == std::string_view::npos ? std::string_view() : c.substr(dot + 1);
    auto r1 = std::from_chars(seen.data(), seen.data() + seen.size(), after_seen);
    auto r2 = std::from_chars(row.data(), row.data() + row.size(), after_row);
    if (seen.empty() || row.empty() || r1.ec != std::errc() || r1.ptr != seen.data() + seen.size() ||
        r2.ec != std::errc() || r2.ptr != row.data() + row.size())
      return Error(ErrorCode::kInvalidArgument, "after: not a cursor of the alert list");
  }
  // Only the filters given go into the SQL (not "?2 = '' OR status = ?2"), so the planner can
  // search alerts_status, alerts_incident_seen or alerts_last_seen and read the page in order
  // without sorting. Unused parameter numbers stay bound and unread.
  std::string sql = std::string("SELECT ") + kAlertColumns + ", rowid FROM alerts WHERE tenant_id = ?1";
  if (!q.status.empty()) sql += " AND status = ?2";
  if (!q.source.empty()) sql += " AND source = ?3";
  if (!q.incident_id.empty()) sql += " AND incident_id = ?4";
  if (q.since.ns != 0) sql += " AND last_seen >= ?5";
  if (!q.after.empty()) sql += " AND (last_seen, rowid) < (?6, ?7)";
  sql += " ORDER BY last_seen DESC, rowid DESC LIMIT ?8";
  const int limit = q.limit <= 0 ? 100 : std::min(q.limit, 1000);
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto s, db_->Prepare(sql));
  MEDSOC_TRY(s->BindAll(scope.tenant_id(), q.status, q.source, q.incident_id, q.since.ns, after_seen, after_row,
                        limit + 1));
  AlertPage out;
  std::int64_t last_row = 0;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) break;
    if (static_cast<int>(out.items.size()) == limit) {  // a row past the page: there is a next one
      out.next = std::to_string(out.items.back().last_seen.ns) + "." + std::to_string(last_row);
      break;
    }
    out.items.push_back(ReadAlert(*s));
    last_row = s->ColumnInt64(28);
  }
  return out;
}

Result<std::optional<AlertRecord>> TriageService::GetAlert(const TenantScope& scope, const std::string& id) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto s, db_->Prepare(std::string("SELECT ") + kAlertColumns +
                                               " FROM alerts WHERE tenant_id = ? AND id = ?"));
  MEDSOC_TRY(s->BindAll(scope.tenant_id(), id));
  MEDSOC_ASSIGN_OR_RETURN(bool row, s->Step());
  if (!row) return std::optional<AlertRecord>();
  return std::optional<AlertRecord>(ReadAlert(*s));
}

Status TriageService::CloseAlert(const TenantScope& scope, const std::string& id, const std::string& actor) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto s, db_->Prepare("UPDATE alerts SET status = 'closed' WHERE tenant_id = ? AND id = ?"));
  MEDSOC_TRY(s->BindAll(scope.tenant_id(), id));
  MEDSOC_TRY(s->Run());
  if (db_->Changes() == 0) return NotFound("alert");
  return Ok();
}

Result<std::optional<IncidentView>> TriageService::LoadIncident(const std::string& tenant, const std::string& id) {
  MEDSOC_ASSIGN_OR_RETURN(auto s, db_->Prepare("SELECT " + IncidentColumns() +
                                               " FROM incidents WHERE tenant_id = ? AND id = ?"));
  MEDSOC_TRY(s->BindAll(tenant, id));
  MEDSOC_ASSIGN_OR_RETURN(bool row, s->Step());
  if (!row) return std::optional<IncidentView>();
  IncidentView v = ReadIncident(*s);
  MEDSOC_TRY(LoadAlertsAndWatchers(tenant, v));
  return std::optional<IncidentView>(std::move(v));
}

Status TriageService::LoadAlertsAndWatchers(const std::string& tenant, IncidentView& v) {
  const std::string& id = v.incident.id;
  {
    MEDSOC_ASSIGN_OR_RETURN(auto a, db_->Prepare("SELECT id FROM alerts WHERE tenant_id = ? AND incident_id = ? "
                                                 "ORDER BY first_seen"));
    MEDSOC_TRY(a->BindAll(tenant, id));
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool r, a->Step());
      if (!r) break;
      v.incident.alert_ids.push_back(a->ColumnText(0));
    }
    v.alert_count = static_cast<std::int64_t>(v.incident.alert_ids.size());
  }
  {
    MEDSOC_ASSIGN_OR_RETURN(auto w, db_->Prepare("SELECT user_id FROM incident_watchers WHERE tenant_id = ? AND "
                                                 "incident_id = ? ORDER BY user_id"));
    MEDSOC_TRY(w->BindAll(tenant, id));
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool r, w->Step());
      if (!r) break;
      v.watchers.push_back(w->ColumnText(0));
    }
  }
  return Ok();
}

Result<std::vector<IncidentView>> TriageService::ListIncidents(const TenantScope& scope, const IncidentQuery& q) {
  // An incident can name hundreds of entities (the detail has them all): SQLite counts them and
  // hands over only the first kListEntities (?7), so the service neither parses nor copies the
  // rest. The entity filter (?6) tests all of them.
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto s, db_->Prepare(
      "SELECT " +
      IncidentColumns("CASE WHEN json_array_length(entities) <= ?7 THEN entities ELSE (SELECT json_group_array(value) "
                      "FROM (SELECT value FROM json_each(incidents.entities) LIMIT ?7)) END") +
      ", json_array_length(entities) FROM incidents WHERE tenant_id = ?1 AND merged_into = '' AND (?2 = '' OR "
      "status = ?2 OR (?2 = 'open' AND status IN ('new','acknowledged','investigating','contained'))) AND (?3 = '' "
      "OR severity = ?3) AND (?4 = '' OR owner = ?4) AND (?6 = '' OR EXISTS (SELECT 1 FROM "
      "json_each(incidents.entities) WHERE value = ?6)) ORDER BY created_at DESC LIMIT ?5"));
  int limit = q.limit <= 0 ? 100 : std::min(q.limit, 1000);
  MEDSOC_TRY(s->BindAll(scope.tenant_id(), q.status, q.severity, q.owner, limit, q.entity, kListEntities));
  std::vector<IncidentView> out;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) break;
    IncidentView& v = out.emplace_back(ReadIncident(*s));
    v.entity_count = s->ColumnInt64(kIncidentColumnCount);
    v.entities_truncated = static_cast<std::int64_t>(v.incident.entity_keys.size()) < v.entity_count;
  }
  // Each listed incident carries its alert count and only its newest kListAlertIds alert ids (an
  // incident can gather hundreds; the detail has them all), and its watchers: three queries per
  // page (the page's ids as one JSON array parameter), not one per incident. All three search
  // alerts_incident_seen / the watchers' primary key; the count reads the index alone.
  if (out.empty()) return out;
  std::map<std::string, IncidentView*> by_id;
  json ids = json::array();
  for (auto& v : out) {
    by_id[v.incident.id] = &v;
    ids.push_back(v.incident.id);
  }
  const std::string ids_text = ids.dump();
  {
    MEDSOC_ASSIGN_OR_RETURN(auto c, db_->Prepare("SELECT incident_id, COUNT(*) FROM alerts WHERE tenant_id = ?1 AND "
                                                 "incident_id IN (SELECT value FROM json_each(?2)) GROUP BY incident_id"));
    MEDSOC_TRY(c->BindAll(scope.tenant_id(), ids_text));
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool r, c->Step());
      if (!r) break;
      if (auto it = by_id.find(c->ColumnText(0)); it != by_id.end()) it->second->alert_count = c->ColumnInt64(1);
    }
  }
  {
    MEDSOC_ASSIGN_OR_RETURN(auto a, db_->Prepare(
        "SELECT j.value, a.id FROM json_each(?2) AS j JOIN alerts AS a ON a.rowid IN (SELECT x.rowid FROM alerts AS x "
        "WHERE x.tenant_id = ?1 AND x.incident_id = j.value ORDER BY x.last_seen DESC, x.rowid DESC LIMIT ?3) "
        "ORDER BY j.key, a.last_seen DESC, a.rowid DESC"));
    MEDSOC_TRY(a->BindAll(scope.tenant_id(), ids_text, kListAlertIds));
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool r, a->Step());
      if (!r) break;
      if (auto it = by_id.find(a->ColumnText(0)); it != by_id.end()) it->second->incident.alert_ids.push_back(a->ColumnText(1));
    }
  }
  for (auto& v : out)
    v.alert_ids_truncated = static_cast<std::int64_t>(v.incident.alert_ids.size()) < v.alert_count;
  {
    MEDSOC_ASSIGN_OR_RETURN(auto w, db_->Prepare("SELECT incident_id, user_id FROM incident_watchers WHERE tenant_id = ?1 "
                                                 "AND incident_id IN (SELECT value FROM json_each(?2)) ORDER BY user_id"));
    MEDSOC_TRY(w->BindAll(scope.tenant_id(), ids_text));
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool r, w->Step());
      if (!r) break;
      if (auto it = by_id.find(w->ColumnText(0)); it != by_id.end()) it->second->watchers.push_back(w->ColumnText(1));
    }
  }
  return out;
}

Result<TriageSummary> TriageService::Summary(const TenantScope& scope, core::Timestamp now, bool incidents, bool alerts) {
  TriageSummary out;
  std::array<SlaPolicy, 4> policies{};
  if (incidents) {
    MEDSOC_ASSIGN_OR_RETURN(policies, SlaPolicies(scope));  // takes mu_ itself
  }
  std::lock_guard lock(mu_);
  if (incidents) {
    out.incidents = true;
    for (const char* sev : {"critical", "high", "medium", "low"}) out.by_severity[sev] = 0;
    for (const char* st : {"new", "acknowledged", "investigating", "contained"}) out.by_status[st] = 0;
    for (const char* st : {"breached", "at_risk", "paused", "on_track", "met", "none"}) out.by_sla[st] = 0;
    // Severity and status counts in SQL.
    {
      MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(
          "SELECT severity, status, COUNT(*) FROM incidents WHERE tenant_id = ? AND merged_into = '' AND status IN "
          "('new','acknowledged','investigating','contained') GROUP BY severity, status"));
      MEDSOC_TRY(q->BindAll(scope.tenant_id()));
      while (true) {
        MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
        if (!row) break;
        const std::int64_t n = q->ColumnInt64(2);
        out.open_incidents += n;
        out.by_severity[q->ColumnText(0)] += n;
        out.by_status[q->ColumnText(1)] += n;
      }
    }
    // SLA states need the clocks (ComputeSla, as GET /incidents/{id} shows them): one pass over the
    // open incidents' clock columns.
    MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(
        "SELECT severity, status, created_at, acknowledged_at, investigating_at, onsite_at, resolved_at, sla_paused_ns, "
        "sla_paused_at, updated_at, breaches FROM incidents WHERE tenant_id = ? AND merged_into = '' AND status IN "
        "('new','acknowledged','investigating','contained')"));
    MEDSOC_TRY(q->BindAll(scope.tenant_id()));
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      const Severity sev = ParseSeverity(q->ColumnText(0)).value_or(Severity::kLow);
      const IncidentStatus status = ParseIncidentStatus(q->ColumnText(1)).value_or(IncidentStatus::kNew);
      SlaInputs in{{q->ColumnInt64(2)}, {q->ColumnInt64(3)}, {q->ColumnInt64(4)}, {q->ColumnInt64(5)},
                   {q->ColumnInt64(6)}, q->ColumnInt64(7), {q->ColumnInt64(8)}};
      const SlaPolicy& p = policies[static_cast<int>(sev)];
      if (in.paused_since.ns == 0 &&
          std::find(p.pause_statuses.begin(), p.pause_statuses.end(), status) != p.pause_statuses.end())
        in.paused_since = {q->ColumnInt64(9)};
      out.by_sla[SlaStateOf(ComputeSla(p, in, now), !StringList(q->ColumnText(10)).empty(), in.paused_since.ns != 0)]++;
    }
  }
  if (alerts) {
    out.alerts = true;
    MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT COUNT(*) FROM alerts WHERE tenant_id = ? AND status = 'open'"));
    MEDSOC_TRY(q->BindAll(scope.tenant_id()));
    MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
    if (row) out.open_alerts = q->ColumnInt64(0);
  }
  return out;
}

std::string SlaStateOf(const std::vector<SlaClock>& clocks, bool escalated, bool paused) {
  if (escalated || std::any_of(clocks.begin(), clocks.end(), [](const SlaClock& c) { return c.breached; }))
    return "breached";
  if (clocks.empty()) return "none";
  if (paused) return "paused";
  bool running = false;
  for (const auto& c : clocks) {
    if (c.met_at.ns != 0) continue;
    running = true;
    const std::int64_t target = std::int64_t{c.target_minutes} * core::Minutes(1);
    if ((target - c.elapsed_ns) * 4 < target) return "at_risk";  // under a quarter of the target left
  }
  return running ? "on_track" : "met";
}

Result<std::optional<IncidentView>> TriageService::GetIncident(const TenantScope& scope, const std::string& id) {
  std::lock_guard lock(mu_);
  return LoadIncident(scope.tenant_id(), id);
}

Status TriageService::Transition(const TenantScope& scope, const std::string& id, IncidentStatus to,
                                 const std::string& actor, const std::string& note, const std::string& review) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto cur, LoadIncident(scope.tenant_id(), id));
  if (!cur) return NotFound("incident");
  const IncidentStatus from = cur->incident.status;
  if (!cur->incident.merged_into.empty())
    return Error(ErrorCode::kFailedPrecondition, "incident was merged into " + cur->incident.merged_into);
  if (!IsAllowedTransition(from, to))
    return Error(ErrorCode::kFailedPrecondition, "cannot move an incident from " + std::string(IncidentStatusName(from)) +
                                                     " to " + std::string(IncidentStatusName(to)));
  std::string final_review = review.empty() ? cur->review : review;
  if (to == IncidentStatus::kClosed && final_review.empty())
    return Error(ErrorCode::kFailedPrecondition, "closing an incident requires a post-incident review");
  const core::Timestamp now = core::Now();
  const bool reopen = !IsOpen(from) && IsOpen(to);
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_));
  MEDSOC_ASSIGN_OR_RETURN(auto s, db_->Prepare(
      "UPDATE incidents SET status = ?3, review = ?4, updated_at = ?5, "
      "acknowledged_at = CASE WHEN acknowledged_at = 0 AND ?6 >= 1 THEN ?5 ELSE acknowledged_at END, "
      "investigating_at = CASE WHEN investigating_at = 0 AND ?6 >= 2 THEN ?5 ELSE investigating_at END, "
      "contained_at = CASE WHEN contained_at = 0 AND ?6 >= 3 AND ?6 <= 3 THEN ?5 ELSE contained_at END, "
      "resolved_at = CASE WHEN ?7 = 1 THEN 0 WHEN resolved_at = 0 AND ?6 >= 4 THEN ?5 ELSE resolved_at END, "
      "closed_at = CASE WHEN ?7 = 1 THEN 0 WHEN ?6 = 5 THEN ?5 ELSE closed_at END "
      "WHERE tenant_id = ?1 AND id = ?2"));
  MEDSOC_TRY(s->BindAll(scope.tenant_id(), id, IncidentStatusName(to), final_review, now.ns, static_cast<int>(to),
                        reopen ? 1 : 0));
  MEDSOC_TRY(s->Run());
  std::string detail = std::string(IncidentStatusName(from)) + " -> " + std::string(IncidentStatusName(to));
  if (reopen) detail += " (reopened)";
  if (!note.empty()) detail += ": " + note;
  MEDSOC_TRY(AppendTimeline(scope.tenant_id(), id, now, actor, reopen ? "reopened" : "status", detail));
  if (to == IncidentStatus::kClosed && !review.empty())
    MEDSOC_TRY(AppendTimeline(scope.tenant_id(), id, now, actor, "review", review));
  MEDSOC_TRY(tx.Commit());
  if (auto st = State(scope.tenant_id()); st.ok()) (*st)->engine->OnIncidentStatus(id, to);
  return Ok();
}

Status TriageService::Assign(const TenantScope& scope, const std::string& id, const std::string& owner,
                             const std::string& actor) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_));
  MEDSOC_ASSIGN_OR_RETURN(auto s, db_->Prepare("UPDATE incidents SET owner = ?, updated_at = ? WHERE tenant_id = ? AND id = ?"));
  const core::Timestamp now = core::Now();
  MEDSOC_TRY(s->BindAll(owner, now.ns, scope.tenant_id(), id));
  MEDSOC_TRY(s->Run());
  if (db_->Changes() == 0) return NotFound("incident");
  MEDSOC_TRY(AppendTimeline(scope.tenant_id(), id, now, actor, "owner", owner.empty() ? "unassigned" : "assigned to " + owner));
  MEDSOC_TRY(tx.Commit());
  if (auto st = State(scope.tenant_id()); st.ok())
    if (Incident* inc = (*st)->engine->MutableIncident(id)) inc->owner = owner;
  return Ok();
}

Status TriageService::SetWatcher(const TenantScope& scope, const std::string& id, const std::string& user, bool watch,
                                 const std::string& actor) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto cur, LoadIncident(scope.tenant_id(), id));
  if (!cur) return NotFound("incident");
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_));
  const core::Timestamp now = core::Now();
  if (watch) {
    MEDSOC_ASSIGN_OR_RETURN(auto s, db_->Prepare("INSERT OR IGNORE INTO incident_watchers (tenant_id, incident_id, "
                                                 "user_id, added_at) VALUES (?, ?, ?, ?)"));
    MEDSOC_TRY(s->BindAll(scope.tenant_id(), id, user, now.ns));
    MEDSOC_TRY(s->Run());
  } else {
    MEDSOC_ASSIGN_OR_RETURN(auto s, db_->Prepare("DELETE FROM incident_watchers WHERE tenant_id = ? AND incident_id = ? "
                                                 "AND user_id = ?"));
    MEDSOC_TRY(s->BindAll(scope.tenant_id(), id, user));
    MEDSOC_TRY(s->Run());
  }
  MEDSOC_TRY(AppendTimeline(scope.tenant_id(), id, now, actor, watch ? "watcher_added" : "watcher_removed", user));
  return tx.Commit();
}

Result<Comment> TriageService::AddComment(const TenantScope& scope, const std::string& id, const std::string& author,
                                          const std::string& body) {
  std::lock_guard lock(mu_);
  if (body.empty() || body.size() > 20000) return Error(ErrorCode::kInvalidArgument, "comment must be 1..20000 bytes");
  MEDSOC_ASSIGN_OR_RETURN(auto cur, LoadIncident(scope.tenant_id(), id));
  if (!cur) return NotFound("incident");
  Comment c{core::NewId(), author, body, core::Now()};
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_));
  MEDSOC_ASSIGN_OR_RETURN(auto s, db_->Prepare("INSERT INTO incident_comments (tenant_id, id, incident_id, author, body, "
                                               "created_at) VALUES (?, ?, ?, ?, ?, ?)"));
  MEDSOC_TRY(s->BindAll(scope.tenant_id(), c.id, id, author, body, c.created_at.ns));
  MEDSOC_TRY(s->Run());
  MEDSOC_TRY(AppendTimeline(scope.tenant_id(), id, c.created_at, author, "comment", c.id));
  MEDSOC_TRY(tx.Commit());
  return c;
}

Result<std::vector<Comment>> TriageService::ListComments(const TenantScope& scope, const std::string& id) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto s, db_->Prepare("SELECT id, author, body, created_at FROM incident_comments WHERE "
                                               "tenant_id = ? AND incident_id = ? ORDER BY created_at, id"));
  MEDSOC_TRY(s->BindAll(scope.tenant_id(), id));
  std::vector<Comment> out;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) break;
    out.push_back({s->ColumnText(0), s->ColumnText(1), s->ColumnText(2), {s->ColumnInt64(3)}});
  }
  return out;
}

Status TriageService::AddLink(const TenantScope& scope, const std::string& id, const std::string& kind,
                              const std::string& ref, const std::string& note, const std::string& actor) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto cur, LoadIncident(scope.tenant_id(), id));
  if (!cur) return NotFound("incident");
  const core::Timestamp now = core::Now();
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_));
  MEDSOC_ASSIGN_OR_RETURN(auto s, db_->Prepare("INSERT INTO incident_links (tenant_id, incident_id, kind, ref, note, "
                                               "added_by, added_at) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  MEDSOC_TRY(s->BindAll(scope.tenant_id(), id, kind, ref, note, actor, now.ns));
  MEDSOC_TRY(s->Run());
  MEDSOC_TRY(AppendTimeline(scope.tenant_id(), id, now, actor, "link", kind + ":" + ref));
  return tx.Commit();
}

Result<json> TriageService::ListLinks(const TenantScope& scope, const std::string& id) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto s, db_->Prepare("SELECT kind, ref, note, added_by, added_at FROM incident_links WHERE "
                                               "tenant_id = ? AND incident_id = ? ORDER BY added_at"));
  MEDSOC_TRY(s->BindAll(scope.tenant_id(), id));
  json out = json::array();
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) break;
    out.push_back({{"kind", s->ColumnText(0)}, {"ref", s->ColumnText(1)}, {"note", s->ColumnText(2)},
                   {"added_by", s->ColumnText(3)}, {"added_at", core::FormatRfc3339({s->ColumnInt64(4)})}});
  }
  return out;
}

Result<json> TriageService::AddEvidence(const TenantScope& scope, const std::string& id, const std::string& name,
                                        const std::string& media_type, const std::string& content,
                                        const std::string& description, const std::string& actor) {
  std::lock_guard lock(mu_);
  if (name.empty() || name.size() > 255) return Error(ErrorCode::kInvalidArgument, "evidence name must be 1..255 bytes");
  if (content.size() > kMaxEvidenceBytes) return Error(ErrorCode::kResourceExhausted, "evidence larger than 8 MiB");
  MEDSOC_ASSIGN_OR_RETURN(auto cur, LoadIncident(scope.tenant_id(), id));
  if (!cur) return NotFound("incident");
  const core::Timestamp now = core::Now();
  const std::string eid = core::NewId(), digest = core::Sha256Hex(content);
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_));
  MEDSOC_ASSIGN_OR_RETURN(auto s, db_->Prepare("INSERT INTO incident_evidence (tenant_id, id, incident_id, name, "
                                               "media_type, size, sha256, content, description, added_by, added_at) "
                                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  MEDSOC_TRY(s->BindAll(scope.tenant_id(), eid, id, name, media_type.empty() ? "application/octet-stream" : media_type,
                        static_cast<std::int64_t>(content.size()), digest));
  MEDSOC_TRY(s->BindBlob(8, content));
  MEDSOC_TRY(s->BindText(9, description));
  MEDSOC_TRY(s->BindText(10, actor));
  MEDSOC_TRY(s->BindInt64(11, now.ns));
  MEDSOC_TRY(s->Run());
  MEDSOC_TRY(AppendTimeline(scope.tenant_id(), id, now, actor, "evidence", name + " sha256:" + digest));
  MEDSOC_TRY(tx.Commit());
  return json{{"id", eid}, {"name", name}, {"size", content.size()}, {"sha256", digest}, {"added_at", core::FormatRfc3339(now)}};
}

Result<json> TriageService::ListEvidence(const TenantScope& scope, const std::string& id) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto s, db_->Prepare("SELECT id, name, media_type, size, sha256, description, added_by, "
                                               "added_at FROM incident_evidence WHERE tenant_id = ? AND incident_id = ? "
                                               "ORDER BY added_at"));
  MEDSOC_TRY(s->BindAll(scope.tenant_id(), id));
  json out = json::array();
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) break;
    out.push_back({{"id", s->ColumnText(0)}, {"name", s->ColumnText(1)}, {"media_type", s->ColumnText(2)},
                   {"size", s->ColumnInt64(3)}, {"sha256", s->ColumnText(4)}, {"description", s->ColumnText(5)},
                   {"added_by", s->ColumnText(6)}, {"added_at", core::FormatRfc3339({s->ColumnInt64(7)})}});
  }
  return out;
}

Status TriageService::SetAnalysis(const TenantScope& scope, const std::string& id, const std::optional<std::string>& impact,
                                  const std::optional<std::string>& root_cause, const std::string& actor) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_));
  MEDSOC_ASSIGN_OR_RETURN(auto s, db_->Prepare("UPDATE incidents SET impact = COALESCE(?, impact), root_cause = "
                                               "COALESCE(?, root_cause), updated_at = ? WHERE tenant_id = ? AND id = ?"));
  const core::Timestamp now = core::Now();
  MEDSOC_TRY(impact ? s->BindText(1, *impact) : s->BindNull(1));
  MEDSOC_TRY(root_cause ? s->BindText(2, *root_cause) : s->BindNull(2));
  MEDSOC_TRY(s->BindInt64(3, now.ns));
  MEDSOC_TRY(s->BindText(4, scope.tenant_id()));
  MEDSOC_TRY(s->BindText(5, id));
  MEDSOC_TRY(s->Run());
  if (db_->Changes() == 0) return NotFound("incident");
  MEDSOC_TRY(AppendTimeline(scope.tenant_id(), id, now, actor, "analysis",
                            std::string(impact ? "impact " : "") + (root_cause ? "root_cause" : "")));
  return tx.Commit();
}

Status TriageService::RecordOnsite(const TenantScope& scope, const std::string& id, const std::string& actor) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_));
  MEDSOC_ASSIGN_OR_RETURN(auto s, db_->Prepare("UPDATE incidents SET onsite_at = ?, updated_at = ? WHERE tenant_id = ? "
                                               "AND id = ? AND onsite_at = 0"));
  const core::Timestamp now = core::Now();
  MEDSOC_TRY(s->BindAll(now.ns, now.ns, scope.tenant_id(), id));
  MEDSOC_TRY(s->Run());
  if (db_->Changes() == 0) {
    MEDSOC_ASSIGN_OR_RETURN(auto cur, LoadIncident(scope.tenant_id(), id));
    if (!cur) return NotFound("incident");
    return Error(ErrorCode::kConflict, "on-site arrival already recorded");
  }
  MEDSOC_TRY(AppendTimeline(scope.tenant_id(), id, now, actor, "onsite", "engineer on site"));
  return tx.Commit();
}

Status TriageService::SetSlaPaused(const TenantScope& scope, const std::string& id, bool paused, const std::string& reason,
                                   const std::string& actor) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto cur, LoadIncident(scope.tenant_id(), id));
  if (!cur) return NotFound("incident");
  const core::Timestamp now = core::Now();
  const bool is_paused = cur->sla_paused_at.ns != 0;
  if (paused == is_paused) return Error(ErrorCode::kConflict, paused ? "SLA clocks already paused" : "SLA clocks not paused");
  if (paused && reason.empty()) return Error(ErrorCode::kInvalidArgument, "pausing SLA clocks requires a reason");
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_));
  MEDSOC_ASSIGN_OR_RETURN(auto s, db_->Prepare("UPDATE incidents SET sla_paused_at = ?, sla_paused_ns = ?, updated_at = ? "
                                               "WHERE tenant_id = ? AND id = ?"));
  std::int64_t total = cur->sla_paused_ns + (paused ? 0 : now.ns - cur->sla_paused_at.ns);
  MEDSOC_TRY(s->BindAll(paused ? now.ns : 0, total, now.ns, scope.tenant_id(), id));
  MEDSOC_TRY(s->Run());
  MEDSOC_TRY(AppendTimeline(scope.tenant_id(), id, now, actor, paused ? "sla_paused" : "sla_resumed", reason));
  return tx.Commit();
}

Result<std::vector<TimelineRow>> TriageService::Timeline(const TenantScope& scope, const std::string& id) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto s, db_->Prepare("SELECT seq, at, actor, kind, detail FROM incident_timeline WHERE "
                                               "tenant_id = ? AND incident_id = ? ORDER BY seq"));
  MEDSOC_TRY(s->BindAll(scope.tenant_id(), id));
  std::vector<TimelineRow> out;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) break;
    out.push_back({s->ColumnInt64(0), {s->ColumnInt64(1)}, s->ColumnText(2), s->ColumnText(3), s->ColumnText(4)});
  }
  return out;
}

// ---- exceptions ----

Result<Suppression> TriageService::CreateSuppression(const TenantScope& scope, Suppression s) {
  std::lock_guard lock(mu_);
  if (s.reason.empty()) return Error(ErrorCode::kInvalidArgument, "a suppression needs a reason");
  if (s.rule_id.empty() && s.conditions.empty() && s.asset_group.empty())
    return Error(ErrorCode::kInvalidArgument, "a suppression needs a rule, a field condition or an asset group");
  for (const auto& c : s.conditions)
    if (c.field.empty() || c.values.empty())
      return Error(ErrorCode::kInvalidArgument, "every condition needs a field and at least one value");
  if (s.status != "active" && s.status != "proposed")
    return Error(ErrorCode::kInvalidArgument, "a new suppression is active or proposed");
  s.id = core::NewId();
  s.tenant_id = scope.tenant_id();
  s.created_at = core::Now();
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("INSERT INTO suppressions (") + kSuppressionColumns +
                                               ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0)"));
  MEDSOC_TRY(q->BindAll(s.id, s.tenant_id, s.status, s.rule_id, ConditionsJson(s.conditions).dump(), s.asset_group,
                        s.reason, s.author, s.approved_by, s.origin, s.created_at.ns, s.expires_at.ns));
  MEDSOC_TRY(q->Run());
  if (auto it = tenants_.find(scope.tenant_id()); it != tenants_.end()) MEDSOC_TRY(ReloadPolicy(*it->second, scope.tenant_id()));
  return s;
}

Result<Suppression> TriageService::SuppressFromAlert(const TenantScope& scope, const std::string& alert_id,
                                                     const std::vector<std::string>& fields, const std::string& reason,
                                                     core::Timestamp expires_at, const std::string& author) {
  MEDSOC_ASSIGN_OR_RETURN(auto alert, GetAlert(scope, alert_id));
  if (!alert) return NotFound("alert");
  Suppression s;
  s.rule_id = alert->rule_id;
  s.reason = reason;
  s.author = author;
  s.origin = "alert";
  s.expires_at = expires_at;
  std::vector<std::string> use = fields.empty() ? std::vector<std::string>{"host", "user"} : fields;
  for (const auto& f : use) {
    std::string v = f == "host" ? alert->host : f == "user" ? alert->user : f == "src_ip" ? alert->src_ip
                  : f == "dst_ip" ? alert->dst_ip : f == "asset_id" ? alert->asset_id : std::string();
    if (v.empty()) {
      for (const auto& [k, mv] : alert->matched_fields)
        if (k == f) v = mv;
    }
    if (v.empty()) {
      if (fields.empty()) continue;  // defaults: use what the alert has
      return Error(ErrorCode::kInvalidArgument, "the alert has no value for field '" + f + "'");
    }
    s.conditions.push_back({f, {v}});
  }
  return CreateSuppression(scope, std::move(s));
}

Result<std::vector<Suppression>> TriageService::ListSuppressions(const TenantScope& scope, const std::string& status) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("SELECT ") + kSuppressionColumns +
                                               " FROM suppressions WHERE tenant_id = ?1 AND (?2 = '' OR status = ?2) "
                                               "ORDER BY created_at DESC"));
  MEDSOC_TRY(q->BindAll(scope.tenant_id(), status));
  std::vector<Suppression> out;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    out.push_back(ReadSuppression(*q));
  }
  return out;
}

Result<Suppression> TriageService::ChangeSuppression(const TenantScope& scope, const std::string& id,
                                                     const std::string& action, const std::string& actor) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("SELECT ") + kSuppressionColumns +
                                               " FROM suppressions WHERE tenant_id = ? AND id = ?"));
  MEDSOC_TRY(q->BindAll(scope.tenant_id(), id));
  MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return NotFound("suppression");
  Suppression s = ReadSuppression(*q);
  std::string to;
  if (action == "approve" && s.status == "proposed") to = "active";
  else if (action == "reject" && s.status == "proposed") to = "rejected";
  else if (action == "disable" && s.status == "active") to = "disabled";
  else if (action == "enable" && s.status == "disabled") to = "active";
  else return Error(ErrorCode::kFailedPrecondition, "cannot " + action + " a suppression that is " + s.status);
  if (action == "approve" && actor == s.author && s.origin != "suggestion")
    return Error(ErrorCode::kFailedPrecondition, "a suppression is approved by someone other than its author");
  MEDSOC_ASSIGN_OR_RETURN(auto u, db_->Prepare("UPDATE suppressions SET status = ?, approved_by = CASE WHEN ? = 'approve' "
                                               "THEN ? ELSE approved_by END WHERE tenant_id = ? AND id = ?"));
  MEDSOC_TRY(u->BindAll(to, action, actor, scope.tenant_id(), id));
  MEDSOC_TRY(u->Run());
  s.status = to;
  if (action == "approve") s.approved_by = actor;
  if (auto it = tenants_.find(scope.tenant_id()); it != tenants_.end()) MEDSOC_TRY(ReloadPolicy(*it->second, scope.tenant_id()));
  return s;
}

Result<AllowEntry> TriageService::CreateAllowEntry(const TenantScope& scope, AllowEntry e) {
  std::lock_guard lock(mu_);
  if (e.kind != "ip" && e.kind != "user" && e.kind != "host")
    return Error(ErrorCode::kInvalidArgument, "allow-list kind must be ip, user or host");
  if (e.kind == "ip") {
    std::string addr = e.value.substr(0, e.value.find('/'));
    if (!IpInCidr(addr, e.value)) return Error(ErrorCode::kInvalidArgument, "'" + e.value + "' is not an address or CIDR");
  }
  e.id = core::NewId();
  e.tenant_id = scope.tenant_id();
  e.created_at = core::Now();
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare("INSERT INTO allowlist_entries (tenant_id, id, category, kind, value, "
                                               "comment, author, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  MEDSOC_TRY(q->BindAll(e.tenant_id, e.id, e.category, e.kind, e.value, e.comment, e.author, e.created_at.ns,
                        e.expires_at.ns));
  MEDSOC_TRY(q->Run());
  if (auto it = tenants_.find(scope.tenant_id()); it != tenants_.end()) MEDSOC_TRY(ReloadPolicy(*it->second, scope.tenant_id()));
  return e;
}

Result<std::vector<AllowEntry>> TriageService::ListAllowEntries(const TenantScope& scope) {
  std::lock_guard lock(mu_);
  TenantState tmp;
  MEDSOC_TRY(ReloadPolicy(tmp, scope.tenant_id()));
  return tmp.policy.allow;
}

Status TriageService::DeleteAllowEntry(const TenantScope& scope, const std::string& id) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare("DELETE FROM allowlist_entries WHERE tenant_id = ? AND id = ?"));
  MEDSOC_TRY(q->BindAll(scope.tenant_id(), id));
  MEDSOC_TRY(q->Run());
  if (db_->Changes() == 0) return NotFound("allow-list entry");
  if (auto it = tenants_.find(scope.tenant_id()); it != tenants_.end()) MEDSOC_TRY(ReloadPolicy(*it->second, scope.tenant_id()));
  return Ok();
}

Result<MaintenanceWindow> TriageService::CreateWindow(const TenantScope& scope, MaintenanceWindow w) {
  std::lock_guard lock(mu_);
  if (w.asset_ids.empty() && w.asset_group.empty())
    return Error(ErrorCode::kInvalidArgument, "a maintenance window needs assets or an asset group");
  if (w.weekdays == 0 && (w.ends_at.ns == 0 || w.ends_at <= w.starts_at))
    return Error(ErrorCode::kInvalidArgument, "a one-off window needs ends_at after starts_at");
  if (w.weekdays != 0 && (w.duration_minutes <= 0 || w.start_minute < 0 || w.start_minute >= 1440))
    return Error(ErrorCode::kInvalidArgument, "a weekly window needs start_minute 0..1439 and a positive duration");
  w.id = core::NewId();
  w.tenant_id = scope.tenant_id();
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(
      "INSERT INTO maintenance_windows (tenant_id, id, name, asset_ids, asset_group, starts_at, ends_at, weekdays, "
      "start_minute, duration_minutes, utc_offset_minutes, author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  MEDSOC_TRY(q->BindAll(w.tenant_id, w.id, w.name, ListText(w.asset_ids), w.asset_group, w.starts_at.ns, w.ends_at.ns,
                        w.weekdays, w.start_minute, w.duration_minutes, w.utc_offset_minutes, w.author, core::Now().ns));
  MEDSOC_TRY(q->Run());
  if (auto it = tenants_.find(scope.tenant_id()); it != tenants_.end()) MEDSOC_TRY(ReloadPolicy(*it->second, scope.tenant_id()));
  return w;
}

Result<std::vector<MaintenanceWindow>> TriageService::ListWindows(const TenantScope& scope) {
  std::lock_guard lock(mu_);
  TenantState tmp;
  MEDSOC_TRY(ReloadPolicy(tmp, scope.tenant_id()));
  return tmp.policy.windows;
}

Status TriageService::DeleteWindow(const TenantScope& scope, const std::string& id) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare("DELETE FROM maintenance_windows WHERE tenant_id = ? AND id = ?"));
  MEDSOC_TRY(q->BindAll(scope.tenant_id(), id));
  MEDSOC_TRY(q->Run());
  if (db_->Changes() == 0) return NotFound("maintenance window");
  if (auto it = tenants_.find(scope.tenant_id()); it != tenants_.end()) MEDSOC_TRY(ReloadPolicy(*it->second, scope.tenant_id()));
  return Ok();
}

// ---- verdicts ----

Result<Verdict> TriageService::SetVerdict(const TenantScope& scope, Verdict v) {
  std::string rule_id, subject;
  if (v.target_kind == "alert") {
    MEDSOC_ASSIGN_OR_RETURN(auto a, GetAlert(scope, v.target_id));
    if (!a) return NotFound("alert");
    rule_id = a->rule_id;
    subject = !a->host.empty() ? "host=" + a->host : !a->user.empty() ? "user=" + a->user : "src_ip=" + a->src_ip;
  } else if (v.target_kind == "incident") {
    MEDSOC_ASSIGN_OR_RETURN(auto i, GetIncident(scope, v.target_id));
    if (!i) return NotFound("incident");
  } else {
    return Error(ErrorCode::kInvalidArgument, "verdict target must be alert or incident");
  }
  std::lock_guard lock(mu_);
  v.id = core::NewId();
  v.tenant_id = scope.tenant_id();
  v.created_at = core::Now();
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_));
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare("INSERT INTO verdicts (tenant_id, id, target_kind, target_id, verdict, "
                                               "rule_id, subject, comment, author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  MEDSOC_TRY(q->BindAll(v.tenant_id, v.id, v.target_kind, v.target_id, VerdictName(v.verdict), rule_id, subject,
                        v.comment, v.author, v.created_at.ns));
  MEDSOC_TRY(q->Run());
  MEDSOC_ASSIGN_OR_RETURN(auto u, db_->Prepare(v.target_kind == "alert"
                                                   ? "UPDATE alerts SET verdict = ? WHERE tenant_id = ? AND id = ?"
                                                   : "UPDATE incidents SET verdict = ? WHERE tenant_id = ? AND id = ?"));
  MEDSOC_TRY(u->BindAll(VerdictName(v.verdict), v.tenant_id, v.target_id));
  MEDSOC_TRY(u->Run());
  if (v.target_kind == "incident")
    MEDSOC_TRY(AppendTimeline(v.tenant_id, v.target_id, v.created_at, v.author, "verdict", std::string(VerdictName(v.verdict))));
  // Suggest a suppression after repeated false positives of one rule on one subject.
  bool suggest = false;
  if (v.target_kind == "alert" && v.verdict == VerdictKind::kFalsePositive) {
    MEDSOC_ASSIGN_OR_RETURN(auto c, db_->Prepare("SELECT COUNT(DISTINCT target_id) FROM verdicts WHERE tenant_id = ? AND "
                                                 "verdict = 'false_positive' AND rule_id = ? AND subject = ?"));
    MEDSOC_TRY(c->BindAll(v.tenant_id, rule_id, subject));
    MEDSOC_TRY(c->Step());
    if (c->ColumnInt64(0) >= kSuggestAfter) {
      MEDSOC_ASSIGN_OR_RETURN(auto e, db_->Prepare("SELECT COUNT(*) FROM suppressions WHERE tenant_id = ? AND rule_id = ? "
                                                   "AND conditions = ? AND status IN ('active','proposed')"));
      auto eq = subject.find('=');
      std::string conds = ConditionsJson({{subject.substr(0, eq), {subject.substr(eq + 1)}}}).dump();
      MEDSOC_TRY(e->BindAll(v.tenant_id, rule_id, conds));
      MEDSOC_TRY(e->Step());
      suggest = e->ColumnInt64(0) == 0;
      if (suggest) {
        MEDSOC_ASSIGN_OR_RETURN(auto ins, db_->Prepare(std::string("INSERT INTO suppressions (") + kSuppressionColumns +
                                                       ") VALUES (?, ?, 'proposed', ?, ?, '', ?, 'triage', '', "
                                                       "'suggestion', ?, ?, 0, 0)"));
        MEDSOC_TRY(ins->BindAll(core::NewId(), v.tenant_id, rule_id, conds,
                                "建议：该规则在 " + subject + " 上已被判定为误报 " + std::to_string(c->ColumnInt64(0)) +
                                    " 次 / suggested after repeated false positives",
                                v.created_at.ns, (v.created_at + core::Days(90)).ns));
        MEDSOC_TRY(ins->Run());
      }
    }
  }
  MEDSOC_TRY(tx.Commit());
  if (auto st = State(v.tenant_id); st.ok() && v.target_kind == "incident")
    if (Incident* inc = (*st)->engine->MutableIncident(v.target_id)) inc->verdict = v.verdict;
  return v;
}

Result<std::vector<Verdict>> TriageService::ListVerdicts(const TenantScope& scope, const std::string& target_kind,
                                                         const std::string& target_id) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT id, target_kind, target_id, verdict, comment, author, created_at "
                                               "FROM verdicts WHERE tenant_id = ? AND target_kind = ? AND target_id = ? "
                                               "ORDER BY created_at"));
  MEDSOC_TRY(q->BindAll(scope.tenant_id(), target_kind, target_id));
  std::vector<Verdict> out;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    out.push_back({q->ColumnText(0), scope.tenant_id(), q->ColumnText(1), q->ColumnText(2),
                   ParseVerdict(q->ColumnText(3)).value_or(VerdictKind::kTruePositive), q->ColumnText(4),
                   q->ColumnText(5), {q->ColumnInt64(6)}});
  }
  return out;
}

Result<json> TriageService::NoiseReduction(const TenantScope& scope, const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT day, source, alerts_in, alert_records, suppressed, incidents FROM "
                                               "triage_stats WHERE tenant_id = ?1 AND (?2 = '' OR day >= ?2) AND "
                                               "(?3 = '' OR day <= ?3) ORDER BY day, source"));
  MEDSOC_TRY(q->BindAll(scope.tenant_id(), from, to));
  json days = json::array();
  std::map<std::string, std::array<std::int64_t, 4>> by_source;
  std::array<std::int64_t, 4> total{};
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    std::array<std::int64_t, 4> v = {q->ColumnInt64(2), q->ColumnInt64(3), q->ColumnInt64(4), q->ColumnInt64(5)};
    days.push_back({{"day", q->ColumnText(0)}, {"source", q->ColumnText(1)}, {"alerts_in", v[0]},
                    {"alert_records", v[1]}, {"suppressed", v[2]}, {"incidents", v[3]}});
    auto& s = by_source[q->ColumnText(1)];
    for (int i = 0; i < 4; ++i) s[i] += v[i], total[i] += v[i];
  }
  auto figures = [](const std::array<std::int64_t, 4>& v) {
    double red = v[0] == 0 ? 0.0 : 100.0 * (1.0 - static_cast<double>(v[3]) / static_cast<double>(v[0]));
    return json{{"alerts_in", v[0]}, {"alert_records", v[1]}, {"suppressed", v[2]}, {"incidents", v[3]},
                {"reduction_pct", std::round(red * 100) / 100}};
  };
  json sources = json::object();
  for (const auto& [k, v] : by_source) sources[k] = figures(v);
  return json{{"from", from}, {"to", to}, {"total", figures(total)}, {"by_source", sources}, {"by_day", days}};
}

void TriageService::SetAssetLookup(AssetLookup lookup) {
  std::lock_guard lock(mu_);
  asset_lookup_ = std::move(lookup);
  for (auto& [tenant, st] : tenants_) st->looked_up.clear();
}

void TriageService::RefreshAssets(TenantState& st, const std::string& tenant, const std::vector<AlertInput>& alerts) {
  const core::Timestamp now = core::Now();
  auto from_table = [&st](const std::string& host, const std::vector<std::string>& ips) -> const AssetInfo* {
    for (const auto& t : st.table) {
      if (!host.empty() && core::EqualsIgnoreCase(t.name, host)) return &t;
      for (const auto& ip : ips)
        if (std::find(t.ips.begin(), t.ips.end(), ip) != t.ips.end()) return &t;
    }
    return nullptr;
  };
  auto ask = [&](const std::string& host, const std::string& ip) {
    std::string key = host.empty() ? "i:" + ip : "h:" + host;
    for (char& c : key) c = core::AsciiLower(c);
    if (auto it = st.looked_up.find(key); it != st.looked_up.end() && now.ns - it->second.ns < kAssetLookupTtl) return;
    st.looked_up[key] = now;
    std::optional<AssetInfo> found = asset_lookup_(tenant, host, ip);
    if (!found || found->id.empty()) return;
    AssetInfo a = std::move(*found);
    if (a.name.empty()) a.name = host;
    if (!ip.empty() && std::find(a.ips.begin(), a.ips.end(), ip) == a.ips.end()) a.ips.push_back(ip);
    // What the ledger does not rate comes from the minimal table's entry for the same machine.
    const AssetInfo* known = from_table(a.name, a.ips);
    if (a.criticality < 1 || a.criticality > 5) a.criticality = known ? known->criticality : 3;
    if (known && known->internet_facing) a.internet_facing = true;
    if (a.zone.empty() && known) a.zone = known->zone;
    if (a.asset_group.empty() && known) a.asset_group = known->asset_group;
    st.assets.Upsert(std::move(a));
  };
  // Internet scans bring many one-off addresses: keep the cache bounded.
  if (st.looked_up.size() > 100000)
    std::erase_if(st.looked_up, [&](const auto& kv) { return now.ns - kv.second.ns >= kAssetLookupTtl; });
  for (const auto& a : alerts) {
    if (!a.host.empty()) ask(a.host, "");
    for (const std::string* ip : {&a.src_ip, &a.dst_ip})
      if (!ip->empty() && IpInCidr(*ip, *ip)) ask("", *ip);
  }
}

Status TriageService::UpsertAsset(const TenantScope& scope, const AssetInfo& a) {
  std::lock_guard lock(mu_);
  if (a.id.empty()) return Error(ErrorCode::kInvalidArgument, "asset id is required");
  if (a.criticality < 1 || a.criticality > 5) return Error(ErrorCode::kInvalidArgument, "criticality must be 1..5");
  for (const auto& ip : a.ips)
    if (!IpInCidr(ip, ip)) return Error(ErrorCode::kInvalidArgument, "'" + ip + "' is not an IP address");
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(
      "INSERT INTO triage_assets (tenant_id, id, name, ips, criticality, zone, internet_facing, asset_group, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name, ips = "
      "excluded.ips, criticality = excluded.criticality, zone = excluded.zone, internet_facing = excluded.internet_facing, "
      "asset_group = excluded.asset_group, updated_at = excluded.updated_at"));
  MEDSOC_TRY(q->BindAll(scope.tenant_id(), a.id, a.name, ListText(a.ips), a.criticality, a.zone, a.internet_facing ? 1 : 0,
                        a.asset_group, core::Now().ns));
  MEDSOC_TRY(q->Run());
  if (auto it = tenants_.find(scope.tenant_id()); it != tenants_.end()) {
    auto& table = it->second->table;
    auto same = std::find_if(table.begin(), table.end(), [&](const AssetInfo& x) { return x.id == a.id; });
    if (same != table.end()) *same = a;
    else table.push_back(a);
    it->second->assets.Upsert(a);
    it->second->looked_up.clear();  // re-merge ledger assets with the new attributes
  }
  return Ok();
}

Result<std::vector<AssetInfo>> TriageService::ListAssets(const TenantScope& scope) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT id, name, ips, criticality, zone, internet_facing, asset_group "
                                               "FROM triage_assets WHERE tenant_id = ? ORDER BY id"));
  MEDSOC_TRY(q->BindAll(scope.tenant_id()));
  std::vector<AssetInfo> out;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    out.push_back({q->ColumnText(0), q->ColumnText(1), StringList(q->ColumnText(2)), static_cast<int>(q->ColumnInt64(3)),
                   q->ColumnText(4), q->ColumnInt64(5) != 0, q->ColumnText(6)});
  }
  return out;
}

// ---- SLA and on-call ----

Result<std::array<SlaPolicy, 4>> TriageService::SlaPolicies(const TenantScope& scope) {
  std::lock_guard lock(mu_);
  auto policies = DefaultSlaPolicies();
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT severity, ack_minutes, respond_minutes, onsite_minutes, "
                                               "resolve_minutes, pause_statuses FROM sla_policies WHERE tenant_id = ?"));
  MEDSOC_TRY(q->BindAll(scope.tenant_id()));
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    auto sev = ParseSeverity(q->ColumnText(0));
    if (!sev) continue;
    SlaPolicy& p = policies[static_cast<int>(*sev)];
    p.ack_minutes = static_cast<int>(q->ColumnInt64(1));
    p.respond_minutes = static_cast<int>(q->ColumnInt64(2));
    p.onsite_minutes = static_cast<int>(q->ColumnInt64(3));
    p.resolve_minutes = static_cast<int>(q->ColumnInt64(4));
    p.pause_statuses.clear();
    for (const auto& s : StringList(q->ColumnText(5)))
      if (auto st = ParseIncidentStatus(s)) p.pause_statuses.push_back(*st);
  }
  return policies;
}

Status TriageService::PutSlaPolicy(const TenantScope& scope, const SlaPolicy& p) {
  std::lock_guard lock(mu_);
  for (int m : {p.ack_minutes, p.respond_minutes, p.onsite_minutes, p.resolve_minutes})
    if (m < 0 || m > 525600) return Error(ErrorCode::kInvalidArgument, "SLA minutes must be 0..525600");
  std::vector<std::string> pauses;
  for (auto s : p.pause_statuses) pauses.emplace_back(IncidentStatusName(s));
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(
      "INSERT INTO sla_policies (tenant_id, severity, ack_minutes, respond_minutes, onsite_minutes, resolve_minutes, "
      "pause_statuses, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, severity) DO UPDATE SET "
      "ack_minutes = excluded.ack_minutes, respond_minutes = excluded.respond_minutes, onsite_minutes = "
      "excluded.onsite_minutes, resolve_minutes = excluded.resolve_minutes, pause_statuses = excluded.pause_statuses, "
      "updated_at = excluded.updated_at"));
  MEDSOC_TRY(q->BindAll(scope.tenant_id(), SeverityName(p.severity), p.ack_minutes, p.respond_minutes, p.onsite_minutes,
                        p.resolve_minutes, ListText(pauses), core::Now().ns));
  return q->Run();
}

namespace {
SlaInputs InputsOf(const IncidentView& v) {
  return {v.incident.created_at, v.acknowledged_at, v.investigating_at, v.onsite_at, v.resolved_at, v.sla_paused_ns,
          v.sla_paused_at};
}
}  // namespace

Result<std::vector<SlaClock>> TriageService::IncidentSla(const TenantScope& scope, const std::string& id,
                                                          core::Timestamp now) {
  MEDSOC_ASSIGN_OR_RETURN(auto policies, SlaPolicies(scope));
  MEDSOC_ASSIGN_OR_RETURN(auto inc, GetIncident(scope, id));
  if (!inc) return NotFound("incident");
  const SlaPolicy& p = policies[static_cast<int>(inc->incident.severity)];
  SlaInputs in = InputsOf(*inc);
  // A status listed in pause_statuses stops the clocks like an explicit pause.
  if (in.paused_since.ns == 0 &&
      std::find(p.pause_statuses.begin(), p.pause_statuses.end(), inc->incident.status) != p.pause_statuses.end())
    in.paused_since = inc->incident.updated_at;
  return ComputeSla(p, in, now);
}

Result<std::vector<Shift>> TriageService::ShiftsAt(const std::string& tenant, core::Timestamp at) {
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("SELECT ") + kShiftColumns +
                                               " FROM oncall_shifts WHERE tenant_id = ? AND starts_at <= ? AND ends_at > ?"));
  MEDSOC_TRY(q->BindAll(tenant, at.ns, at.ns));
  std::vector<Shift> out;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    out.push_back(ReadShift(*q));
  }
  return out;
}

Status TriageService::AppendOutbox(const std::string& tenant, std::string_view event, const std::string& incident,
                                   const std::string& detail, core::Timestamp at) {
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare("INSERT INTO notify_outbox (tenant_id, event, incident_id, detail, "
                                               "created_at) VALUES (?, ?, ?, ?, ?)"));
  MEDSOC_TRY(q->BindAll(tenant, event, incident, detail, at.ns));
  return q->Run();
}

Result<std::vector<Escalation>> TriageService::CheckSla(core::Timestamp now) {
  std::vector<std::pair<std::string, std::string>> open;
  {
    std::lock_guard lock(mu_);
    MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT tenant_id, id FROM incidents WHERE merged_into = '' AND status "
                                                 "IN ('new','acknowledged','investigating','contained')"));
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      open.emplace_back(q->ColumnText(0), q->ColumnText(1));
    }
  }
  std::vector<Escalation> out;
  for (const auto& [tenant, id] : open) {
    TenantScope scope = TenantScope::Of(tenant);
    MEDSOC_ASSIGN_OR_RETURN(auto clocks, IncidentSla(scope, id, now));
    std::lock_guard lock(mu_);
    MEDSOC_ASSIGN_OR_RETURN(auto inc, LoadIncident(tenant, id));
    if (!inc) continue;
    std::vector<std::string> breaches = inc->breaches;
    int tier = inc->escalation_tier;
    std::vector<std::string> fresh;
    for (const auto& c : clocks)
      if (c.breached && c.met_at.ns == 0 && std::find(breaches.begin(), breaches.end(), c.name) == breaches.end())
        fresh.push_back(c.name);
    if (fresh.empty()) continue;
    MEDSOC_ASSIGN_OR_RETURN(auto shifts, ShiftsAt(tenant, now));
    int max_tier = 1;
    for (const auto& s : shifts) max_tier = std::max(max_tier, s.tier);
    MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_));
    for (const auto& name : fresh) {
      tier = std::min(tier + 1, std::max(max_tier, tier));
      breaches.push_back(name);
      Escalation e{tenant, id, name, tier, OnDuty(shifts, now, tier)};
      std::string who;
      for (const auto& s : e.notify) who += (who.empty() ? "" : ", ") + (s.display.empty() ? s.user_id : s.display);
      json people = json::array();
      for (const auto& s : e.notify)
        people.push_back({{"user_id", s.user_id}, {"display", s.display}, {"phone", s.phone}});
      std::int64_t due_ns = 0;
      for (const auto& c : clocks)
        if (c.name == name) due_ns = c.due_at.ns;
      MEDSOC_TRY(AppendOutbox(tenant, "sla.breach", id,
                              json{{"clock", name}, {"tier", tier}, {"due_at_ns", due_ns}, {"oncall", people}}.dump(),
                              now));
      MEDSOC_TRY(AppendTimeline(tenant, id, now, "sla", "sla_breach",
                                name + " clock breached; escalated to tier " + std::to_string(tier) +
                                    (who.empty() ? " (nobody on duty at that tier)" : ": " + who)));
      out.push_back(std::move(e));
    }
    MEDSOC_ASSIGN_OR_RETURN(auto u, db_->Prepare("UPDATE incidents SET breaches = ?, escalation_tier = ? WHERE tenant_id = ? "
                                                 "AND id = ?"));
    MEDSOC_TRY(u->BindAll(ListText(breaches), tier, tenant, id));
    MEDSOC_TRY(u->Run());
    MEDSOC_TRY(tx.Commit());
  }
  return out;
}

Result<Shift> TriageService::AddShift(const TenantScope& scope, Shift s) {
  std::lock_guard lock(mu_);
  if (s.user_id.empty()) return Error(ErrorCode::kInvalidArgument, "a shift needs a user");
  if (s.ends_at <= s.starts_at) return Error(ErrorCode::kInvalidArgument, "a shift must end after it starts");
  if (s.tier < 1 || s.tier > 5) return Error(ErrorCode::kInvalidArgument, "tier must be 1..5");
  if (s.kind != "regular" && s.kind != "holiday" && s.kind != "protection")
    return Error(ErrorCode::kInvalidArgument, "kind must be regular, holiday or protection");
  s.id = core::NewId();
  s.tenant_id = scope.tenant_id();
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("INSERT INTO oncall_shifts (") + kShiftColumns +
                                               ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  MEDSOC_TRY(q->BindAll(s.id, s.tenant_id, s.user_id, s.display, s.phone, s.tier, s.kind, s.starts_at.ns, s.ends_at.ns));
  MEDSOC_TRY(q->Run());
  return s;
}

Result<std::vector<Shift>> TriageService::ListShifts(const TenantScope& scope, core::Timestamp from, core::Timestamp to) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("SELECT ") + kShiftColumns +
                                               " FROM oncall_shifts WHERE tenant_id = ? AND ends_at > ? AND starts_at < ? "
                                               "ORDER BY starts_at, tier"));
  MEDSOC_TRY(q->BindAll(scope.tenant_id(), from.ns, to.ns == 0 ? INT64_MAX : to.ns));
  std::vector<Shift> out;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    out.push_back(ReadShift(*q));
  }
  return out;
}

Status TriageService::DeleteShift(const TenantScope& scope, const std::string& id) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare("DELETE FROM oncall_shifts WHERE tenant_id = ? AND id = ?"));
  MEDSOC_TRY(q->BindAll(scope.tenant_id(), id));
  MEDSOC_TRY(q->Run());
  if (db_->Changes() == 0) return NotFound("shift");
  return Ok();
}

Result<std::vector<Shift>> TriageService::OnDutyNow(const TenantScope& scope, core::Timestamp at, int tier) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto shifts, ShiftsAt(scope.tenant_id(), at));
  return OnDuty(shifts, at, tier);
}

Result<json> TriageService::IncidentReport(const TenantScope& scope, const std::string& id) {
  MEDSOC_ASSIGN_OR_RETURN(auto inc, GetIncident(scope, id));
  if (!inc) return NotFound("incident");
  MEDSOC_ASSIGN_OR_RETURN(auto alerts, ListAlerts(scope, {.incident_id = id, .limit = 1000}));
  MEDSOC_ASSIGN_OR_RETURN(auto timeline, Timeline(scope, id));
  MEDSOC_ASSIGN_OR_RETURN(auto comments, ListComments(scope, id));
  MEDSOC_ASSIGN_OR_RETURN(auto assets, ListAssets(scope));
  MEDSOC_ASSIGN_OR_RETURN(auto sla, IncidentSla(scope, id, core::Now()));
  return BuildIncidentReport(*inc, alerts, timeline, comments, assets, sla);
}

}  // namespace medsoc::triage
