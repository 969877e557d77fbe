#include "event/catalog.h"
#include "event/event.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace medsoc::event {
namespace {

std::string SourceDir() {
  const char* dir = std::getenv("MEDSOC_SOURCE_DIR");
  return dir ? dir : ".";
}

TEST(CatalogTest, LoadsTheRealCatalog) {
  FieldTable table;
  Catalog catalog(table);
  const std::string path = SourceDir() + "/content/fields/ecs.yaml";
  std::vector<Error> problems = catalog.LoadFile(path);
  for (const Error& e : problems) ADD_FAILURE() << e.ToString();
  EXPECT_GE(catalog.size(), 80u);
  // Every catalog field must fit the events' direct lookup table (event.h).
  EXPECT_LE(catalog.size(), static_cast<std::size_t>(Event::kDirectIds));
  // Catalog fields get the first, dense ids, in file order.
  for (std::size_t i = 0; i < catalog.size(); ++i) EXPECT_EQ(catalog.fields()[i].id.value, i);
  for (std::string_view name : {"@timestamp", "message", "event.code", "host.name", "source.ip", "source.port",
                                "destination.ip", "destination.port", "user.name", "process.command_line",
                                "network.transport", "url.original", "http.response.status_code", "file.path",
                                "rule.name", "observer.vendor", "log.level", "winlog.event_data.CommandLine",
                                "dns.question.name", "tls.version"})
    EXPECT_NE(catalog.Find(name), nullptr) << name;
  EXPECT_EQ(catalog.TypeOf(catalog.MustId("source.ip")), FieldType::kIp);
  EXPECT_EQ(catalog.TypeOf(catalog.MustId("destination.port")), FieldType::kLong);
  EXPECT_EQ(catalog.TypeOf(catalog.MustId("@timestamp")), FieldType::kDate);
  EXPECT_EQ(catalog.TypeOf(catalog.MustId("process.command_line")), FieldType::kText);
  EXPECT_FALSE(catalog.TypeOf(*table.Intern("vendor.only")).has_value());
  const FieldSpec* spec = catalog.Find("source.ip");
  EXPECT_FALSE(spec->description.empty());
  EXPECT_EQ(spec->pos.file, path);
  EXPECT_GT(spec->pos.line, 1);

  // Loading again adds nothing and reports every entry as a duplicate.
  EXPECT_EQ(catalog.LoadFile(path).size(), catalog.size());
}

TEST(CatalogTest, ReportsEveryProblemWithPositionAndLoadsTheRest) {
  FieldTable table;
  Catalog catalog(table);
  const char* yaml =
      "version: 1\n"                           // 1
      "fields:\n"                              // 2
      "  - name: source.ip\n"                  // 3
      "    type: ip\n"                         // 4
      "    description: Source address.\n"     // 5
      "  - name: source.port\n"                // 6
      "    type: integer\n"                    // 7  unknown type
      "    description: Source port.\n"        // 8
      "  - name: bad..name\n"                  // 9  invalid name
      "    type: keyword\n"                    // 10
      "    description: Broken.\n"             // 11
      "  - name: user.name\n"                  // 12
      "    type: keyword\n"                    // 13
      "    descripton: typo\n"                 // 14 unknown key + missing description
      "  - name: source.ip\n"                  // 15 duplicate
      "    type: ip\n"                         // 16
      "    description: Again.\n"              // 17
      "  - just a string\n"                    // 18 not a mapping
      "  - name: host.name\n"                  // 19
      "    type: keyword\n"                    // 20
      "    description: Host name.\n";         // 21
  std::vector<Error> problems = catalog.LoadYaml(yaml, "inline.yaml");
  std::vector<std::string> got;
  for (const Error& e : problems) got.push_back(e.ToString());
  ASSERT_EQ(problems.size(), 6u) << ::testing::PrintToString(got);
  EXPECT_EQ(got[0], "inline.yaml:7:11: unknown type 'integer' (expected keyword, text, long, double, boolean, ip or date)");
  EXPECT_EQ(got[1], "inline.yaml:9:11: invalid field name 'bad..name' (dotted segments of letters, digits, _ @ -)");
  EXPECT_EQ(got[2], "inline.yaml:14:5: unknown key 'descripton' in field entry");
  EXPECT_EQ(got[3], "inline.yaml:12:5: field entry has no 'description'");
  EXPECT_EQ(got[4], "inline.yaml:15:11: field 'source.ip' already defined at inline.yaml:3");
  EXPECT_EQ(got[5], "inline.yaml:18:5: a field entry must be a mapping with name, type and description");
  for (const Error& e : problems) EXPECT_EQ(e.code(), ErrorCode::kParse);
  // The good entries were loaded.
  EXPECT_EQ(catalog.size(), 2u);
  EXPECT_NE(catalog.Find("source.ip"), nullptr);
  EXPECT_NE(catalog.Find("host.name"), nullptr);
  EXPECT_EQ(catalog.Find("source.port"), nullptr);
}

TEST(CatalogTest, SyntaxErrorHasPosition) {
  Catalog catalog;
  std::vector<Error> problems = catalog.LoadYaml("version: 1\nfields:\n  - name: [unclosed\n", "broken.yaml");
  ASSERT_EQ(problems.size(), 1u);
  ASSERT_TRUE(problems[0].pos().has_value());
  EXPECT_EQ(problems[0].pos()->file, "broken.yaml");
  EXPECT_GE(problems[0].pos()->line, 3);
  EXPECT_NE(problems[0].message().find("YAML syntax error"), std::string::npos);
}

TEST(CatalogTest, TopLevelProblems) {
  Catalog catalog;
  EXPECT_EQ(catalog.LoadYaml("- a\n", "f.yaml")[0].ToString(), "f.yaml:1:1: expected a mapping with 'version' and 'fields'");
  auto p = catalog.LoadYaml("version: 2\nfields: {}\nextra: 1\n", "f.yaml");
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].ToString(), "f.yaml:3:1: unknown key 'extra'");
  EXPECT_EQ(p[1].ToString(), "f.yaml:1:10: unsupported version (expected 1)");
  EXPECT_EQ(p[2].ToString(), "f.yaml:2:9: 'fields' must be a sequence");
  EXPECT_EQ(catalog.LoadFile("/nonexistent/fields.yaml")[0].code(), ErrorCode::kIo);
}

TEST(CatalogTest, FieldNames) {
  EXPECT_TRUE(IsValidFieldName("@timestamp"));
  EXPECT_TRUE(IsValidFieldName("winlog.event_data.CommandLine"));
  EXPECT_TRUE(IsValidFieldName("a"));
  EXPECT_FALSE(IsValidFieldName(""));
  EXPECT_FALSE(IsValidFieldName(".a"));
  EXPECT_FALSE(IsValidFieldName("a."));
  EXPECT_FALSE(IsValidFieldName("a..b"));
  EXPECT_FALSE(IsValidFieldName("1a"));
  EXPECT_FALSE(IsValidFieldName("a b"));
  EXPECT_FALSE(IsValidFieldName("a.\xe4\xb8\xad"));
}

TEST(CatalogTest, CoerceValue) {
  Arena arena;
  EXPECT_EQ(*CoerceValue(Value::String("443"), FieldType::kLong, arena), Value::Int(443));
  EXPECT_FALSE(CoerceValue(Value::String("https"), FieldType::kLong, arena).has_value());
  EXPECT_EQ(*CoerceValue(Value::Int(443), FieldType::kKeyword, arena), Value::String("443"));
  EXPECT_EQ(CoerceValue(Value::String("10.0.0.1"), FieldType::kIp, arena)->ip().ToString(), "10.0.0.1");
  EXPECT_EQ(*CoerceValue(Value::String("false"), FieldType::kBoolean, arena), Value::Bool(false));
  EXPECT_EQ(*CoerceValue(Value::Int(2), FieldType::kDouble, arena), Value::Float(2.0));
  EXPECT_EQ(*CoerceValue(Value::String("1970-01-01T00:00:00Z"), FieldType::kDate, arena), Value::Time({0}));
  EXPECT_TRUE(CoerceValue(Value(), FieldType::kIp, arena)->is_null());
}

}  // namespace
}  // namespace medsoc::event
