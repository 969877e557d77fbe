// Schema of the triage module: migration 3 of the state database. The lead appends
//   {triage::kTriageMigrationVersion, triage::kTriageMigrationName, triage::kTriageMigrationSql}
// to kStateMigrations in store/sqlite/migrations.cpp.
//
// Conventions (as migration 1): every table has tenant_id referencing tenants(id) and indexes that
// lead with tenant_id; times are INTEGER nanoseconds since the epoch, 0 = not set; tables STRICT;
// lists are JSON arrays in TEXT columns; secrets (notification channel tokens) only sealed
// (core::SecretBox, "v1:..."), never in the clear.
#pragma once

#include <string_view>
#include <vector>

#include "store/sqlite/migrations.h"

namespace medsoc::triage {

inline constexpr int kTriageMigrationVersion = 3;
inline constexpr std::string_view kTriageMigrationName =
    "triage: alerts, incidents, suppressions, verdicts, SLA, on-call, notifications";
inline constexpr std::string_view kTriageMigrationSql = R"sql(
-- Minimal asset directory for scoring until the asset ledger lands (it may replace this table by a
-- view with the same columns).
CREATE TABLE triage_assets (
  tenant_id        TEXT NOT NULL REFERENCES tenants(id),
  id               TEXT NOT NULL CHECK (id <> ''),
  name             TEXT NOT NULL,
  ips              TEXT NOT NULL DEFAULT '[]',
  criticality      INTEGER NOT NULL CHECK (criticality BETWEEN 1 AND 5),
  zone             TEXT NOT NULL DEFAULT '',
  internet_facing  INTEGER NOT NULL CHECK (internet_facing IN (0, 1)),
  asset_group      TEXT NOT NULL DEFAULT '',
  updated_at       INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE TABLE incidents (
  tenant_id        TEXT NOT NULL REFERENCES tenants(id),
  id               TEXT NOT NULL CHECK (id <> ''),
  number           INTEGER NOT NULL,            -- per tenant, 1, 2, 3 ... (shown as INC-000123)
  title            TEXT NOT NULL,
  severity         TEXT NOT NULL CHECK (severity IN ('low','medium','high','critical')),
  status           TEXT NOT NULL CHECK (status IN ('new','acknowledged','investigating','contained','resolved','closed')),
  score            REAL NOT NULL,
  risk             REAL NOT NULL,
  raised_by        TEXT NOT NULL,
  source           TEXT NOT NULL,
  owner            TEXT NOT NULL DEFAULT '',
  entities         TEXT NOT NULL DEFAULT '[]',
  tactics          TEXT NOT NULL DEFAULT '[]',
  techniques       TEXT NOT NULL DEFAULT '[]',
  alert_count      INTEGER NOT NULL DEFAULT 0,
  event_count      INTEGER NOT NULL DEFAULT 0,
  merged_into      TEXT NOT NULL DEFAULT '',
  verdict          TEXT NOT NULL DEFAULT '',
  review           TEXT NOT NULL DEFAULT '',     -- post-incident review, required to close
  impact           TEXT NOT NULL DEFAULT '',
  root_cause       TEXT NOT NULL DEFAULT '',
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  first_seen       INTEGER NOT NULL,
  last_seen        INTEGER NOT NULL,
  acknowledged_at  INTEGER NOT NULL DEFAULT 0,
  investigating_at INTEGER NOT NULL DEFAULT 0,
  onsite_at        INTEGER NOT NULL DEFAULT 0,
  contained_at     INTEGER NOT NULL DEFAULT 0,
  resolved_at      INTEGER NOT NULL DEFAULT 0,
  closed_at        INTEGER NOT NULL DEFAULT 0,
  sla_paused_at    INTEGER NOT NULL DEFAULT 0,   -- clock paused since (0: running)
  sla_paused_ns    INTEGER NOT NULL DEFAULT 0,   -- total paused time so far
  escalation_tier  INTEGER NOT NULL DEFAULT 1,
  breaches         TEXT NOT NULL DEFAULT '[]',   -- clocks already breached and escalated
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, number)
) STRICT;
CREATE INDEX incidents_status ON incidents (tenant_id, status, severity, created_at);
CREATE INDEX incidents_created ON incidents (tenant_id, created_at);

CREATE TABLE alerts (
  tenant_id        TEXT NOT NULL REFERENCES tenants(id),
  id               TEXT NOT NULL CHECK (id <> ''),
  dedup_key        TEXT NOT NULL,
  source           TEXT NOT NULL CHECK (source IN ('sigma','suricata','waf','firewall_ips','antivirus')),
  rule_id          TEXT NOT NULL,
  rule_title       TEXT NOT NULL,
  level            TEXT NOT NULL CHECK (level IN ('informational','low','medium','high','critical')),
  attack_technique TEXT NOT NULL DEFAULT '',
  attack_tactic    TEXT NOT NULL DEFAULT '',
  host             TEXT NOT NULL DEFAULT '',
  user_name        TEXT NOT NULL DEFAULT '',
  src_ip           TEXT NOT NULL DEFAULT '',
  dst_ip           TEXT NOT NULL DEFAULT '',
  asset_id         TEXT NOT NULL DEFAULT '',
  entities         TEXT NOT NULL DEFAULT '[]',
  score            REAL NOT NULL,
  first_seen       INTEGER NOT NULL,
  last_seen        INTEGER NOT NULL,
  count            INTEGER NOT NULL CHECK (count >= 1),
  status           TEXT NOT NULL CHECK (status IN ('open','suppressed','in_incident','closed')),
  suppression      TEXT NOT NULL DEFAULT 'none',
  suppressed_by    TEXT NOT NULL DEFAULT '',
  incident_id      TEXT NOT NULL DEFAULT '',
  last_event_id    TEXT NOT NULL DEFAULT '',
  matched_fields   TEXT NOT NULL DEFAULT '{}',
  intel_hits       TEXT NOT NULL DEFAULT '[]',
  blocked          INTEGER NOT NULL CHECK (blocked IN (0, 1)),
  verdict          TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX alerts_last_seen ON alerts (tenant_id, last_seen);
CREATE INDEX alerts_status ON alerts (tenant_id, status, last_seen);
CREATE INDEX alerts_incident ON alerts (tenant_id, incident_id);
CREATE INDEX alerts_rule ON alerts (tenant_id, rule_id, last_seen);

-- Per local day and source: alerts in, records after dedup, suppressed, incidents raised.
CREATE TABLE triage_stats (
  tenant_id      TEXT NOT NULL REFERENCES tenants(id),
  day            TEXT NOT NULL,        -- local date YYYY-MM-DD
  source         TEXT NOT NULL,
  alerts_in      INTEGER NOT NULL DEFAULT 0,
  alert_records  INTEGER NOT NULL DEFAULT 0,
  suppressed     INTEGER NOT NULL DEFAULT 0,
  incidents      INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, day, source)
) STRICT;

CREATE TABLE incident_watchers (
  tenant_id    TEXT NOT NULL REFERENCES tenants(id),
  incident_id  TEXT NOT NULL,
  user_id      TEXT NOT NULL,
  added_at     INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, incident_id, user_id),
  FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents (tenant_id, id)
) STRICT;

CREATE TABLE incident_comments (
  tenant_id    TEXT NOT NULL REFERENCES tenants(id),
  id           TEXT NOT NULL,
  incident_id  TEXT NOT NULL,
  author       TEXT NOT NULL,
  body         TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents (tenant_id, id)
) STRICT;
CREATE INDEX incident_comments_incident ON incident_comments (tenant_id, incident_id, created_at);

-- Evidence attachments (screenshots, pcaps, memory excerpts), kept in the database up to a limit.
CREATE TABLE incident_evidence (
  tenant_id    TEXT NOT NULL REFERENCES tenants(id),
  id           TEXT NOT NULL,
  incident_id  TEXT NOT NULL,
  name         TEXT NOT NULL,
  media_type   TEXT NOT NULL,
  size         INTEGER NOT NULL,
  sha256       TEXT NOT NULL CHECK (length(sha256) = 64),
  content      BLOB NOT NULL,
  description  TEXT NOT NULL DEFAULT '',
  added_by     TEXT NOT NULL,
  added_at     INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents (tenant_id, id)
) STRICT;
CREATE INDEX incident_evidence_incident ON incident_evidence (tenant_id, incident_id);

-- Links to events, assets, findings and other incidents (alerts link through alerts.incident_id).
CREATE TABLE incident_links (
  tenant_id    TEXT NOT NULL REFERENCES tenants(id),
  incident_id  TEXT NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('event','asset','finding','incident','alert')),
  ref          TEXT NOT NULL CHECK (ref <> ''),
  note         TEXT NOT NULL DEFAULT '',
  added_by     TEXT NOT NULL,
  added_at     INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, incident_id, kind, ref),
  FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents (tenant_id, id)
) STRICT;

CREATE TABLE incident_timeline (
  tenant_id    TEXT NOT NULL REFERENCES tenants(id),
  seq          INTEGER PRIMARY KEY,
  incident_id  TEXT NOT NULL,
  at           INTEGER NOT NULL,
  actor        TEXT NOT NULL,
  kind         TEXT NOT NULL,
  detail       TEXT NOT NULL DEFAULT '',
  FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents (tenant_id, id)
) STRICT;
CREATE INDEX incident_timeline_incident ON incident_timeline (tenant_id, incident_id, seq);

CREATE TABLE suppressions (
  tenant_id    TEXT NOT NULL REFERENCES tenants(id),
  id           TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('active','proposed','disabled','rejected')),
  rule_id      TEXT NOT NULL DEFAULT '',
  conditions   TEXT NOT NULL DEFAULT '[]',
  asset_group  TEXT NOT NULL DEFAULT '',
  reason       TEXT NOT NULL CHECK (reason <> ''),
  author       TEXT NOT NULL,
  approved_by  TEXT NOT NULL DEFAULT '',
  origin       TEXT NOT NULL DEFAULT 'manual',
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  hits         INTEGER NOT NULL DEFAULT 0,
  last_hit_at  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX suppressions_status ON suppressions (tenant_id, status);

CREATE TABLE allowlist_entries (
  tenant_id    TEXT NOT NULL REFERENCES tenants(id),
  id           TEXT NOT NULL,
  category     TEXT NOT NULL CHECK (category IN ('vuln_scanner','backup','monitoring','other')),
  kind         TEXT NOT NULL CHECK (kind IN ('ip','user','host')),
  value        TEXT NOT NULL CHECK (value <> ''),
  comment      TEXT NOT NULL DEFAULT '',
  author       TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE TABLE maintenance_windows (
  tenant_id           TEXT NOT NULL REFERENCES tenants(id),
  id                  TEXT NOT NULL,
  name                TEXT NOT NULL,
  asset_ids           TEXT NOT NULL DEFAULT '[]',
  asset_group         TEXT NOT NULL DEFAULT '',
  starts_at           INTEGER NOT NULL,
  ends_at             INTEGER NOT NULL,
  weekdays            INTEGER NOT NULL DEFAULT 0 CHECK (weekdays BETWEEN 0 AND 127),
  start_minute        INTEGER NOT NULL DEFAULT 0 CHECK (start_minute BETWEEN 0 AND 1439),
  duration_minutes    INTEGER NOT NULL DEFAULT 0 CHECK (duration_minutes BETWEEN 0 AND 10080),
  utc_offset_minutes  INTEGER NOT NULL DEFAULT 480,
  author              TEXT NOT NULL,
  created_at          INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE TABLE verdicts (
  tenant_id    TEXT NOT NULL REFERENCES tenants(id),
  id           TEXT NOT NULL,
  target_kind  TEXT NOT NULL CHECK (target_kind IN ('alert','incident')),
  target_id    TEXT NOT NULL,
  verdict      TEXT NOT NULL CHECK (verdict IN ('true_positive','false_positive','benign_true_positive')),
  rule_id      TEXT NOT NULL DEFAULT '',    -- for suppression suggestions
  subject      TEXT NOT NULL DEFAULT '',    -- host or user the false positive was about
  comment      TEXT NOT NULL DEFAULT '',
  author       TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX verdicts_target ON verdicts (tenant_id, target_kind, target_id);
CREATE INDEX verdicts_rule ON verdicts (tenant_id, verdict, rule_id, subject);

-- SLA policy per severity (minutes; 0 = no target). pause_statuses: JSON array of statuses during
-- which the clocks stand still besides an explicit pause.
CREATE TABLE sla_policies (
  tenant_id         TEXT NOT NULL REFERENCES tenants(id),
  severity          TEXT NOT NULL CHECK (severity IN ('low','medium','high','critical')),
  ack_minutes       INTEGER NOT NULL CHECK (ack_minutes >= 0),
  respond_minutes   INTEGER NOT NULL CHECK (respond_minutes >= 0),
  onsite_minutes    INTEGER NOT NULL CHECK (onsite_minutes >= 0),
  resolve_minutes   INTEGER NOT NULL CHECK (resolve_minutes >= 0),
  pause_statuses    TEXT NOT NULL DEFAULT '[]',
  updated_at        INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, severity)
) STRICT;

-- Duty roster: one row per shift; kind regular, holiday (节假日值班) or protection (重保期加强).
CREATE TABLE oncall_shifts (
  tenant_id   TEXT NOT NULL REFERENCES tenants(id),
  id          TEXT NOT NULL,
  user_id     TEXT NOT NULL,
  display     TEXT NOT NULL DEFAULT '',
  phone       TEXT NOT NULL DEFAULT '',
  tier        INTEGER NOT NULL CHECK (tier BETWEEN 1 AND 5),
  kind        TEXT NOT NULL CHECK (kind IN ('regular','holiday','protection')),
  starts_at   INTEGER NOT NULL,
  ends_at     INTEGER NOT NULL CHECK (ends_at > starts_at),
  PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX oncall_shifts_time ON oncall_shifts (tenant_id, starts_at, ends_at);

-- Notification channels. config holds the non-secret settings of the kind (triage/notify/channel.h);
-- secret_sealed is core::SecretBox over a JSON object of the secrets (tokens, passwords, signing keys).
CREATE TABLE notify_channels (
  tenant_id      TEXT NOT NULL REFERENCES tenants(id),
  id             TEXT NOT NULL,
  name           TEXT NOT NULL,
  kind           TEXT NOT NULL CHECK (kind IN ('email','wecom','dingtalk','feishu','webhook','sms')),
  config         TEXT NOT NULL DEFAULT '{}',
  secret_sealed  TEXT NOT NULL DEFAULT '' CHECK (secret_sealed = '' OR secret_sealed LIKE 'v1:%'),
  secret_names   TEXT NOT NULL DEFAULT '[]',   -- names only, for the API's "(set)"
  enabled        INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, id)
) STRICT;

-- Which events go to which channel: at least min_severity, an asset of asset_group among the
-- incident's entities (empty: any), local time of day in [start_minute, end_minute) (wrapping past
-- midnight when start > end), at most rate_per_hour deliveries on the channel (0: no limit).
CREATE TABLE notify_routes (
  tenant_id     TEXT NOT NULL REFERENCES tenants(id),
  id            TEXT NOT NULL,
  name          TEXT NOT NULL DEFAULT '',
  channel_id    TEXT NOT NULL,
  min_severity  TEXT NOT NULL CHECK (min_severity IN ('low','medium','high','critical')),
  asset_group   TEXT NOT NULL DEFAULT '',
  start_minute  INTEGER NOT NULL DEFAULT 0 CHECK (start_minute BETWEEN 0 AND 1440),
  end_minute    INTEGER NOT NULL DEFAULT 1440 CHECK (end_minute BETWEEN 0 AND 1440),
  events        TEXT NOT NULL DEFAULT '["incident.created","incident.escalated","sla.breach"]',
  rate_per_hour INTEGER NOT NULL DEFAULT 30 CHECK (rate_per_hour >= 0),
  enabled       INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  created_at    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, channel_id) REFERENCES notify_channels (tenant_id, id)
) STRICT;

-- Transactional outbox: rows written in the same transaction as the change they announce
-- (incident created or escalated by ingest, SLA breach by CheckSla); the notification service turns
-- each into deliveries and deletes it. A crash between the two loses nothing.
CREATE TABLE notify_outbox (
  seq          INTEGER PRIMARY KEY,
  tenant_id    TEXT NOT NULL REFERENCES tenants(id),
  event        TEXT NOT NULL CHECK (event IN ('incident.created','incident.escalated','sla.breach')),
  incident_id  TEXT NOT NULL,
  detail       TEXT NOT NULL DEFAULT '{}',   -- sla.breach: clock, tier, due_at, on-duty people
  created_at   INTEGER NOT NULL
) STRICT;

-- The delivery log and the persisted retry queue (status pending, next_attempt_at).
CREATE TABLE notify_deliveries (
  tenant_id        TEXT NOT NULL REFERENCES tenants(id),
  id               TEXT NOT NULL,
  channel_id       TEXT NOT NULL,
  route_id         TEXT NOT NULL DEFAULT '',
  event            TEXT NOT NULL,
  incident_id      TEXT NOT NULL DEFAULT '',
  recipient        TEXT NOT NULL DEFAULT '',   -- SMS: the phone number; else empty
  dedup_key        TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('pending','sent','failed','deduplicated','rate_limited')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER NOT NULL DEFAULT 0,
  last_error       TEXT NOT NULL DEFAULT '',
  response_code    INTEGER NOT NULL DEFAULT 0,
  payload          TEXT NOT NULL DEFAULT '{}',  -- the template variables (never secrets)
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL DEFAULT 0,
  sent_at          INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX notify_deliveries_created ON notify_deliveries (tenant_id, created_at);
CREATE INDEX notify_deliveries_dedup ON notify_deliveries (tenant_id, channel_id, dedup_key, created_at);
CREATE INDEX notify_deliveries_channel ON notify_deliveries (tenant_id, channel_id, created_at);
-- Housekeeping looks for due retries across tenants.
CREATE INDEX notify_deliveries_due ON notify_deliveries (status, next_attempt_at);
)sql";

// Migration 4: the alerts of one incident in last_seen order, so the incident list counts them
// from the index alone (COUNT ... GROUP BY incident_id) and takes the newest few without a sort,
// and the alert list filtered by incident pages newest first without one. Replaces
// alerts_incident (tenant_id, incident_id), whose every use this index serves.
inline constexpr int kTriageAlertIndexMigrationVersion = 4;
inline constexpr std::string_view kTriageAlertIndexMigrationName = "triage: alerts by incident in last_seen order";
inline constexpr std::string_view kTriageAlertIndexMigrationSql = R"sql(
CREATE INDEX alerts_incident_seen ON alerts (tenant_id, incident_id, last_seen);
DROP INDEX alerts_incident;
)sql";

// Tests and tools that need the schema before the lead's wiring: StateMigrations() plus this one
// (dropping any later state migration, as OpenInMemoryForTest does).
std::vector<store::sqlite::Migration> TriageSchemaMigrations();

}  // namespace medsoc::triage
