#include "assets/table_io.h"

#include <gtest/gtest.h>
#include <iconv.h>

namespace medsoc::assets {
namespace {

using store::TenantScope;

std::string ToGb18030(const std::string& utf8) {
  iconv_t cd = iconv_open("GB18030", "UTF-8");
  std::string out(utf8.size() * 2, '\0');
  char* src = const_cast<char*>(utf8.data());
  size_t sl = utf8.size(), dl = out.size();
  char* dst = out.data();
  iconv(cd, &src, &sl, &dst, &dl);
  iconv_close(cd);
  out.resize(out.size() - dl);
  return out;
}

class TableIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger = std::move(*AssetLedger::Open(":memory:"));
    ASSERT_TRUE(ledger->PutBusinessSystem(scope, {.name = "PACS", .mlps_level = 3}).ok());
    auto a = ledger->Create(scope,
                            {{"name", "=cmd|' /C calc'!A0"}, {"kind", "dicom_node"}, {"ips", "10.0.0.5; 10.0.0.6"},
                             {"business_system", "PACS"}, {"zone", "medical"}, {"confidentiality", "4"},
                             {"owner", "张三"}, {"location", "放射科 2楼"}, {"notes", "line1\nline2, \"quoted\""},
                             {"tags", "影像,核心"}},
                            Source::kManual, "t");
    ASSERT_TRUE(a.ok()) << a.error().ToString();
    Service s;
    s.port = 104;
    s.service = "dicom";
    s.product = "Orthanc";
    s.version = "1.12.1";
    ASSERT_TRUE(ledger->PutService(scope, a->id, s, Source::kManual, "t").ok());
    ASSERT_TRUE(ledger->PutSoftware(scope, a->id, {.name = "Orthanc", .version = "1.12.1"}, Source::kManual, "t").ok());
    original = **ledger->Get(scope, a->id);
  }

  void ExpectRoundTrip(const Table& table) {
    auto parsed = RowsFromTable(table, "f");
    ASSERT_TRUE(parsed.errors.empty()) << parsed.errors[0].ToString();
    ASSERT_EQ(parsed.rows.size(), 1u);
    auto fresh = std::move(*AssetLedger::Open(":memory:"));
    auto report = fresh->Import(scope, parsed.rows, "t", "f");
    ASSERT_TRUE(report.ok());
    ASSERT_TRUE(report->errors.empty()) << report->errors[0].ToString();
    EXPECT_EQ(report->created, 1);
    auto list = fresh->List(scope, {});
    ASSERT_EQ(list->size(), 1u);
    const Asset& b = (*list)[0];
    for (const auto& spec : AttributeSpecs()) EXPECT_EQ(b.Get(spec.name), original.Get(spec.name)) << spec.name;
    ASSERT_EQ(b.services.size(), 1u);
    EXPECT_EQ(b.services[0].port, 104);
    EXPECT_EQ(b.services[0].product, "Orthanc");
    EXPECT_EQ(b.services[0].version, "1.12.1");
    ASSERT_EQ(b.software.size(), 1u);
    EXPECT_TRUE(fresh->GetBusinessSystem(scope, "PACS")->has_value());
  }

  TenantScope scope = TenantScope::Of("default");
  std::unique_ptr<AssetLedger> ledger;
  Asset original;
};

TEST_F(TableIoTest, CsvRoundTripWithChineseHeadersAndFormulaEscape) {
  std::string csv = AssetsToCsv({original});
  EXPECT_EQ(csv.substr(0, 3), "\xEF\xBB\xBF");
  EXPECT_NE(csv.find("资产编号,资产名称,资产类型"), std::string::npos);
  EXPECT_NE(csv.find("'=cmd"), std::string::npos);  // never a live formula
  EXPECT_NE(csv.find("PACS/DICOM节点"), std::string::npos);
  EXPECT_NE(csv.find("医疗网"), std::string::npos);
  EXPECT_NE(csv.find("104/tcp dicom|Orthanc|1.12.1"), std::string::npos);
  auto table = ParseCsv(csv);
  ASSERT_TRUE(table.ok()) << table.error().ToString();
  ExpectRoundTrip(*table);
}

TEST_F(TableIoTest, XlsxRoundTrip) {
  auto bytes = AssetsToXlsx({original}, *ledger->ListBusinessSystems(scope));
  ASSERT_TRUE(bytes.ok()) << bytes.error().ToString();
  EXPECT_EQ(bytes->substr(0, 2), "PK");
  auto table = ParseXlsxBytes(*bytes);
  ASSERT_TRUE(table.ok()) << table.error().ToString();
  EXPECT_EQ(table->header[1], "资产名称");
  ExpectRoundTrip(*table);
}

TEST_F(TableIoTest, Gb18030CsvFromChineseExcel) {
  std::string csv = ToGb18030("资产名称,IP地址,资产类型,网络区域\r\n挂号终端,10.1.1.1,终端,内网\r\n");
  auto table = ParseCsv(csv);
  ASSERT_TRUE(table.ok()) << table.error().ToString();
  auto parsed = RowsFromTable(*table, "x.csv");
  ASSERT_EQ(parsed.rows.size(), 1u);
  EXPECT_EQ(parsed.rows[0].attrs["name"], "挂号终端");
  EXPECT_EQ(parsed.rows[0].attrs["kind"], "终端");
}

TEST_F(TableIoTest, BadCellsReportedWithLineAndColumn) {
  auto table = ParseCsv("资产名称,可用性,颜色,开放服务\nok,3,red,80/tcp http\nbad,9,blue,\nbad2,,x,99999/tcp\n");
  ASSERT_TRUE(table.ok());
  auto parsed = RowsFromTable(*table, "l.csv");
  ASSERT_EQ(parsed.rows.size(), 1u);
  ASSERT_EQ(parsed.errors.size(), 3u);
  EXPECT_EQ(parsed.errors[0].ToString(), "l.csv:1:3: unknown column '颜色' ignored");
  EXPECT_EQ(parsed.errors[1].ToString().substr(0, 9), "l.csv:3:2");
  EXPECT_EQ(parsed.errors[2].ToString().substr(0, 9), "l.csv:4:4");
  EXPECT_FALSE(ParseCsv("a,b\n\"unterminated\n").ok());
}

}  // namespace
}  // namespace medsoc::assets
