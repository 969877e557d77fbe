// Loads the whole SigmaHQ snapshot (../shared/data/sigma, Detection Rule License, never committed)
// and requires at least 99% of its rules to load; every rule that does not is listed with its
// reason. Skipped when the folder is absent.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "detect/engine.h"

namespace medsoc::detect {
namespace {

std::string SourceDir() {
  const char* s = std::getenv("MEDSOC_SOURCE_DIR");
  return s ? s : ".";
}

std::string SigmaDir() {
  if (const char* s = std::getenv("MEDSOC_SIGMA_DIR")) return s;
  return SourceDir() + "/../shared/data/sigma";
}

TEST(SigmaHq, AtLeast99PercentLoad) {
  const std::string dir = SigmaDir();
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "no SigmaHQ snapshot at " << dir;
  LogsourceMap ls;
  auto lp = ls.LoadPath(SourceDir() + "/content/logsources");
  ASSERT_TRUE(lp.empty()) << lp[0].ToString();
  LoadSummary summary;
  const auto t0 = std::chrono::steady_clock::now();
  auto set = LoadRules({dir + "/rules", dir + "/rules-emerging-threats", dir + "/rules-threat-hunting"}, ls, {}, summary);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::size_t listed = 0;
  for (const auto& p : summary.problems) {
    if (p.severity == Severity::kWarning) continue;
    std::cout << "  not loaded: " << p.ToString() << "\n";
    ++listed;
  }
  std::cout << "SigmaHQ: " << summary.documents << " documents, " << summary.loaded << " loaded, "
            << summary.unsupported << " unsupported, " << summary.errors << " errors, " << summary.warnings
            << " warnings; " << set->predicate_count() << " predicates, " << set->hyperscan_databases()
            << " Hyperscan databases, " << set->re2_patterns() << " RE2 patterns; " << secs << " s\n";
  ASSERT_GT(summary.documents, 3000u);
  EXPECT_GE(static_cast<double>(summary.loaded), 0.99 * static_cast<double>(summary.documents));
  EXPECT_EQ(listed, summary.unsupported + summary.errors) << "every rule not loaded has its reason listed";
}

}  // namespace
}  // namespace medsoc::detect
