#include "assets/assets_migration.h"

namespace medsoc::assets {
store::sqlite::Migration AssetsMigration() {
  return {kAssetsMigrationVersion, kAssetsMigrationName, kAssetsMigrationSql};
}

std::vector<store::sqlite::Migration> AssetsSchemaMigrations() {
  auto base = store::sqlite::StateMigrations();
  std::vector<store::sqlite::Migration> all(base.begin(), base.end());
  bool has = false;
  for (const auto& m : all) has = has || m.version == kAssetsMigrationVersion;
  if (!has) all.push_back(AssetsMigration());
  return all;
}

}  // namespace medsoc::assets
