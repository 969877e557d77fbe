// End-to-end tests of the event store: batches written through Write, read back through the
// query language, on real SQLite files in a temporary directory.
#include "store/events/sqlite_event_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <set>

#include "event/batch.h"
#include "event/field.h"

namespace medsoc::store::events {
namespace {

using event::Batch;
using event::Event;
using event::IpAddress;
using event::Value;

// 2024-03-01T00:00:00Z
const core::Timestamp kDay0 = core::Timestamp::FromSeconds(1'709'251'200);

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/medsoc-events-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

event::FieldId F(std::string_view name) { return *event::DefaultFieldTable().Intern(name); }

struct Spec {
  std::string tenant = "h1";
  core::Timestamp time = kDay0;
  std::string message;
  std::string host;
  std::string user;
  std::string src_ip;
  std::int64_t port = 0;
  std::string extra_field;  // "name=value" of a non-column field
  std::string raw;
};

void Add(Batch& b, const Spec& s) {
  Event& e = b.Add();
  e.set_tenant_id(s.tenant);
  e.set_time(s.time);
  e.set_ingest_time(s.time + core::Seconds(1));
  e.set_source_name("test");
  e.set_raw(s.raw.empty() ? s.message : s.raw);
  if (!s.message.empty()) e.SetString(F("message"), s.message);
  if (!s.host.empty()) e.SetString(F("host.name"), s.host);
  if (!s.user.empty()) e.SetString(F("user.name"), s.user);
  if (!s.src_ip.empty()) e.Set(F("source.ip"), Value::Ip(*IpAddress::Parse(s.src_ip)));
  if (s.port != 0) e.Set(F("source.port"), Value::Int(s.port));
  if (!s.extra_field.empty()) {
    auto eq = s.extra_field.find('=');
    e.SetString(F(s.extra_field.substr(0, eq)), s.extra_field.substr(eq + 1));
  }
}

class EventStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open(EventStoreOptions options = {}) {
    store_.reset();
    options.retention_days = options.retention_days == 180 ? 100000 : options.retention_days;  // fixed test dates
    auto s = SqliteEventStore::Open(dir_.path(), options, {.sync_full = false});
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    store_ = std::move(*s);
  }

  EventQuery Q(std::string q, int limit = 100) {
    EventQuery eq;
    eq.query = std::move(q);
    eq.from = kDay0 - core::Days(30);
    eq.to = kDay0 + core::Days(30);
    eq.limit = limit;
    eq.now = kDay0 + core::Hours(12);
    return eq;
  }

  std::vector<std::string> Messages(const std::string& tenant, std::string q) {
    auto page = store_->Search(TenantScope::Of(tenant), Q(std::move(q), 1000));
    EXPECT_TRUE(page.ok()) << page.error().ToString();
    std::vector<std::string> out;
    if (!page.ok()) return out;
    for (const auto& item : page->items) {
      auto pos = item.json.find("\"message\":\"");
      if (pos == std::string::npos) {
        out.push_back("?");
        continue;
      }
      pos += 11;
      out.push_back(item.json.substr(pos, item.json.find('"', pos) - pos));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  void Seed() {
    Batch b;
    Add(b, {.time = kDay0 + core::Hours(1), .message = "login failed for admin", .host = "his-db01", .user = "admin",
            .src_ip = "10.1.2.3", .port = 51000});
    Add(b, {.time = kDay0 + core::Hours(2), .message = "login ok for zhang", .host = "his-app02", .user = "Zhang",
            .src_ip = "192.168.5.9", .port = 443});
    Add(b, {.time = kDay0 + core::Hours(3), .message = "患者张三就诊记录被导出", .host = "pacs01", .user = "doctor1",
            .src_ip = "2001:db8::7", .port = 8080, .extra_field = "event.category=file"});
    Add(b, {.time = kDay0 + core::Days(1) + core::Hours(1), .message = "disk full on lis", .host = "lis01",
            .extra_field = "winlog.event_id=4625"});
    Add(b, {.tenant = "h2", .time = kDay0 + core::Hours(1), .message = "login failed for admin at other hospital",
            .host = "his-db01", .user = "admin", .src_ip = "10.1.2.3"});
    ASSERT_TRUE(store_->Write(b).ok());
  }

  TempDir dir_;
  std::unique_ptr<SqliteEventStore> store_;
};

TEST_F(EventStoreTest, FieldQueriesOverColumnsAndJson) {
  Seed();
  using V = std::vector<std::string>;
  EXPECT_EQ(Messages("h1", "host.name:his-db01"), V{"login failed for admin"});
  EXPECT_EQ(Messages("h1", "host.name:HIS-*"), (V{"login failed for admin", "login ok for zhang"}));
  EXPECT_EQ(Messages("h1", "user.name:zhang"), V{"login ok for zhang"});  // case-insensitive
  EXPECT_EQ(Messages("h1", "source.ip:10.0.0.0/8"), V{"login failed for admin"});
  EXPECT_EQ(Messages("h1", "source.ip:2001:db8::/32"), V{"患者张三就诊记录被导出"});
  EXPECT_EQ(Messages("h1", "source.ip:192.168.5.9"), V{"login ok for zhang"});
  EXPECT_EQ(Messages("h1", "source.port:[1 TO 1023]"), V{"login ok for zhang"});
  EXPECT_EQ(Messages("h1", "source.port:>=8080").size(), 2u);
  EXPECT_EQ(Messages("h1", "event.category:file"), V{"患者张三就诊记录被导出"});
  EXPECT_EQ(Messages("h1", "winlog.event_id:4625"), V{"disk full on lis"});
  EXPECT_EQ(Messages("h1", "winlog.event_id:>4000"), V{"disk full on lis"});
  EXPECT_EQ(Messages("h1", "user.name:*").size(), 3u);
  EXPECT_EQ(Messages("h1", "NOT user.name:*"), V{"disk full on lis"});
  // NOT matches events that lack the field (as Lucene/KQL users expect), for columns and JSON.
  EXPECT_EQ(Messages("h1", "NOT user.name:admin").size(), 3u);
  EXPECT_EQ(Messages("h1", "NOT winlog.event_id:4625").size(), 3u);
  EXPECT_EQ(Messages("h1", "NOT source.ip:10.0.0.0/8").size(), 3u);
  EXPECT_EQ(Messages("h1", "user.name:(admin OR zhang)").size(), 2u);
  EXPECT_EQ(Messages("h1", "@timestamp:2024-03-02"), V{"disk full on lis"});
  EXPECT_EQ(Messages("h1", "@timestamp:[2024-03-01T00:30:00Z TO 2024-03-01T02:30:00Z]").size(), 2u);
}

TEST_F(EventStoreTest, FreeTextIncludingChinese) {
  Seed();
  using V = std::vector<std::string>;
  EXPECT_EQ(Messages("h1", "failed"), V{"login failed for admin"});
  EXPECT_EQ(Messages("h1", "LOGIN").size(), 2u);
  EXPECT_EQ(Messages("h1", "患者"), V{"患者张三就诊记录被导出"});
  EXPECT_EQ(Messages("h1", "张三"), V{"患者张三就诊记录被导出"});
  EXPECT_EQ(Messages("h1", "\"就诊记录\""), V{"患者张三就诊记录被导出"});
  EXPECT_EQ(Messages("h1", "出"), V{"患者张三就诊记录被导出"});  // last character of a run
  EXPECT_EQ(Messages("h1", "诊"), V{"患者张三就诊记录被导出"});
  EXPECT_TRUE(Messages("h1", "患张").empty());
  EXPECT_EQ(Messages("h1", "log*").size(), 2u);
  EXPECT_EQ(Messages("h1", "\"failed for\""), V{"login failed for admin"});
  EXPECT_EQ(Messages("h1", "login AND NOT failed"), V{"login ok for zhang"});
  EXPECT_EQ(Messages("h1", "*ogin ok*"), V{"login ok for zhang"});  // scan fallback
  EXPECT_EQ(Messages("h1", "message:disk"), V{"disk full on lis"});
}

TEST_F(EventStoreTest, TenantIsolationEvenById) {
  Seed();
  auto h2 = store_->Search(TenantScope::Of("h2"), Q(""));
  ASSERT_TRUE(h2.ok());
  ASSERT_EQ(h2->items.size(), 1u);
  EXPECT_NE(h2->items[0].json.find("other hospital"), std::string::npos);
  const std::string h2_id = h2->items[0].id;
  auto leak = store_->Get(TenantScope::Of("h1"), h2_id);
  ASSERT_FALSE(leak.ok());
  EXPECT_EQ(leak.error().code(), ErrorCode::kNotFound);
  auto own = store_->Get(TenantScope::Of("h2"), h2_id);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->id, h2_id);
  EXPECT_EQ(own->json.rfind("{\"id\":\"" + h2_id + "\",\"time\":", 0), 0u) << own->json;
  EXPECT_EQ(Messages("h1", "other").size(), 0u);
  EXPECT_EQ(*store_->Count(TenantScope::Of("h1"), Q("admin")), 1);
  EXPECT_EQ(*store_->Count(TenantScope::Of("nobody"), Q("")), 0);
  EXPECT_FALSE(store_->Get(TenantScope::Of("h1"), "not-an-id").ok());
}

TEST_F(EventStoreTest, CursorPagingIsStableUnderInserts) {
  Batch b;
  for (int i = 0; i < 250; ++i)
    Add(b, {.time = kDay0 + core::Minutes(i % 50) + core::Days(i % 3), .message = "evt " + std::to_string(i)});
  ASSERT_TRUE(store_->Write(b).ok());
  std::set<std::string> seen;
  EventQuery q = Q("", 40);
  std::int64_t last_time = INT64_MAX;
  int pages = 0;
  while (true) {
    auto page = store_->Search(TenantScope::Of("h1"), q);
    ASSERT_TRUE(page.ok()) << page.error().ToString();
    for (const auto& item : page->items) {
      EXPECT_TRUE(seen.insert(item.id).second) << "repeated " << item.id;
      EXPECT_LE(item.time.ns, last_time);
      last_time = item.time.ns;
    }
    ++pages;
    if (pages == 2) {
      // New events, newer and older than the cursor, arrive between pages.
      Batch more;
      Add(more, {.time = kDay0 + core::Days(5), .message = "newer"});
      ASSERT_TRUE(store_->Write(more).ok());
    }
    if (page->next_cursor.empty()) break;
    q.cursor = page->next_cursor;
  }
  EXPECT_EQ(seen.size(), 250u);
  EXPECT_EQ(pages, 7);
  q.cursor = "garbage";
  EXPECT_EQ(store_->Search(TenantScope::Of("h1"), q).error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(EventStoreTest, HistogramAndExport) {
  Seed();
  EventQuery q = Q("");
  q.from = kDay0;
  q.to = kDay0 + core::Days(2);
  auto h = store_->Histogram(TenantScope::Of("h1"), q, core::Days(1));
  ASSERT_TRUE(h.ok()) << h.error().ToString();
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].start, kDay0);
  EXPECT_EQ((*h)[0].count, 3);
  EXPECT_EQ((*h)[1].count, 1);
  auto hourly = store_->Histogram(TenantScope::Of("h1"), q, core::Hours(1));
  ASSERT_TRUE(hourly.ok());
  EXPECT_EQ(hourly->size(), 48u);
  EXPECT_EQ((*hourly)[2].count, 1);
  EXPECT_FALSE(store_->Histogram(TenantScope::Of("h1"), q, core::Seconds(1)).ok());  // too many buckets
  std::vector<std::string> ids;
  ASSERT_TRUE(store_->Export(TenantScope::Of("h1"), Q(""), [&](const StoredEvent& e) {
                       ids.push_back(e.id);
                       return true;
                     }).ok());
  EXPECT_EQ(ids.size(), 4u);
  int n = 0;
  ASSERT_TRUE(store_->Export(TenantScope::Of("h1"), Q(""), [&](const StoredEvent&) { return ++n < 2; }).ok());
  EXPECT_EQ(n, 2);
}

TEST_F(EventStoreTest, BadQueryReportsColumn) {
  auto r = store_->Search(TenantScope::Of("h1"), Q("host.name:x AND (y OR"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(r.error().pos().has_value());
  EXPECT_EQ(r.error().pos()->column, 20);  // the dangling OR
  auto typed = store_->Search(TenantScope::Of("h1"), Q("source.port:http"));
  ASSERT_FALSE(typed.ok());
  EXPECT_EQ(typed.error().pos()->column, 13);
}

TEST_F(EventStoreTest, RetentionDropsWholeOldPartitions) {
  Open({.retention_days = 12});
  Batch b;
  const core::Timestamp now = kDay0 + core::Days(20) + core::Hours(5);
  for (int d = 0; d <= 20; d += 5) {
    Event& e = b.Add();
    e.set_tenant_id("h1");
    e.set_time(kDay0 + core::Days(d));
    e.set_ingest_time(now);  // arrived late, but inside retention
    e.set_raw("day " + std::to_string(d));
  }
  ASSERT_TRUE(store_->Write(b).ok());
  auto before = store_->Partitions();
  ASSERT_TRUE(before.ok());
  // Days 0 and 5 are older than the 12-day retention window: filed at their ingest day instead.
  std::set<std::string> days;
  for (const auto& p : *before) days.insert(p.day);
  EXPECT_EQ(days, (std::set<std::string>{"2024-03-11", "2024-03-16", "2024-03-21"}));
  auto report = store_->ApplyRetention(now + core::Days(6));
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  ASSERT_EQ(report->dropped.size(), 1u);
  EXPECT_EQ(report->dropped[0].day, "2024-03-11");
  EXPECT_EQ(report->dropped[0].events, 1);
  EXPECT_EQ(report->dropped[0].reason, "retention");
  EXPECT_GT(report->dropped[0].bytes, 0u);
  EXPECT_FALSE(std::filesystem::exists(store_->dir() + "/2024-03-11.db"));
  // The clamped events keep their own time, flagged.
  auto page = store_->Search(TenantScope::Of("h1"), Q("\"day 0\""));
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_NE(page->items[0].json.find("\"time_clamped\":true"), std::string::npos);
}

TEST_F(EventStoreTest, SizeLimitDropsOldestButNeverToday) {
  Open({.max_bytes = 1});
  Batch b;
  for (int d = 0; d < 3; ++d) Add(b, {.time = kDay0 + core::Days(d), .message = "x"});
  ASSERT_TRUE(store_->Write(b).ok());
  auto report = store_->EnforceSizeLimit(kDay0 + core::Days(2) + core::Hours(1));
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->dropped.size(), 2u);
  EXPECT_EQ(report->dropped[0].day, "2024-03-01");
  EXPECT_EQ(report->dropped[0].reason, "size_limit");
  EXPECT_EQ(report->dropped[1].day, "2024-03-02");
  EXPECT_TRUE(report->size_limit_unmet);
  EXPECT_EQ(store_->Partitions()->size(), 1u);
}

TEST_F(EventStoreTest, CompressedPartitionsStillAnswerEveryQuery) {
  Open({.compress_after_days = 1});
  Batch b;
  for (int i = 0; i < 600; ++i) {
    Add(b, {.time = kDay0 + core::Seconds(i), .message = "firewall deny tcp from 10.9.0." + std::to_string(i % 250) +
                                                        " port " + std::to_string(i) + " 患者查询",
            .host = "fw" + std::to_string(i % 3), .src_ip = "10.9.0." + std::to_string(i % 250), .port = 1000 + i,
            .extra_field = "observer.vendor=Hillstone"});
  }
  ASSERT_TRUE(store_->Write(b).ok());
  // A reader connection opened before compression must keep working after it.
  ASSERT_EQ(*store_->Count(TenantScope::Of("h1"), Q("observer.vendor:hillstone")), 600);
  auto before = store_->Partitions();
  auto report = store_->CompressOld(kDay0 + core::Days(3));
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_EQ(report->compressed, std::vector<std::string>{"2024-03-01"});
  auto after = store_->Partitions();
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE((*after)[0].compressed);
  EXPECT_LT((*after)[0].bytes, (*before)[0].bytes);
  EXPECT_EQ(*store_->Count(TenantScope::Of("h1"), Q("observer.vendor:hillstone")), 600);
  EXPECT_EQ(*store_->Count(TenantScope::Of("h1"), Q("host.name:fw1 AND source.port:[1000 TO 1099]")), 33);
  EXPECT_EQ(*store_->Count(TenantScope::Of("h1"), Q("患者 AND deny")), 600);
  EXPECT_EQ(*store_->Count(TenantScope::Of("h1"), Q("raw:*port?599*")), 1);
  auto page = store_->Search(TenantScope::Of("h1"), Q("source.port:1599"));
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_NE(page->items[0].json.find("port 599"), std::string::npos);
  auto got = store_->Get(TenantScope::Of("h1"), page->items[0].id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->json, page->items[0].json);
  // Late events arriving after compression are stored uncompressed and compressed next time.
  Batch late;
  Add(late, {.time = kDay0 + core::Hours(20), .message = "late arrival"});
  ASSERT_TRUE(store_->Write(late).ok());
  EXPECT_EQ(Messages("h1", "late").size(), 1u);
  auto again = store_->CompressOld(kDay0 + core::Days(3));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->compressed.size(), 1u);
  EXPECT_EQ(Messages("h1", "late").size(), 1u);
}

TEST_F(EventStoreTest, InvalidUtf8RawBytesAreKeptAndParseErrorsSearchable) {
  Batch b;
  Event& e = b.Add();
  e.set_tenant_id("h1");
  e.set_time(kDay0);
  e.set_raw(std::string("bad \xff\xfe bytes"));
  e.set_parse_error("no parser matched");
  ASSERT_TRUE(store_->Write(b).ok());
  auto page = store_->Search(TenantScope::Of("h1"), Q("parse_error:*"));
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].raw_bytes, std::string("bad \xff\xfe bytes"));
  EXPECT_NE(page->items[0].json.find("\"invalid_utf8\":true"), std::string::npos);
  EXPECT_EQ(Messages("h1", "bytes").size(), 1u);
}

TEST_F(EventStoreTest, ASecondStoreOnTheSameDirectorySeesCommittedEvents) {
  Seed();
  auto other = SqliteEventStore::Open(dir_.path(), {}, {});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*(*other)->Count(TenantScope::Of("h1"), Q("")), 4);
}

}  // namespace
}  // namespace medsoc::store::events
