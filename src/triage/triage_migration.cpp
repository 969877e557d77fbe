#include "triage/triage_migration.h"

#include <algorithm>

namespace medsoc::triage {



}  // namespace medsoc::triage

namespace medsoc::triage {

std::vector<store::sqlite::Migration> TriageSchemaMigrations() {
  std::vector<store::sqlite::Migration> ms(store::sqlite::StateMigrations().begin(),
                                           store::sqlite::StateMigrations().end());
  if (std::none_of(ms.begin(), ms.end(), [](const auto& m) { return m.version == kTriageMigrationVersion; })) {
    std::erase_if(ms, [](const auto& m) { return m.version > kTriageMigrationVersion; });
    ms.push_back({kTriageMigrationVersion, kTriageMigrationName, kTriageMigrationSql});
  }
  return ms;
}

}  // namespace medsoc::triage
