// medsoc's own rules (content/rules/medsoc): every rule loads without errors, unsupported features
// or warnings (so every logsource it names is mapped), carries the metadata analysts rely on, and
// passes the test events written beside it (rule.yml + rule.tests.yml):
//
//   rule: <rule id>
//   match:     [event, ...]   # each event alone makes the rule match
//   no_match:  [event, ...]   # no event makes it match
//   timelines:                # correlation rules: events fed in order to a fresh Detector
//     - {name: ..., alerts: N, events: [event, ...]}   # exactly N alerts of the rule
//
// Events are JSON objects (written as YAML flow maps), flattened like `medsoc detect` input.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "detect/correlation.h"
#include "detect/detector.h"
#include "detect/json_events.h"
#include "detect/reader.h"

namespace medsoc::detect {
namespace {

std::string SourceDir() {
  const char* s = std::getenv("MEDSOC_SOURCE_DIR");
  return s ? s : ".";
}

// YAML flow map -> JSON, keeping quoted scalars as strings and plain ones typed.
nlohmann::json ToJson(const YAML::Node& n) {
  if (n.IsMap()) {
    nlohmann::json o = nlohmann::json::object();
    for (const auto& kv : n) o[kv.first.Scalar()] = ToJson(kv.second);
    return o;
  }
  if (n.IsSequence()) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& x : n) a.push_back(ToJson(x));
    return a;
  }
  if (n.IsNull()) return nullptr;
  const std::string& s = n.Scalar();
  if (n.Tag() != "!") {
    if (s == "true" || s == "false") return s == "true";
    try {
      std::size_t used = 0;
      const long long i = std::stoll(s, &used);
      if (used == s.size()) return i;
      const double d = std::stod(s, &used);
      if (used == s.size()) return d;
    } catch (const std::exception&) {
    }
  }
  return s;
}

class MedsocContent : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ls_ = new LogsourceMap();
    const auto lp = ls_->LoadPath(SourceDir() + "/content/logsources");
    for (const auto& p : lp) ADD_FAILURE() << p.ToString();
    summary_ = new LoadSummary();
    set_ = new std::shared_ptr<RuleSet>(LoadRules({Dir()}, *ls_, {}, *summary_));
  }
  static void TearDownTestSuite() {
    delete set_;
    delete summary_;
    delete ls_;
  }
  static std::string Dir() { return SourceDir() + "/content/rules/medsoc"; }

  static LogsourceMap* ls_;
  static LoadSummary* summary_;
  static std::shared_ptr<RuleSet>* set_;
};
LogsourceMap* MedsocContent::ls_ = nullptr;
LoadSummary* MedsocContent::summary_ = nullptr;
std::shared_ptr<RuleSet>* MedsocContent::set_ = nullptr;

TEST_F(MedsocContent, EveryRuleLoadsCleanly) {
  for (const auto& p : summary_->problems) ADD_FAILURE() << p.ToString();
  EXPECT_EQ(summary_->errors, 0u);
  EXPECT_EQ(summary_->unsupported, 0u);
  EXPECT_EQ(summary_->warnings, 0u);
  EXPECT_GE(summary_->loaded, 40u);
}

TEST_F(MedsocContent, EveryRuleHasMetadataAndTests) {
  const ReadResult rr = ReadSigmaPaths({Dir()});
  const std::regex uuid("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
  const std::set<std::string> levels = {"informational", "low", "medium", "high", "critical"};
  std::set<std::string> ids;
  for (const auto& d : rr.docs) {
    SCOPED_TRACE(d.file);
    EXPECT_TRUE(std::regex_match(d.id, uuid)) << d.id;
    EXPECT_TRUE(ids.insert(d.id).second) << "duplicate id " << d.id;
    EXPECT_FALSE(d.title.empty());
    EXPECT_GE(d.description.size(), 40u);
    EXPECT_TRUE(levels.count(d.level)) << d.level;
    EXPECT_FALSE(d.falsepositives.empty());
    bool attack = false;
    for (const auto& t : d.tags) attack |= t.rfind("attack.t", 0) == 0;
    EXPECT_TRUE(attack) << "no ATT&CK technique tag";
    std::filesystem::path tests(d.file);
    tests.replace_extension(".tests.yml");
    EXPECT_TRUE(std::filesystem::exists(tests)) << tests;
  }
}

TEST_F(MedsocContent, TestEventsBehave) {
  const RuleSet& set = **set_;
  const CorrelationPlan& plan = set.correlation_plan();
  std::set<std::string> consumed;  // correlations other correlations build on
  for (const auto& c : plan.correlations)
    for (const auto& r : c.refs)
      if (r.is_correlation) consumed.insert(plan.correlations[r.index].id);
  std::size_t files = 0, checks = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(Dir())) {
    const std::string path = entry.path().string();
    if (path.size() < 10 || path.substr(path.size() - 10) != ".tests.yml") continue;
    ++files;
    SCOPED_TRACE(path);
    YAML::Node doc = YAML::LoadFile(path);
    const std::string id = doc["rule"].as<std::string>();
    const std::ptrdiff_t rule = set.Find(id);
    const std::ptrdiff_t corr = plan.Find(id);
    ASSERT_TRUE(rule >= 0 || corr >= 0) << "rule " << id << " is not loaded";
    auto event_of = [](const YAML::Node& n, event::Event& e) {
      const std::string text = ToJson(n).dump();
      ASSERT_TRUE(FlattenJsonObject(text, e).ok()) << text;
    };
    if (rule >= 0) {
      ASSERT_TRUE(doc["match"] && doc["match"].size() > 0) << "no positive test event";
      ASSERT_TRUE(doc["no_match"] && doc["no_match"].size() > 0) << "no negative test event";
      Matcher m(*set_);
      std::vector<std::uint32_t> out;
      for (const auto& [key, want] : {std::pair{"match", true}, std::pair{"no_match", false}}) {
        for (const auto& n : doc[key]) {
          event::Event e;
          event_of(n, e);
          out.clear();
          m.Match(e, out);
          const bool hit = std::find(out.begin(), out.end(), static_cast<std::uint32_t>(rule)) != out.end();
          EXPECT_EQ(hit, want) << key << ": " << ToJson(n).dump();
          ++checks;
        }
      }
    } else {
      if (!consumed.count(id)) ASSERT_TRUE(doc["timelines"] && doc["timelines"].size() > 0) << "no timeline";
      for (const auto& tl : doc["timelines"]) {
        SCOPED_TRACE(tl["name"].as<std::string>());
        Detector d(*set_, {.threads = 1});
        event::Batch batch;
        for (const auto& n : tl["events"]) event_of(n, batch.Add());
        std::vector<Alert> alerts;
        d.Process(batch, 0, alerts);
        std::size_t fired = 0;
        for (const auto& a : alerts) fired += a.rule_id == id;
        EXPECT_EQ(fired, tl["alerts"].as<std::size_t>());
        ++checks;
      }
    }
  }
  EXPECT_GE(files, 40u);
  std::printf("medsoc content: %zu test files, %zu checks\n", files, checks);
}

}  // namespace
}  // namespace medsoc::detect
