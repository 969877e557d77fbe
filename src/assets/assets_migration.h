// Schema of the assets module (state database migration 2): the asset ledger with per-attribute
// provenance and history, business systems, the review queue for scan results that disagree with
// curated values, scan records, the changes feed, the internet exposure ledger and the domain
// inventory.
//
// The SQL is a constexpr string in this header so that store/sqlite/migrations.cpp can list it in
// its constexpr migration table without linking medsoc_assets (store sits below assets).
// The migration is appended to store::sqlite::StateMigrations() (see docs/assets.md);
// tests that need the schema before that call AssetsSchemaMigrations(), which returns the state
// migrations with this one appended when the list does not have it yet.
//
// Conventions are those of migration 1 (store/sqlite/migrations.cpp): every table carries
// tenant_id referencing tenants(id), indexes lead with tenant_id, times are INTEGER nanoseconds
// since the epoch (0: never), tables are STRICT. Child rows reference their asset through the
// composite key (tenant_id, asset_id), so no row can point at another tenant's asset.
#pragma once

#include <string_view>
#include <vector>

#include "store/sqlite/migrations.h"

namespace medsoc::assets {

inline constexpr int kAssetsMigrationVersion = 2;
inline constexpr std::string_view kAssetsMigrationName =
    "assets ledger, business systems, scans, changes, exposures, domains";

// Attribute values are TEXT: scalars as is, lists as JSON arrays (see assets/model.h). The
// provenance of each value (source, time, actor) sits beside it, so "where did this OS come from"
// is one row, and asset_history keeps every change.
inline constexpr std::string_view kAssetsMigrationSql = R"sql(
CREATE TABLE business_systems (
  id                TEXT PRIMARY KEY NOT NULL CHECK (id <> ''),
  tenant_id         TEXT NOT NULL REFERENCES tenants(id),
  name              TEXT NOT NULL CHECK (name <> ''),
  mlps_level        INTEGER NOT NULL CHECK (mlps_level BETWEEN 0 AND 5),  -- 等保定级; 0: not graded
  owner_department  TEXT NOT NULL,
  owner             TEXT NOT NULL,
  description       TEXT NOT NULL,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL,
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, name)
) STRICT;

CREATE TABLE assets (
  id          TEXT PRIMARY KEY NOT NULL CHECK (id <> ''),
  tenant_id   TEXT NOT NULL REFERENCES tenants(id),
  status      TEXT NOT NULL CHECK (status IN ('active', 'offline', 'retired')),
  first_seen  INTEGER NOT NULL,
  last_seen   INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  UNIQUE (tenant_id, id)
) STRICT;
CREATE INDEX assets_tenant_status ON assets (tenant_id, status, last_seen);

CREATE TABLE asset_attributes (
  tenant_id   TEXT NOT NULL REFERENCES tenants(id),
  asset_id    TEXT NOT NULL,
  name        TEXT NOT NULL CHECK (name <> ''),
  value       TEXT NOT NULL,
  source      TEXT NOT NULL CHECK (source IN ('scan', 'agent', 'import', 'log', 'manual')),
  updated_at  INTEGER NOT NULL,
  updated_by  TEXT NOT NULL,
  PRIMARY KEY (tenant_id, asset_id, name),
  FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX asset_attributes_value ON asset_attributes (tenant_id, name, value);

-- One row per address of an asset; an address belongs to at most one asset of a tenant.
CREATE TABLE asset_addresses (
  tenant_id  TEXT NOT NULL REFERENCES tenants(id),
  kind       TEXT NOT NULL CHECK (kind IN ('ip', 'mac')),
  address    TEXT NOT NULL CHECK (address <> ''),
  asset_id   TEXT NOT NULL,
  PRIMARY KEY (tenant_id, kind, address),
  FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX asset_addresses_asset ON asset_addresses (tenant_id, asset_id);

CREATE TABLE asset_services (
  tenant_id   TEXT NOT NULL REFERENCES tenants(id),
  asset_id    TEXT NOT NULL,
  port        INTEGER NOT NULL CHECK (port BETWEEN 0 AND 65535),
  proto       TEXT NOT NULL CHECK (proto IN ('tcp', 'udp')),
  state       TEXT NOT NULL CHECK (state IN ('open', 'closed')),
  service     TEXT NOT NULL,
  product     TEXT NOT NULL,
  version     TEXT NOT NULL,
  cpe         TEXT NOT NULL,
  banner      TEXT NOT NULL,
  tls         TEXT NOT NULL,  -- JSON object or ''
  extra       TEXT NOT NULL,  -- JSON object of further details ('' when none)
  source      TEXT NOT NULL CHECK (source IN ('scan', 'agent', 'import', 'log', 'manual')),
  first_seen  INTEGER NOT NULL,
  last_seen   INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, asset_id, port, proto),
  FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX asset_services_product ON asset_services (tenant_id, service, product);

CREATE TABLE asset_software (
  tenant_id   TEXT NOT NULL REFERENCES tenants(id),
  asset_id    TEXT NOT NULL,
  name        TEXT NOT NULL CHECK (name <> ''),
  version     TEXT NOT NULL,
  cpe         TEXT NOT NULL,
  purl        TEXT NOT NULL,
  source      TEXT NOT NULL CHECK (source IN ('scan', 'agent', 'import', 'log', 'manual')),
  first_seen  INTEGER NOT NULL,
  last_seen   INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, asset_id, name, version),
  FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Every change of an attribute, service or software row, append-only.
CREATE TABLE asset_history (
  id          INTEGER PRIMARY KEY,
  tenant_id   TEXT NOT NULL REFERENCES tenants(id),
  asset_id    TEXT NOT NULL,
  at          INTEGER NOT NULL,
  attribute   TEXT NOT NULL,  -- attribute name, or 'service:443/tcp', 'software:name', 'asset'
  old_value   TEXT NOT NULL,
  new_value   TEXT NOT NULL,
  source      TEXT NOT NULL,
  actor       TEXT NOT NULL,
  note        TEXT NOT NULL
) STRICT;
CREATE INDEX asset_history_asset ON asset_history (tenant_id, asset_id, id);
CREATE TRIGGER asset_history_no_update BEFORE UPDATE ON asset_history
BEGIN
  SELECT RAISE(ABORT, 'asset_history is append-only');
END;

-- A scan (or agent, log) value that disagrees with a manual or imported one waits here for review.
CREATE TABLE asset_reviews (
  id          TEXT PRIMARY KEY NOT NULL,
  tenant_id   TEXT NOT NULL REFERENCES tenants(id),
  asset_id    TEXT NOT NULL,
  attribute   TEXT NOT NULL,
  current     TEXT NOT NULL,
  proposed    TEXT NOT NULL,
  source      TEXT NOT NULL,
  proposed_at INTEGER NOT NULL,
  proposed_by TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
  decided_at  INTEGER NOT NULL,
  decided_by  TEXT NOT NULL,
  FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX asset_reviews_status ON asset_reviews (tenant_id, status, proposed_at);
CREATE INDEX asset_reviews_asset ON asset_reviews (tenant_id, asset_id, attribute, status);

-- Every scan with who started it and its scope.
CREATE TABLE scans (
  id           TEXT PRIMARY KEY NOT NULL,
  tenant_id    TEXT NOT NULL REFERENCES tenants(id),
  started_by   TEXT NOT NULL CHECK (started_by <> ''),
  kind         TEXT NOT NULL,  -- 'manual', 'scheduled', 'external'
  scope        TEXT NOT NULL,  -- JSON: targets, ports, exclusions, rate, profile
  status       TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'cancelled')),
  started_at   INTEGER NOT NULL,
  finished_at  INTEGER NOT NULL,
  hosts_up     INTEGER NOT NULL,
  services     INTEGER NOT NULL,
  summary      TEXT NOT NULL
) STRICT;
CREATE INDEX scans_tenant_time ON scans (tenant_id, started_at);

-- The changes feed: new asset, gone, service opened/closed, version changed, unknown in logs,
-- new exposure.
CREATE TABLE asset_changes (
  seq        INTEGER PRIMARY KEY,
  tenant_id  TEXT NOT NULL REFERENCES tenants(id),
  at         INTEGER NOT NULL,
  kind       TEXT NOT NULL,
  asset_id   TEXT NOT NULL,  -- '' for unknown addresses
  address    TEXT NOT NULL,
  detail     TEXT NOT NULL,  -- JSON object
  scan_id    TEXT NOT NULL
) STRICT;
CREATE INDEX asset_changes_tenant ON asset_changes (tenant_id, seq);
CREATE INDEX asset_changes_asset ON asset_changes (tenant_id, asset_id, seq);
CREATE INDEX asset_changes_address ON asset_changes (tenant_id, kind, address, at);

-- 互联网出口映射台账: a public address:port and the internal asset behind it.
CREATE TABLE exposures (
  tenant_id      TEXT NOT NULL REFERENCES tenants(id),
  public_ip      TEXT NOT NULL,
  public_port    INTEGER NOT NULL CHECK (public_port BETWEEN 0 AND 65535),
  proto          TEXT NOT NULL CHECK (proto IN ('tcp', 'udp')),
  internal_ip    TEXT NOT NULL,
  internal_port  INTEGER NOT NULL CHECK (internal_port BETWEEN 0 AND 65535),
  asset_id       TEXT NOT NULL,  -- '' when no ledger asset has internal_ip
  service        TEXT NOT NULL,
  source         TEXT NOT NULL,  -- 'manual', 'import', 'scan'
  approved       INTEGER NOT NULL CHECK (approved IN (0, 1)),
  first_seen     INTEGER NOT NULL,
  last_seen      INTEGER NOT NULL,
  note           TEXT NOT NULL,
  PRIMARY KEY (tenant_id, public_ip, public_port, proto)
) STRICT, WITHOUT ROWID;

CREATE TABLE domains (
  tenant_id   TEXT NOT NULL REFERENCES tenants(id),
  name        TEXT NOT NULL CHECK (name <> ''),
  source      TEXT NOT NULL,  -- 'manual', 'certificate', 'dns', 'import'
  addresses   TEXT NOT NULL,  -- JSON array of resolved addresses
  asset_id    TEXT NOT NULL,
  first_seen  INTEGER NOT NULL,
  last_seen   INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, name)
) STRICT, WITHOUT ROWID;
)sql";

// {kAssetsMigrationVersion, kAssetsMigrationName, AssetsMigrationSql()}.
store::sqlite::Migration AssetsMigration();

// StateMigrations() plus AssetsMigration() when the list does not yet contain version 2.
std::vector<store::sqlite::Migration> AssetsSchemaMigrations();

}  // namespace medsoc::assets
