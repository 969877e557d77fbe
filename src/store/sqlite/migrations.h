// Versioned schema migrations for the state database.
//
// The table schema_migrations(version, name, applied_at) records every migration applied. At open,
// RunMigrations() applies, in order and each in its own BEGIN IMMEDIATE transaction, every
// migration whose version is above the highest recorded one, so reopening is idempotent and two
// processes opening at once do not apply a step twice. A database whose recorded version is newer
// than the newest migration this binary knows is refused (kFailedPrecondition): an older binary
// must not write to a schema it does not understand.
//
// Migrations are append-only: a released migration is never edited; changes go in a new version.
//
// schema_migrations is the one table without tenant_id: it describes the file, not tenant data.
//
// Thread-safety: functions take the Database, which the caller serializes.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/sqlite/db.h"

namespace medsoc::store::sqlite {

struct Migration {
  int version;            // 1, 2, 3 ... strictly increasing
  std::string_view name;  // short description, recorded in schema_migrations
  std::string_view sql;   // one or more statements
};

// The state database's migrations, oldest first.
std::span<const Migration> StateMigrations();

// The highest version among `migrations` (0 when empty).
int LatestVersion(std::span<const Migration> migrations);

// The highest version recorded in schema_migrations (0 for a new database).
Result<int> CurrentSchemaVersion(Database& db);

// Brings the schema up to date (see the file comment). REQUIRES: versions strictly increasing.
Status RunMigrations(Database& db, std::span<const Migration> migrations);

}  // namespace medsoc::store::sqlite
