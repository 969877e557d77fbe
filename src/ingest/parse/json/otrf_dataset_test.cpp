// Parses the first 20k lines of the OTRF Security-Datasets sample (NXLog-style flat JSON) from
// /work/shared/data (never committed); skipped when it is absent.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "ingest/parse/json/test_util.h"

namespace medsoc::ingest::json {
namespace {

std::string DatasetPath() {
  if (const char* p = std::getenv("MEDSOC_OTRF_DATASET")) return p;
  const char* src = std::getenv("MEDSOC_SOURCE_DIR");
  std::filesystem::path root = src ? src : ".";
  return (root.parent_path() / "shared/data/events/otrf-atomic-windows.jsonl.zst").string();
}

TEST(OtrfDataset, First20kLinesParseAndResolveSigmaFields) {
  const std::string path = DatasetPath();
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "dataset not present: " << path;
  const std::string cmd = "zstd -dc '" + path + "' 2>/dev/null | head -n 20000";
  FILE* f = popen(cmd.c_str(), "r");
  ASSERT_NE(f, nullptr);
  auto parser = MakeWindowsJsonParser(WindowsShape::kAny);
  event::Event e;
  std::string line;
  char buf[1 << 16];
  std::size_t lines = 0, ok = 0, resolved = 0;
  const auto id_event = testing::Fid("EventID"), id_channel = testing::Fid("Channel"),
             id_computer = testing::Fid("Computer"), id_code = testing::Fid("event.code"),
             id_host = testing::Fid("host.name");
  while (fgets(buf, sizeof buf, f)) {
    line += buf;
    if (line.empty() || line.back() != '\n') continue;
    line.pop_back();
    ++lines;
    ParseContext ctx;
    if (testing::ParseInto(*parser, line, e, ctx).ok()) {
      ++ok;
      if (e.FindOriginal(id_event) && e.FindOriginal(id_channel) && e.FindOriginal(id_computer) && e.Find(id_code) &&
          e.Find(id_host))
        ++resolved;
    }
    line.clear();
  }
  pclose(f);
  ASSERT_EQ(lines, 20000u);
  EXPECT_GE(static_cast<double>(ok) / lines, 0.9999) << ok << " of " << lines;
  EXPECT_GE(static_cast<double>(resolved) / lines, 0.9999) << resolved << " of " << lines;
}

}  // namespace
}  // namespace medsoc::ingest::json
