// Golden tests: tests/golden/detect/<case>/{rules/, events.jsonl, expected.jsonl}. The rules (with
// content/logsources, plus <case>/logsources/ when present) are loaded, the events fed through a
// Detector (correlations included) in batches of 3 so that state crosses batch boundaries, and the
// alerts, one AlertToJson line each, compared with expected.jsonl.
// MEDSOC_UPDATE_GOLDEN=1 rewrites expected.jsonl instead of comparing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "detect/detector.h"
#include "detect/json_events.h"

namespace medsoc::detect {
namespace {

namespace fs = std::filesystem;

std::string SourceDir() {
  const char* s = std::getenv("MEDSOC_SOURCE_DIR");
  return s ? s : ".";
}

std::string RunCase(const fs::path& dir) {
  LogsourceMap ls;
  for (const auto& p : ls.LoadPath(SourceDir() + "/content/logsources")) ADD_FAILURE() << p.ToString();
  if (fs::is_directory(dir / "logsources"))
    for (const auto& p : ls.LoadPath((dir / "logsources").string())) ADD_FAILURE() << p.ToString();
  LoadSummary summary;
  auto rules = LoadRules({(dir / "rules").string()}, ls, {}, summary);
  for (const auto& p : summary.problems)
    if (p.severity != Severity::kWarning) ADD_FAILURE() << p.ToString();
  Detector detector(rules, {.threads = 1});
  auto reader = JsonEventReader::Open((dir / "events.jsonl").string());
  EXPECT_TRUE(reader.ok());
  if (!reader.ok()) return "";
  std::string out;
  event::Batch batch;
  std::uint64_t index = 0;
  std::vector<Alert> alerts;
  auto flush = [&] {
    alerts.clear();
    detector.Process(batch, index, alerts);
    for (const auto& a : alerts) out += AlertToJson(a) + "\n";
    index += batch.size();
    batch.Clear();
  };
  for (;;) {
    event::Event& e = batch.Add();
    if (!(*reader)->Next(e)) {
      batch.PopBack();
      break;
    }
    if (batch.size() == 3) flush();
  }
  if (!batch.empty()) flush();
  return out;
}

TEST(DetectGolden, Cases) {
  const fs::path root = fs::path(SourceDir()) / "tests/golden/detect";
  ASSERT_TRUE(fs::is_directory(root)) << root;
  const bool update = std::getenv("MEDSOC_UPDATE_GOLDEN") != nullptr;
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory()) cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  ASSERT_FALSE(cases.empty());
  for (const auto& dir : cases) {
    SCOPED_TRACE(dir.string());
    const std::string got = RunCase(dir);
    const fs::path expected_path = dir / "expected.jsonl";
    if (update) {
      std::ofstream(expected_path) << got;
      continue;
    }
    std::ifstream in(expected_path);
    ASSERT_TRUE(in) << "missing " << expected_path << " (run with MEDSOC_UPDATE_GOLDEN=1)";
    std::stringstream want;
    want << in.rdbuf();
    EXPECT_EQ(got, want.str());
  }
}

}  // namespace
}  // namespace medsoc::detect
