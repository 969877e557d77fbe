#include "ingest/parse/vendor.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <stdexcept>

#include "core/registry.h"
#include "ingest/parse/text_test_util.h"

namespace medsoc::ingest::text {
namespace {

using namespace testing;

std::string ContentDir() {
  const char* src = std::getenv("MEDSOC_SOURCE_DIR");
  return std::string(src ? src : ".") + "/content";
}

class VendorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto r = LoadVendorDir(ContentDir() + "/ingest/vendors");
    for (const auto& p : r.problems) ADD_FAILURE() << p.ToString();
    for (auto& s : r.specs) parsers_->emplace(std::string(VendorSpecName(*s)), std::make_unique<VendorParser>(s));
  }
  VendorParser& P(const std::string& name) {
    auto it = parsers_->find(name);
    // A missing mapping (content not found: MEDSOC_SOURCE_DIR unset) fails the test, which gtest
    // reports with this message, instead of dereferencing end().
    if (it == parsers_->end()) throw std::runtime_error("vendor mapping not loaded: " + name + " (MEDSOC_SOURCE_DIR?)");
    return *it->second;
  }
  static inline auto* parsers_ = new std::map<std::string, std::unique_ptr<VendorParser>>();
  event::Event e_;
};

TEST_F(VendorTest, AllShippedVendorsLoad) {
  for (const char* n : {"fortigate", "huawei_usg", "sangfor_af", "hillstone", "h3c"}) EXPECT_TRUE(parsers_->count(n)) << n;
}

TEST_F(VendorTest, FortiGate) {
  const std::string line =
      "<189>date=2024-03-03 time=10:01:02 devname=\"FGT-HIS\" devid=\"FG100FTK00000001\" eventtime=1709431262000000000 "
      "tz=\"+0800\" logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" level=\"notice\" vd=\"root\" "
      "srcip=10.1.2.3 srcport=51234 srcintf=\"port1\" dstip=203.0.113.9 dstport=445 dstintf=\"wan1\" proto=6 "
      "action=\"deny\" policyid=7 policyname=\"block smb out\" service=\"SMB\" sentbyte=0 rcvdbyte=0";
  VendorParser& p = P("fortigate");
  EXPECT_EQ(p.Detect(line), 96);
  ASSERT_TRUE(ParseLine(p, line, e_).ok());
  EXPECT_EQ(Utc(e_), "2024-03-03T02:01:02.000Z");
  EXPECT_EQ(e_.time_text(), "2024-03-03 10:01:02");
  EXPECT_EQ(Get(e_, "observer.name"), "FGT-HIS");
  EXPECT_EQ(Get(e_, "observer.vendor"), "Fortinet");
  EXPECT_EQ(Get(e_, "source.ip"), "10.1.2.3");
  EXPECT_EQ(Get(e_, "destination.port"), "445");
  EXPECT_EQ(Get(e_, "network.transport"), "tcp");
  EXPECT_EQ(Get(e_, "event.action"), "deny");
  EXPECT_EQ(Get(e_, "event.outcome"), "failure");
  EXPECT_EQ(Get(e_, "event.type"), "denied");
  EXPECT_EQ(Get(e_, "rule.id"), "7");
  EXPECT_EQ(Get(e_, "rule.name"), "block smb out");
  EXPECT_EQ(Get(e_, "log.syslog.priority"), "189");
  EXPECT_EQ(Orig(e_, "vd"), "root");
  EXPECT_EQ(Count(e_, "related.ip"), 2u);
}

TEST_F(VendorTest, HuaweiUsg) {
  const std::string line =
      "<190>Mar  3 2024 10:01:02 USG6600-HIS %%01POLICY/6/POLICYDENY(l):vsys=public, protocol=6, source-ip=10.1.2.3, "
      "source-port=51234, destination-ip=203.0.113.9, destination-port=445, time=2024/3/3 10:01:02, "
      "source-zone=trust, destination-zone=untrust, rule-name=deny_smb.";
  VendorParser& p = P("huawei_usg");
  EXPECT_EQ(p.Detect(line), 96);
  ASSERT_TRUE(ParseLine(p, line, e_).ok());
  EXPECT_EQ(Get(e_, "source.ip"), "10.1.2.3");
  EXPECT_EQ(Get(e_, "destination.port"), "445");
  EXPECT_EQ(Get(e_, "rule.name"), "deny_smb");
  EXPECT_EQ(Get(e_, "network.transport"), "tcp");
  EXPECT_EQ(Get(e_, "observer.hostname"), "USG6600-HIS");
  EXPECT_EQ(Utc(e_), "2024-03-03T02:01:02.000Z");
  // The information-center id POLICY/6/POLICYDENY: a denied packet.
  EXPECT_EQ(Get(e_, "event.action"), "deny");
  EXPECT_EQ(Get(e_, "event.outcome"), "failure");
  EXPECT_EQ(Get(e_, "event.type"), "denied");
  EXPECT_EQ(Get(e_, "event.provider"), "policy");
  EXPECT_EQ(Get(e_, "event.severity"), "6");
  EXPECT_EQ(Get(e_, "event.dataset"), "huawei_usg.policy");
  EXPECT_EQ(Orig(e_, "mnemonic"), "POLICYDENY");
}

TEST_F(VendorTest, HuaweiUsgOtherMessages) {
  VendorParser& p = P("huawei_usg");
  ASSERT_TRUE(ParseLine(p,
                        "<190>Mar  3 2024 10:01:06 USG6600-HIS %%01POLICY/6/POLICYPERMIT(l):vsys=public, protocol=17, "
                        "source-ip=10.1.2.4, source-port=5353, destination-ip=10.8.0.53, destination-port=53.",
                        e_)
                  .ok());
  EXPECT_EQ(Get(e_, "event.action"), "permit");
  EXPECT_EQ(Get(e_, "event.outcome"), "success");
  EXPECT_EQ(Get(e_, "event.type"), "allowed");
  // An unmapped mnemonic is still the action (lowercased); the outcome stays unknown.
  e_ = event::Event();
  ASSERT_TRUE(ParseLine(p,
                        "<190>Mar  3 2024 10:01:07 USG6600-HIS %%01SEC/4/SESSION_TEARDOWN(l):vsys=public, "
                        "source-ip=10.1.2.5, destination-ip=10.8.0.9.",
                        e_)
                  .ok());
  EXPECT_EQ(Get(e_, "event.action"), "session_teardown");
  EXPECT_EQ(Get(e_, "event.outcome"), "");
  EXPECT_EQ(Get(e_, "event.dataset"), "huawei_usg.sec");
}

// StoneOS's default text layout: "date time, SEVERITY@MODULE: description" with free-text phrases.
TEST_F(VendorTest, HillstoneFreeText) {
  VendorParser& p = P("hillstone");
  const std::string traffic =
      "<190>Mar  3 10:01:07 SG-6000 Hillstone: 2024-03-03 10:01:07, TRAFFIC@FLOW: SESSION: "
      "10.1.2.3:51234->203.0.113.9:443(TCP), application HTTPS, interface ethernet0/1, vr trust-vr, policy 12, "
      "user alice@local, host -, send packets 12, send bytes 1200, receive packets 40, receive bytes 53000, "
      "session end";
  EXPECT_EQ(p.Detect(traffic), 96);
  ASSERT_TRUE(ParseLine(p, traffic, e_).ok());
  EXPECT_EQ(Get(e_, "source.ip"), "10.1.2.3");
  EXPECT_EQ(Get(e_, "source.port"), "51234");
  EXPECT_EQ(Get(e_, "destination.ip"), "203.0.113.9");
  EXPECT_EQ(Get(e_, "destination.port"), "443");
  EXPECT_EQ(Get(e_, "network.transport"), "tcp");
  EXPECT_EQ(Get(e_, "network.application"), "HTTPS");
  EXPECT_EQ(Get(e_, "observer.ingress.interface.name"), "ethernet0/1");
  EXPECT_EQ(Get(e_, "rule.id"), "12");
  EXPECT_EQ(Get(e_, "user.name"), "alice");
  EXPECT_EQ(Get(e_, "source.bytes"), "1200");
  EXPECT_EQ(Get(e_, "destination.packets"), "40");
  EXPECT_EQ(Get(e_, "event.type"), "end");
  EXPECT_EQ(Get(e_, "event.dataset"), "hillstone.flow");
  EXPECT_EQ(Get(e_, "log.level"), "info");  // from the syslog PRI: TRAFFIC is not a severity

  e_ = event::Event();
  const std::string deny =
      "<188>Mar  3 10:01:08 SG-6000 Hillstone: 2024-03-03 10:01:08, SECURITY@FLOW: Policy deny: "
      "10.1.2.3:51235->203.0.113.9:445(TCP), interface ethernet0/1, policy 5, user -@-";
  ASSERT_TRUE(ParseLine(p, deny, e_).ok());
  EXPECT_EQ(Get(e_, "event.action"), "deny");
  EXPECT_EQ(Get(e_, "event.outcome"), "failure");
  EXPECT_EQ(Get(e_, "event.type"), "denied");
  EXPECT_EQ(Get(e_, "user.name"), "");  // "-" is no user

  e_ = event::Event();
  const std::string login =
      "<188>Mar  3 10:01:09 SG-6000 Hillstone: 2024-03-03 10:01:09, WARNING@LOGIN: Admin user \"admin\" failed "
      "to log in through SSH from 198.51.100.7.";
  EXPECT_EQ(p.Detect(login), 96);
  ASSERT_TRUE(ParseLine(p, login, e_).ok());
  EXPECT_EQ(Get(e_, "user.name"), "admin");
  EXPECT_EQ(Get(e_, "source.ip"), "198.51.100.7");
  EXPECT_EQ(Get(e_, "event.outcome"), "failure");
  EXPECT_EQ(Get(e_, "event.category"), "authentication");  // a mapped value wins over `set`
  EXPECT_EQ(Get(e_, "log.level"), "warning");
  EXPECT_EQ(Get(e_, "event.dataset"), "hillstone.login");
  EXPECT_EQ(Get(e_, "message"), "Admin user \"admin\" failed to log in through SSH from 198.51.100.7.");
}

TEST_F(VendorTest, SangforAf) {
  const std::string line =
      "<134>Mar  3 10:01:02 localhost fwlog: 日志类型:服务控制或应用控制, 策略名称:禁止外联, 用户:(null), 源IP:10.1.2.3, "
      "源端口:51234, 目的IP:203.0.113.9, 目的端口:443, 应用类型:网页浏览, 应用名称:HTTPS, 系统动作:拒绝";
  VendorParser& p = P("sangfor_af");
  EXPECT_EQ(p.Detect(line), 96);
  ASSERT_TRUE(ParseLine(p, line, e_).ok());
  EXPECT_EQ(Get(e_, "source.ip"), "10.1.2.3");
  EXPECT_EQ(Get(e_, "destination.port"), "443");
  EXPECT_EQ(Get(e_, "rule.name"), "禁止外联");
  EXPECT_EQ(Get(e_, "event.action"), "deny");
  EXPECT_EQ(Get(e_, "event.outcome"), "failure");
  EXPECT_EQ(Orig(e_, "应用名称"), "HTTPS");
}

TEST_F(VendorTest, Hillstone) {
  const std::string line =
      "<190>Mar  3 10:01:02 SG-6000 Hillstone: policy_id=12 src_ip=10.1.2.3 src_port=51234 dst_ip=203.0.113.9 "
      "dst_port=443 protocol=TCP application=HTTPS src_zone=trust dst_zone=untrust action=permit user=\"-\" "
      "send_bytes=1200 receive_bytes=53000 start_time=2024-03-03 10:00:00";
  VendorParser& p = P("hillstone");
  EXPECT_EQ(p.Detect(line), 96);
  ASSERT_TRUE(ParseLine(p, line, e_).ok());
  EXPECT_EQ(Get(e_, "rule.id"), "12");
  EXPECT_EQ(Get(e_, "network.transport"), "tcp");
  EXPECT_EQ(Get(e_, "event.outcome"), "success");
  EXPECT_EQ(Get(e_, "destination.bytes"), "53000");
  EXPECT_EQ(Utc(e_), "2024-03-03T02:00:00.000Z");
}

TEST_F(VendorTest, H3c) {
  const std::string line =
      "<190>Mar  3 10:01:02 2024 H3C-FW %%10FILTER/6/FILTER_ZONE_IPV4_EXECUTION: SrcZoneName(1025)=Trust;"
      "DstZoneName(1035)=Untrust;Type(1067)=ACL;SecurityPolicy(1072)=deny_smb;RuleID(1078)=5;Protocol(1001)=TCP;"
      "SrcIPAddr(1003)=10.1.2.3;SrcPort(1004)=51234;DstIPAddr(1007)=203.0.113.9;DstPort(1008)=445;"
      "MatchCount(1069)=1;Event(1048)=(8)Session deleted;Action(1053)=Deny;";
  VendorParser& p = P("h3c");
  EXPECT_EQ(p.Detect(line), 96);
  ASSERT_TRUE(ParseLine(p, line, e_).ok());
  EXPECT_EQ(Get(e_, "source.ip"), "10.1.2.3");
  EXPECT_EQ(Get(e_, "rule.name"), "deny_smb");
  EXPECT_EQ(Get(e_, "event.outcome"), "failure");
  EXPECT_EQ(Get(e_, "event.reason"), "(8)Session deleted");
  EXPECT_EQ(Orig(e_, "MatchCount"), "1");
  EXPECT_EQ(Utc(e_), "2024-03-03T02:01:02.000Z");
}

TEST_F(VendorTest, DetectRejectsOtherVendors) {
  EXPECT_EQ(P("fortigate").Detect("<13>Mar  3 10:01:02 host sshd[1]: Accepted password for a from 1.2.3.4 port 1 ssh2"), 0);
  EXPECT_EQ(P("h3c").Detect("srcip=1.2.3.4 dstip=1.2.3.5"), 0);
}

TEST(VendorLoad, EveryProblemWithPosition) {
  const char* yaml =
      "version: 1\n"
      "name: demo\n"
      "colour: blue\n"
      "detect: {keys: [a]}\n"
      "format: {pair_separator: \";;\"}\n"
      "fields:\n"
      "  a: {to: source.ip, type: ipv4}\n"
      "  b: {to: \"bad..name\"}\n"
      "  c: {to: destination.port, type: long}\n";
  auto r = LoadVendorYaml(yaml, "demo.yaml");
  ASSERT_EQ(r.problems.size(), 4u);
  EXPECT_EQ(r.problems[0].ToString(), "demo.yaml:3:1: unknown key 'colour' in vendor file");
  EXPECT_EQ(r.problems[1].pos()->line, 5);
  EXPECT_EQ(r.problems[2].pos()->line, 7);
  EXPECT_NE(r.problems[2].message().find("unknown type 'ipv4'"), std::string::npos);
  EXPECT_EQ(r.problems[3].pos()->line, 8);
  // The valid parts are still loaded.
  ASSERT_EQ(r.specs.size(), 1u);
  VendorParser p(r.specs[0]);
  event::Event e;
  ASSERT_TRUE(ParseLine(p, "a=1.2.3.4 c=80", e).ok());
  EXPECT_EQ(Get(e, "destination.port"), "80");
  EXPECT_EQ(Get(e, "source.ip"), "");
}

TEST(VendorLoad, ExtractAndDatasetTemplates) {
  const char* yaml =
      "version: 1\n"
      "name: demo\n"
      "detect: {patterns: ['^ID\\d+ ']}\n"
      "extract: ['^ID(?P<id>\\d+) (?P<kind>[A-Za-z ]+):']\n"
      "dataset: ['demo.{kind}', 'demo.{zone}', demo.log]\n"
      "fields:\n"
      "  id: {to: event.code}\n";
  auto r = LoadVendorYaml(yaml, "demo.yaml");
  ASSERT_TRUE(r.problems.empty()) << r.problems[0].ToString();
  ASSERT_EQ(r.specs.size(), 1u);
  VendorParser p(r.specs[0]);
  EXPECT_EQ(p.Detect("ID7 Port Scan: zone=dmz"), 96);
  EXPECT_EQ(p.Detect("no id here zone=dmz"), 0);
  event::Event e;
  ASSERT_TRUE(ParseLine(p, "ID7 Port Scan: zone=dmz", e).ok());
  EXPECT_EQ(Get(e, "event.code"), "7");
  EXPECT_EQ(Get(e, "event.dataset"), "demo.port_scan");  // slugged
  event::Event e2;
  ASSERT_TRUE(ParseLine(p, "zone=DMZ-1", e2).ok());
  EXPECT_EQ(Get(e2, "event.dataset"), "demo.dmz_1");     // the first complete template
  event::Event e3;
  ASSERT_TRUE(ParseLine(p, "other=1", e3).ok());
  EXPECT_EQ(Get(e3, "event.dataset"), "demo.log");
  // Problems: a bad RE2, a pattern without a named group, an unclosed template.
  r = LoadVendorYaml(
      "version: 1\nname: d2\ndetect: {keys: [a]}\nextract: ['(unclosed', '(\\d+)']\ndataset: 'x.{kind'\n", "d2.yaml");
  ASSERT_EQ(r.problems.size(), 3u);
  EXPECT_NE(r.problems[0].message().find("invalid RE2"), std::string::npos);
  EXPECT_NE(r.problems[1].message().find("named group"), std::string::npos);
  EXPECT_EQ(r.problems[2].pos()->line, 5);
  EXPECT_EQ(r.specs.size(), 1u);
}

TEST(VendorLoad, SyntaxErrorAndMissingParts) {
  auto r = LoadVendorYaml("version: 1\nname: [unclosed\n", "bad.yaml");
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].pos()->file, "bad.yaml");
  EXPECT_GT(r.problems[0].pos()->line, 0);
  r = LoadVendorYaml("version: 1\nname: x\n", "nodetect.yaml");
  EXPECT_TRUE(r.specs.empty());
  EXPECT_FALSE(r.problems.empty());
  r = LoadVendorYaml("name: Bad Name\ndetect: {keys: [a]}\n", "n.yaml");
  EXPECT_TRUE(r.specs.empty());
  EXPECT_EQ(r.problems.size(), 2u);
}

}  // namespace
}  // namespace medsoc::ingest::text
