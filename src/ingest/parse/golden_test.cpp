// Golden tests: tests/golden/ingest/text/NAME.log holds input lines (first line "# format: PARSER"),
// NAME.jsonl the expected event JSON per line (event/json.h; ingest_time fixed at 0). Run with
// MEDSOC_UPDATE_GOLDEN=1 to rewrite the expectations after a deliberate change, then review the diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/registry.h"
#include "event/batch.h"
#include "event/json.h"
#include "ingest/parse/text_test_util.h"

namespace medsoc::ingest {
namespace {

using namespace text::testing;

std::string SourceDir() {
  const char* src = std::getenv("MEDSOC_SOURCE_DIR");
  return src ? src : ".";
}

TEST(GoldenText, AllFiles) {
  core::Registry registry;
  auto problems = RegisterParsers(registry, SourceDir() + "/content");
  for (const auto& p : problems) ADD_FAILURE() << p.ToString();
  const std::filesystem::path dir = SourceDir() + "/tests/golden/ingest/text";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  const bool update = std::getenv("MEDSOC_UPDATE_GOLDEN") && std::string(std::getenv("MEDSOC_UPDATE_GOLDEN")) == "1";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".log") continue;
    ++files;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string line, format;
    std::getline(in, line);
    ASSERT_EQ(line.rfind("# format: ", 0), 0u) << entry.path() << ": first line must be '# format: NAME'";
    format = line.substr(10);
    auto parser = registry.Create<Parser>(format);
    ASSERT_TRUE(parser.ok()) << format;
    std::string actual;
    event::Batch batch;
    while (std::getline(in, line)) {
      event::Event& e = batch.Add();
      e.set_raw(line);
      e.set_source_name("golden");
      e.set_tenant_id("t1");
      Status st = (*parser)->Parse(e.raw(), Ctx(), e);
      if (!st.ok()) e.set_parse_error(st.error().message());
      actual += event::EventToJson(e);
      actual += '\n';
    }
    std::filesystem::path expected_path = entry.path();
    expected_path.replace_extension(".jsonl");
    if (update) {
      std::ofstream(expected_path, std::ios::binary) << actual;
      continue;
    }
    std::ifstream ex(expected_path, std::ios::binary);
    ASSERT_TRUE(ex) << expected_path << " missing; run with MEDSOC_UPDATE_GOLDEN=1";
    std::stringstream ss;
    ss << ex.rdbuf();
    std::istringstream a(actual), b(ss.str());
    std::string la, lb;
    int n = 0;
    while (true) {
      const bool ha = static_cast<bool>(std::getline(a, la)), hb = static_cast<bool>(std::getline(b, lb));
      ++n;
      if (!ha && !hb) break;
      EXPECT_EQ(la, lb) << expected_path.filename() << " line " << n;
    }
  }
  EXPECT_GE(files, 1);
}

}  // namespace
}  // namespace medsoc::ingest
