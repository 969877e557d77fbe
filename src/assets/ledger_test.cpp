#include "assets/ledger.h"

#include <gtest/gtest.h>

#include "store/sqlite/state_store.h"

namespace medsoc::assets {
namespace {

using store::TenantScope;

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = AssetLedger::Open(":memory:");
    ASSERT_TRUE(l.ok()) << l.error().ToString();
    ledger = std::move(*l);
    ledger->SetChangeListener([this](const std::string& tenant, const Change& c) {
      published.push_back(tenant + ":" + std::string(ChangeKindName(c.kind)));
    });
  }
  Observation Obs(const std::string& ip, std::vector<Service> services = {}) {
    Observation o;
    o.ip = ip;
    o.services = std::move(services);
    return o;
  }
  static Service Svc(std::uint16_t port, std::string service, std::string product = "", std::string version = "") {
    Service s;
    s.port = port;
    s.service = std::move(service);
    s.product = std::move(product);
    s.version = std::move(version);
    return s;
  }
  TenantScope scope = TenantScope::Of("default");
  std::unique_ptr<AssetLedger> ledger;
  std::vector<std::string> published;
};

TEST_F(LedgerTest, ScanCreatesAssetWithProvenanceAndNewAssetChange) {
  auto o = Obs("10.0.0.5", {Svc(22, "ssh", "OpenSSH", "9.2p1")});
  o.mac = "AA-BB-CC-00-11-22";
  o.attrs["hostname"] = "pacs01";
  auto r = ledger->Observe(scope, o, {.source = Source::kScan, .actor = "scan:1", .scan_id = "1"});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_TRUE(r->created);
  auto a = ledger->FindByAddress(scope, "aa:bb:cc:00:11:22");
  ASSERT_TRUE(a.ok() && a->has_value());
  const Asset& asset = **a;
  EXPECT_EQ(asset.Get("hostname"), "pacs01");
  EXPECT_EQ(asset.attrs.at("hostname").source, Source::kScan);
  EXPECT_EQ(asset.attrs.at("hostname").by, "scan:1");
  EXPECT_EQ(asset.GetList("ips"), std::vector<std::string>{"10.0.0.5"});
  EXPECT_EQ(asset.Get("name"), "pacs01");
  EXPECT_EQ(asset.Get("kind"), "server");
  ASSERT_EQ(asset.services.size(), 1u);
  EXPECT_EQ(asset.services[0].product, "OpenSSH");
  EXPECT_NE(asset.first_seen.ns, 0);
  EXPECT_EQ(published, std::vector<std::string>{"default:new_asset"});
}

TEST_F(LedgerTest, ManualValueIsNeverOverwrittenByScanButQueuedForReview) {
  auto created = ledger->Create(scope, {{"name", "HIS数据库"}, {"ips", "10.0.0.7"}, {"os", "Windows Server 2019"}},
                                Source::kManual, "alice");
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  auto o = Obs("10.0.0.7");
  o.attrs["os"] = "Linux";
  o.attrs["hostname"] = "his-db";
  auto r = ledger->Observe(scope, o, {.source = Source::kScan, .actor = "scan:2", .scan_id = "2"});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_FALSE(r->created);
  EXPECT_EQ(r->reviews, 1);
  auto a = ledger->Get(scope, created->id);
  EXPECT_EQ((*a)->Get("os"), "Windows Server 2019");
  EXPECT_EQ((*a)->attrs.at("os").source, Source::kManual);
  EXPECT_EQ((*a)->Get("hostname"), "his-db");  // empty attributes are filled
  EXPECT_EQ((*a)->Get("name"), "HIS数据库");

  // The same disagreement again does not queue a second review.
  ASSERT_TRUE(ledger->Observe(scope, o, {.source = Source::kScan}).ok());
  auto reviews = ledger->ListReviews(scope);
  ASSERT_TRUE(reviews.ok());
  ASSERT_EQ(reviews->size(), 1u);
  EXPECT_EQ((*reviews)[0].attribute, "os");
  EXPECT_EQ((*reviews)[0].proposed, "Linux");

  ASSERT_TRUE(ledger->DecideReview(scope, (*reviews)[0].id, true, "bob").ok());
  a = ledger->Get(scope, created->id);
  EXPECT_EQ((*a)->Get("os"), "Linux");
  EXPECT_EQ((*a)->attrs.at("os").source, Source::kScan);
  EXPECT_FALSE(ledger->DecideReview(scope, (*reviews)[0].id, false, "bob").ok());

  auto history = ledger->History(scope, created->id);
  ASSERT_TRUE(history.ok());
  bool found = false;
  for (const auto& h : *history)
    found = found || (h.attribute == "os" && h.old_value == "Windows Server 2019" && h.new_value == "Linux" &&
                      h.actor == "bob");
  EXPECT_TRUE(found);
}

TEST_F(LedgerTest, ServicesOpenCloseAndVersionChanges) {
  ObserveContext ctx{.source = Source::kScan, .scan_id = "s1", .covered_ports = {"22/tcp", "80/tcp", "443/tcp"}};
  ASSERT_TRUE(ledger->Observe(scope, Obs("10.0.0.9", {Svc(22, "ssh", "OpenSSH", "8.4"), Svc(80, "http", "nginx", "1.18.0")}), ctx).ok());
  ctx.scan_id = "s2";
  auto r = ledger->Observe(scope, Obs("10.0.0.9", {Svc(22, "ssh", "OpenSSH", "9.2p1"), Svc(443, "https", "nginx", "1.22.1")}), ctx);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->changes, 3);  // version changed 22, opened 443, closed 80
  auto changes = ledger->ListChanges(scope, 0);
  ASSERT_TRUE(changes.ok());
  std::vector<std::string> kinds;
  for (const auto& c : *changes) kinds.emplace_back(ChangeKindName(c.kind));
  EXPECT_EQ(kinds, (std::vector<std::string>{"new_asset", "version_changed", "service_opened", "service_closed"}));
  auto a = ledger->FindByAddress(scope, "10.0.0.9");
  int open = 0;
  for (const auto& s : (*a)->services) open += s.open;
  EXPECT_EQ(open, 2);

  // A port the scan did not cover stays open.
  ctx.covered_ports = {"22/tcp"};
  r = ledger->Observe(scope, Obs("10.0.0.9", {Svc(22, "ssh", "OpenSSH", "9.2p1")}), ctx);
  EXPECT_EQ(r->changes, 0);
}

TEST_F(LedgerTest, GoneAndBack) {
  ASSERT_TRUE(ledger->Observe(scope, Obs("10.1.0.1"), {}).ok());
  ASSERT_TRUE(ledger->Observe(scope, Obs("10.1.0.2"), {}).ok());
  ASSERT_TRUE(ledger->Observe(scope, Obs("10.2.0.1"), {}).ok());
  auto in_scope = [](const std::string& ip) { return ip.rfind("10.1.", 0) == 0; };
  auto n = ledger->MarkUnseen(scope, in_scope, {"10.1.0.1"}, "s3");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);  // 10.1.0.2; 10.2.0.1 was outside the scope
  EXPECT_EQ((*ledger->FindByAddress(scope, "10.1.0.2"))->status, AssetStatus::kOffline);
  auto r = ledger->Observe(scope, Obs("10.1.0.2"), {});
  EXPECT_EQ((*ledger->FindByAddress(scope, "10.1.0.2"))->status, AssetStatus::kActive);
  EXPECT_EQ(published.back(), "default:back");
}

TEST_F(LedgerTest, UnknownAddressesInLogsRecordedOncePerDay) {
  ASSERT_TRUE(ledger->Observe(scope, Obs("10.0.0.1"), {}).ok());
  auto r = ledger->NoteAddressesSeen(scope, {"10.0.0.1", "10.0.0.66", "10.0.0.66", "bogus"}, "firewall log");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, std::vector<std::string>{"10.0.0.66"});
  r = ledger->NoteAddressesSeen(scope, {"10.0.0.66"}, "again");
  EXPECT_TRUE(r->empty());
}

TEST_F(LedgerTest, TenantIsolation) {
  auto other = TenantScope::Of("other");
  auto a = ledger->Create(scope, {{"name", "x"}, {"ips", "10.0.0.3"}}, Source::kManual, "alice");
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(ledger->Get(other, a->id)->has_value());
  EXPECT_EQ(ledger->Update(other, a->id, {{"name", "y"}}, Source::kManual, "eve").error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(ledger->List(other, {})->empty());
}

TEST_F(LedgerTest, ValidationAndBusinessSystems) {
  EXPECT_FALSE(ledger->Create(scope, {{"name", "x"}, {"confidentiality", "7"}}, Source::kManual, "a").ok());
  EXPECT_FALSE(ledger->Create(scope, {{"name", "x"}, {"kind", "spaceship"}}, Source::kManual, "a").ok());
  EXPECT_FALSE(ledger->Create(scope, {{"name", "x"}, {"business_system", "HIS"}}, Source::kManual, "a").ok());
  auto bs = ledger->PutBusinessSystem(scope, {.name = "HIS", .mlps_level = 3});
  ASSERT_TRUE(bs.ok());
  auto a = ledger->Create(scope, {{"name", "x"}, {"business_system", "HIS"}, {"kind", "服务器"}, {"zone", "医疗网"},
                                  {"macs", "0011.2233.4455"}},
                          Source::kManual, "a");
  ASSERT_TRUE(a.ok()) << a.error().ToString();
  EXPECT_EQ(a->Get("kind"), "server");
  EXPECT_EQ(a->Get("zone"), "medical");
  EXPECT_EQ(a->GetList("macs"), std::vector<std::string>{"00:11:22:33:44:55"});
  EXPECT_EQ(ledger->DeleteBusinessSystem(scope, bs->id).error().code(), ErrorCode::kFailedPrecondition);
  auto list = ledger->List(scope, {.business_system = "HIS"});
  ASSERT_EQ(list->size(), 1u);
  // An IP may belong to one asset only.
  ASSERT_TRUE(ledger->Update(scope, a->id, {{"ips", "10.9.9.9"}}, Source::kManual, "a").ok());
  auto b = ledger->Create(scope, {{"name", "y"}, {"ips", "10.9.9.9"}}, Source::kManual, "a");
  EXPECT_EQ(b.error().code(), ErrorCode::kAlreadyExists);
}

TEST_F(LedgerTest, ImportMatchesByAddressAndReportsBadRowsWithLines) {
  ASSERT_TRUE(ledger->Observe(scope, Obs("10.3.0.1"), {}).ok());
  std::vector<ImportRow> rows = {
      {.line = 2, .attrs = {{"ips", "10.3.0.1"}, {"name", "LIS服务器"}, {"business_system", "LIS"}}},
      {.line = 3, .attrs = {{"name", "打印机-3F"}, {"kind", "打印机"}}},
      {.line = 4, .attrs = {{"name", "bad"}, {"availability", "9"}}},
  };
  auto r = ledger->Import(scope, rows, "cli:root", "ledger.csv");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->updated, 1);
  EXPECT_EQ(r->created, 1);
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].ToString().substr(0, 13), "ledger.csv:4:");
  auto a = ledger->FindByAddress(scope, "10.3.0.1");
  EXPECT_EQ((*a)->Get("name"), "LIS服务器");
  EXPECT_EQ((*a)->attrs.at("name").source, Source::kImport);
  EXPECT_TRUE(ledger->GetBusinessSystem(scope, "LIS")->has_value());
  // Re-import: unchanged.
  r = ledger->Import(scope, {rows[0]}, "cli:root", "ledger.csv");
  EXPECT_EQ(r->unchanged, 1);
}

TEST_F(LedgerTest, ExposuresAndScans) {
  auto scan = ledger->BeginScan(scope, "alice", "manual", R"({"targets":["10.0.0.0/24"]})");
  ASSERT_TRUE(scan.ok());
  ScanRecord done = *scan;
  done.status = "done";
  done.hosts_up = 3;
  ASSERT_TRUE(ledger->FinishScan(scope, done).ok());
  auto got = ledger->GetScan(scope, scan->id);
  EXPECT_EQ((*got)->started_by, "alice");
  EXPECT_EQ((*got)->status, "done");

  ASSERT_TRUE(ledger->PutExposure(scope, {.public_ip = "203.0.113.5", .public_port = 443, .internal_ip = "10.0.0.5",
                                          .internal_port = 443, .approved = true}).ok());
  auto fresh = ledger->ObserveExternal(scope, {{.public_ip = "203.0.113.5", .public_port = 443},
                                               {.public_ip = "203.0.113.5", .public_port = 3389, .service = "rdp"}},
                                       scan->id);
  ASSERT_TRUE(fresh.ok());
  ASSERT_EQ(fresh->size(), 1u);
  EXPECT_EQ((*fresh)[0].public_port, 3389);
  EXPECT_EQ(ledger->ListExposures(scope)->size(), 2u);
}

TEST_F(LedgerTest, DomainsFromScansMergeAndAreChecked) {
  ASSERT_TRUE(ledger->PutDomain(scope, {.name = "his.hospital.example", .addresses = {"10.0.0.9"}}).ok());
  auto added = ledger->ObserveDomains(
      scope, {{.name = "HIS.Hospital.Example.", .source = "certificate", .addresses = {"10.0.0.5"}, .asset_id = "a1"},
              {.name = "*.pacs.hospital.example", .source = "certificate", .addresses = {"10.0.0.5"}},
              {.name = "10.0.0.5", .source = "certificate"},        // an IP SAN is not a domain
              {.name = "pacs-gw01", .source = "dns"},                // nor a bare host name
              {.name = "bad name.example", .source = "certificate"},  // nor text with spaces
              {.name = "a..b.example", .source = "certificate"},
              {.name = "x.*.example", .source = "certificate"}});
  ASSERT_TRUE(added.ok()) << added.error().ToString();
  EXPECT_EQ(*added, 1);
  auto list = ledger->ListDomains(scope);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "*.pacs.hospital.example");
  EXPECT_EQ((*list)[0].source, "certificate");
  EXPECT_EQ((*list)[1].name, "his.hospital.example");
  EXPECT_EQ((*list)[1].source, "manual");  // the curated entry keeps its source
  EXPECT_EQ((*list)[1].addresses, (std::vector<std::string>{"10.0.0.9", "10.0.0.5"}));
  EXPECT_EQ((*list)[1].asset_id, "a1");
  EXPECT_TRUE(ledger->ListDomains(TenantScope::Of("other"))->empty());
}

}  // namespace
}  // namespace medsoc::assets
