#include "store/sqlite/migrations.h"

#include "assets/assets_migration.h"
#include "triage/triage_migration.h"

#include <array>
#include <string>

#include "core/time.h"

namespace medsoc::store::sqlite {
namespace {

// Conventions for every table:
//   * tenant_id TEXT NOT NULL on every table. Tenant-scoped tables reference tenants(id) and their
//     indexes lead with tenant_id. Child rows of a user reference users(tenant_id, id), so a row can
//     never point at a user of another tenant.
//   * tenants.tenant_id = id (CHECKed), so "every row carries tenant_id" holds without exception.
//   * settings are deployment-wide and use the sentinel tenant_id '*' (not a valid tenant slug, so
//     it can never collide with a tenant); any other tenant_id must name an existing tenant, which a
//     trigger enforces because a foreign key cannot make an exception for the sentinel.
//   * Times are INTEGER nanoseconds since the Unix epoch (UTC); 0 means "never"/"not set".
//   * Secrets are never stored: sessions.id_hash and api_tokens.token_hash must be 64 lowercase hex
//     characters (a SHA-256), so a raw cookie or token passed by mistake is refused.
//   * Booleans are INTEGER 0/1. Tables are STRICT, so a wrongly typed bind fails loudly.
//   * The only indexes not leading with tenant_id serve the lookups that are global by design:
//     users.username (login), sessions.id_hash and sessions.last_seen_at (cookie resolution and
//     idle housekeeping), api_tokens.token_hash (token resolution), audit_log.seq (verification).
constexpr std::string_view kMigration1 = R"sql(
CREATE TABLE tenants (
  id          TEXT PRIMARY KEY NOT NULL
              CHECK (length(id) BETWEEN 1 AND 63 AND id NOT GLOB '*[^a-z0-9-]*'),
  tenant_id   TEXT NOT NULL UNIQUE CHECK (tenant_id = id),
  name        TEXT NOT NULL,
  created_at  INTEGER NOT NULL
) STRICT;

INSERT INTO tenants (id, tenant_id, name, created_at)
VALUES ('default', 'default', '默认租户',
        CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) * 1000000);

CREATE TABLE users (
  id                    TEXT PRIMARY KEY NOT NULL CHECK (id <> ''),
  tenant_id             TEXT NOT NULL REFERENCES tenants(id),
  username              TEXT NOT NULL CHECK (username <> ''),
  display_name          TEXT NOT NULL,
  role                  TEXT NOT NULL,
  provider_wide         INTEGER NOT NULL CHECK (provider_wide IN (0, 1)),
  disabled              INTEGER NOT NULL CHECK (disabled IN (0, 1)),
  password_hash         TEXT NOT NULL,
  must_change_password  INTEGER NOT NULL CHECK (must_change_password IN (0, 1)),
  password_changed_at   INTEGER NOT NULL,
  locked_until          INTEGER NOT NULL,
  created_at            INTEGER NOT NULL,
  last_login_at         INTEGER NOT NULL,
  UNIQUE (tenant_id, id)
) STRICT;
-- Login names are unique across the deployment, and also case-insensitively (ASCII), so that
-- "Admin" cannot be created next to "admin" and pass for it in the audit trail. Lookups stay exact.
CREATE UNIQUE INDEX users_username ON users (username);
CREATE UNIQUE INDEX users_username_nocase ON users (username COLLATE NOCASE);
CREATE INDEX users_tenant ON users (tenant_id, username);

CREATE TABLE password_history (
  id             INTEGER PRIMARY KEY,
  tenant_id      TEXT NOT NULL REFERENCES tenants(id),
  user_id        TEXT NOT NULL,
  password_hash  TEXT NOT NULL,
  created_at     INTEGER NOT NULL,
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
) STRICT;
CREATE INDEX password_history_user ON password_history (tenant_id, user_id, created_at);

CREATE TABLE login_failures (
  id         INTEGER PRIMARY KEY,
  tenant_id  TEXT NOT NULL REFERENCES tenants(id),
  user_id    TEXT NOT NULL,
  at         INTEGER NOT NULL,
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
) STRICT;
CREATE INDEX login_failures_user ON login_failures (tenant_id, user_id, at);

CREATE TABLE sessions (
  id_hash           TEXT PRIMARY KEY NOT NULL
                    CHECK (length(id_hash) = 64 AND id_hash NOT GLOB '*[^0-9a-f]*'),
  tenant_id         TEXT NOT NULL REFERENCES tenants(id),
  user_id           TEXT NOT NULL,
  active_tenant_id  TEXT NOT NULL REFERENCES tenants(id),
  csrf_token        TEXT NOT NULL,
  source_ip         TEXT NOT NULL,
  created_at        INTEGER NOT NULL,
  last_seen_at      INTEGER NOT NULL,
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
) STRICT;
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);

-- created_by has no foreign key: a provider-wide user of another tenant may create a tenant's
-- tokens, and the CLI creates tokens with no user at all.
CREATE TABLE api_tokens (
  id            TEXT PRIMARY KEY NOT NULL CHECK (id <> ''),
  tenant_id     TEXT NOT NULL REFERENCES tenants(id),
  name          TEXT NOT NULL,
  token_hash    TEXT NOT NULL UNIQUE
                CHECK (length(token_hash) = 64 AND token_hash NOT GLOB '*[^0-9a-f]*'),
  role          TEXT NOT NULL,
  scopes        TEXT NOT NULL,  -- JSON array of permission names
  created_by    TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  revoked_at    INTEGER NOT NULL,
  last_used_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id, created_at);

-- Append-only and hash-chained (see AuditRowHash in store/state_store.h). seq is assigned by the
-- application inside a BEGIN IMMEDIATE transaction, never by AUTOINCREMENT, so it is part of the
-- hashed content and a deleted row shows up as a gap.
CREATE TABLE audit_log (
  seq        INTEGER PRIMARY KEY CHECK (seq > 0),
  time       INTEGER NOT NULL,
  tenant_id  TEXT NOT NULL REFERENCES tenants(id),
  user       TEXT NOT NULL,
  role       TEXT NOT NULL,
  source_ip  TEXT NOT NULL,
  action     TEXT NOT NULL,
  target     TEXT NOT NULL,
  outcome    TEXT NOT NULL,
  detail     TEXT NOT NULL,
  prev_hash  TEXT NOT NULL,
  hash       TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_tenant_seq ON audit_log (tenant_id, seq);
CREATE INDEX audit_log_tenant_time ON audit_log (tenant_id, time);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TABLE settings (
  tenant_id   TEXT NOT NULL,  -- '*': deployment-wide
  key         TEXT NOT NULL CHECK (key <> ''),
  value       TEXT NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, key)
) STRICT;
CREATE TRIGGER settings_tenant_insert BEFORE INSERT ON settings
WHEN NEW.tenant_id <> '*' AND NOT EXISTS (SELECT 1 FROM tenants WHERE id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'settings.tenant_id must be ''*'' or an existing tenant');
END;
CREATE TRIGGER settings_tenant_update BEFORE UPDATE OF tenant_id ON settings
WHEN NEW.tenant_id <> '*' AND NOT EXISTS (SELECT 1 FROM tenants WHERE id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'settings.tenant_id must be ''*'' or an existing tenant');
END;
)sql";

// Later modules keep their migration's SQL beside their code, as constexpr text in a header (so
// this table stays constexpr and medsoc_store links nothing above it); the state database's
// schema is still this one ordered list, whoever opens the file.
constexpr std::array<Migration, 4> kStateMigrations = {{
    {1, "tenants, users, sessions, api tokens, audit trail, settings", kMigration1},
    {assets::kAssetsMigrationVersion, assets::kAssetsMigrationName, assets::kAssetsMigrationSql},
    {triage::kTriageMigrationVersion, triage::kTriageMigrationName, triage::kTriageMigrationSql},
    {triage::kTriageAlertIndexMigrationVersion, triage::kTriageAlertIndexMigrationName,
     triage::kTriageAlertIndexMigrationSql},
}};

constexpr std::string_view kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY NOT NULL,"
    " name TEXT NOT NULL,"
    " applied_at INTEGER NOT NULL"
    ") STRICT";

Result<int> ReadVersion(Database& db) {
  MEDSOC_ASSIGN_OR_RETURN(auto stmt, db.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  MEDSOC_ASSIGN_OR_RETURN(bool row, stmt->Step());
  return row ? static_cast<int>(stmt->ColumnInt64(0)) : 0;
}

Error NewerSchemaError(const Database& db, int found, int latest) {
  return Error(ErrorCode::kFailedPrecondition,
               "database " + db.path() + " has schema version " + std::to_string(found) +
                   ", newer than this medsoc binary supports (" + std::to_string(latest) +
                   "); run a newer medsoc or restore a backup made by this version");
}

}  // namespace

std::span<const Migration> StateMigrations() { return kStateMigrations; }

int LatestVersion(std::span<const Migration> migrations) {
  return migrations.empty() ? 0 : migrations.back().version;
}

Result<int> CurrentSchemaVersion(Database& db) {
  MEDSOC_ASSIGN_OR_RETURN(auto stmt,
                          db.Prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'"));
  MEDSOC_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row || stmt->ColumnInt64(0) == 0) return 0;
  return ReadVersion(db);
}

Status RunMigrations(Database& db, std::span<const Migration> migrations) {
  for (std::size_t i = 1; i < migrations.size(); ++i) {
    MEDSOC_ASSERT(migrations[i - 1].version < migrations[i].version);
  }
  const int latest = LatestVersion(migrations);
  {
    MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db));
    MEDSOC_TRY(db.ExecScript(kCreateMigrationsTable));
    MEDSOC_TRY(tx.Commit());
  }
  for (const Migration& m : migrations) {
    // The version is read inside the write transaction: another process may have migrated since.
    MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db));
    MEDSOC_ASSIGN_OR_RETURN(int current, ReadVersion(db));
    if (current > latest) {
      return NewerSchemaError(db, current, latest);
    }
    if (m.version <= current) continue;  // tx rolls back: nothing was written
    Status applied = db.ExecScript(m.sql);
    if (!applied.ok()) {
      return applied.error().WithContext("migration " + std::to_string(m.version) + " (" + std::string(m.name) + ")");
    }
    {
      MEDSOC_ASSIGN_OR_RETURN(auto insert,
                              db.Prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"));
      MEDSOC_TRY(insert->BindAll(m.version, m.name, core::Now().ns));
      MEDSOC_TRY(insert->Run());
    }
    MEDSOC_TRY(tx.Commit());
  }
  // Also refuse a newer database when every known migration was already applied (the loop above
  // only checks while it still has migrations to look at).
  MEDSOC_ASSIGN_OR_RETURN(int final_version, ReadVersion(db));
  if (final_version > latest) {
    return NewerSchemaError(db, final_version, latest);
  }
  return Ok();
}

}  // namespace medsoc::store::sqlite
