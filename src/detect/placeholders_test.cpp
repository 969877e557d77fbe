// detect.placeholders_file: the values of `expand` placeholders, and their use by the compiler.
#include <gtest/gtest.h>

#include "detect/engine.h"
#include "detect/json_events.h"
#include "detect/placeholders.h"
#include "detect/reader.h"

namespace medsoc::detect {
namespace {

TEST(Placeholders, ReadsValuesAndLists) {
  Placeholders p;
  auto problems = ReadPlaceholders("# admins\nAdministrators: [\"admin*\", root]\nDomainControllers: dc01\n", "ph.yaml", p);
  EXPECT_TRUE(problems.empty());
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p["Administrators"], (std::vector<std::string>{"admin*", "root"}));
  EXPECT_EQ(p["DomainControllers"], (std::vector<std::string>{"dc01"}));
  Placeholders empty;
  EXPECT_TRUE(ReadPlaceholders("", "ph.yaml", empty).empty());
  EXPECT_TRUE(empty.empty());
}

TEST(Placeholders, ReportsEveryProblemWithPosition) {
  Placeholders p;
  auto problems = ReadPlaceholders("Good: [a]\n'bad name': x\nNested: {a: b}\nEmpty: []\nList: [[x]]\nGood: [b]\n", "ph.yaml", p);
  ASSERT_EQ(problems.size(), 5u);
  EXPECT_EQ(problems[0].pos.line, 2);
  EXPECT_EQ(problems[0].pos.column, 1);
  EXPECT_NE(problems[0].reason.find("placeholder name"), std::string::npos);
  EXPECT_EQ(problems[1].pos.line, 3);
  EXPECT_EQ(problems[2].pos.line, 4);
  EXPECT_NE(problems[2].reason.find("no values"), std::string::npos);
  EXPECT_EQ(problems[3].pos.line, 5);
  EXPECT_EQ(problems[4].pos.line, 6);
  EXPECT_NE(problems[4].reason.find("twice"), std::string::npos);
  EXPECT_EQ(p.size(), 1u) << "the good entry is kept";
  EXPECT_EQ(p["Good"], (std::vector<std::string>{"a"}));
  Placeholders q;
  auto syntax = ReadPlaceholders("a: [b\n", "ph.yaml", q);
  ASSERT_EQ(syntax.size(), 1u);
  EXPECT_GT(syntax[0].pos.line, 0);
  auto not_map = ReadPlaceholders("- a\n", "ph.yaml", q);
  ASSERT_EQ(not_map.size(), 1u);
  auto missing = LoadPlaceholdersFile("/nonexistent/medsoc-placeholders.yaml", q);
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].pos.file, "/nonexistent/medsoc-placeholders.yaml");
}

// The values read from the file reach `expand` through CompileOptions.
TEST(Placeholders, FeedExpand) {
  LogsourceMap ls;
  ASSERT_TRUE(ls.LoadYaml("product: windows\nfield_templates: [\"{}\"]\nlogsources:\n  - category: process_creation\n"
                          "    sources:\n      - {EventID: 1}\n",
                          "m.yaml")
                  .empty());
  CompileOptions opt;
  ASSERT_TRUE(ReadPlaceholders("Admins: [\"adm*\", root]\n", "ph.yaml", opt.placeholders).empty());
  ReadResult rr = ReadSigmaYaml(
      "title: t\nid: r1\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel:\n"
      "    User|expand: '%Admins%'\n  condition: sel\n",
      "r.yml");
  std::vector<Problem> problems;
  auto set = RuleSet::Compile(std::move(rr.docs), ls, opt, problems);
  ASSERT_EQ(set->size(), 1u);
  auto match = [&](const char* json) {
    event::Event e;
    EXPECT_TRUE(FlattenJsonObject(json, e).ok());
    Matcher m(set);
    std::vector<std::uint32_t> out;
    m.Match(e, out);
    return !out.empty();
  };
  EXPECT_TRUE(match(R"({"EventID":1,"User":"ADMIN7"})"));
  EXPECT_TRUE(match(R"({"EventID":1,"User":"root"})"));
  EXPECT_FALSE(match(R"({"EventID":1,"User":"guest"})"));
}

}  // namespace
}  // namespace medsoc::detect
