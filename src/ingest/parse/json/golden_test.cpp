// Golden tests: tests/golden/ingest/json/<parser>/<case>.input is framed as that parser's sources
// frame it (JsonFramer for evtx_json, CsvRecordFramer for postgresql_csv, lines otherwise),
// parsed, and rendered with event/json.h; the result must equal <case>.expected.ndjson.
// MEDSOC_UPDATE_GOLDEN=1 rewrites the expectations. One parser instance per file (W3C state).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/registry.h"
#include "event/json.h"
#include "ingest/framing_json.h"
#include "ingest/parse/json/csv.h"
#include "ingest/parse/json_parsers.h"
#include "ingest/parse/parser.h"

namespace medsoc::ingest::json {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Frame(const std::string& parser, const std::string& data, std::string& notes) {
  std::vector<std::string> out;
  if (parser == "evtx_json") {
    JsonFramer fr;
    fr.Feed(data);
    fr.Finish();
    JsonFramer::Frame f;
    while (fr.Next(f)) {
      if (f.ok) out.emplace_back(f.value);
      else notes += "framing: " + f.error + "\n";
    }
  } else if (parser == "postgresql_csv") {
    CsvRecordFramer fr;
    fr.Feed(data);
    std::string_view rec;
    std::uint64_t off;
    bool trunc;
    while (fr.Next(rec, off, trunc)) out.emplace_back(rec);
    if (fr.Finish(rec, off)) out.emplace_back(rec);
  } else {
    std::istringstream in(data);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) out.push_back(line);
    }
  }
  return out;
}

TEST(JsonGolden, AllCases) {
  const char* src = std::getenv("MEDSOC_SOURCE_DIR");
  ASSERT_NE(src, nullptr) << "MEDSOC_SOURCE_DIR not set";
  const fs::path root = fs::path(src) / "tests/golden/ingest/json";
  ASSERT_TRUE(fs::exists(root)) << root;
  const bool update = std::getenv("MEDSOC_UPDATE_GOLDEN") != nullptr;
  core::Registry reg;
  ASSERT_TRUE(RegisterJsonParsers(reg).ok());
  int cases = 0;
  for (const auto& dir : fs::directory_iterator(root)) {
    if (!dir.is_directory()) continue;
    const std::string parser = dir.path().filename().string();
    for (const auto& file : fs::directory_iterator(dir.path())) {
      if (file.path().extension() != ".input") continue;
      auto p = reg.Create<Parser>(parser);
      ASSERT_TRUE(p.ok()) << "no parser named " << parser;
      std::string notes;
      std::string got = notes;
      ParseContext ctx;
      ctx.now = core::Timestamp::FromSeconds(1709424000);
      event::Event e;
      for (const std::string& msg : Frame(parser, ReadFile(file.path()), notes)) {
        e.Reset();
        e.set_raw(msg);
        e.set_tenant_id("golden");
        e.set_source_name("golden");
        e.set_ingest_time(core::Timestamp{0});
        auto st = (*p)->Parse(e.raw(), ctx, e);
        if (!st.ok()) e.set_parse_error(st.error().message());
        got += event::EventToJson(e);
        got += '\n';
      }
      got = notes + got;
      fs::path expected = file.path();
      expected.replace_extension(".expected.ndjson");
      if (update) {
        std::ofstream(expected, std::ios::binary) << got;
      } else {
        ASSERT_TRUE(fs::exists(expected)) << expected << " missing; run with MEDSOC_UPDATE_GOLDEN=1";
        EXPECT_EQ(ReadFile(expected), got) << "golden mismatch for " << file.path();
      }
      ++cases;
    }
  }
  EXPECT_GE(cases, 8);
}

}  // namespace
}  // namespace medsoc::ingest::json
