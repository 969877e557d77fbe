#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/crypto.h"
#include "core/log.h"
#include "core/master_key.h"

namespace medsoc::core {
namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/medsoc-core-XXXXXX";
  return mkdtemp(tmpl);
}

TEST(Logging, JsonLinesParseWhateverTheMessageHolds) {
  std::string dir = TempDir();
  LogOptions o;
  o.format = "json";
  o.file = dir + "/log.jsonl";
  ASSERT_TRUE(InitLogging(o).ok());
  spdlog::info("user \"{}\" said {}", "x\\y", "line1\nline2\ttab\x01");
  spdlog::default_logger()->flush();
  std::ifstream in(o.file);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["msg"], "user \"x\\y\" said line1\nline2\ttab\x01");
  EXPECT_EQ(j["level"], "info");
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("null"));
  std::filesystem::remove_all(dir);
}

TEST(Logging, RejectsUnknownLevelAndFormat) {
  LogOptions o;
  o.level = "loud";
  EXPECT_FALSE(InitLogging(o).ok());
  o.level = "info";
  o.format = "xml";
  EXPECT_FALSE(InitLogging(o).ok());
}

TEST(MasterKey, CreatedOnceWithPrivateModeAndReused) {
  Options o;
  o.data_dir = TempDir();
  auto k1 = LoadOrCreateMasterKey(o);
  ASSERT_TRUE(k1.ok()) << k1.error().ToString();
  EXPECT_EQ(k1->size(), kSecretKeyBytes);
  struct stat st{};
  ASSERT_EQ(stat((o.data_dir + "/master.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto k2 = LoadOrCreateMasterKey(o);
  ASSERT_TRUE(k2.ok());
  EXPECT_EQ(*k1, *k2);
  // A secret sealed with it opens with the reloaded key.
  SecretBox a(*k1), b(*k2);
  EXPECT_EQ(*b.Open(a.Seal("webhook-token")), "webhook-token");
  chmod((o.data_dir + "/master.key").c_str(), 0644);
  auto loose = LoadOrCreateMasterKey(o);
  ASSERT_FALSE(loose.ok());
  EXPECT_NE(loose.error().message().find("chmod 600"), std::string::npos);
  std::filesystem::remove_all(o.data_dir);
}

TEST(MasterKey, FromConfigurationMustBeHex) {
  Options o;
  o.master_key = std::string(64, 'a');
  auto k = LoadOrCreateMasterKey(o);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(*k, std::string(32, '\xaa'));
  o.master_key = "short";
  EXPECT_FALSE(LoadOrCreateMasterKey(o).ok());
}

}  // namespace
}  // namespace medsoc::core
