// End-to-end tests of the event store: batches written through Write, read back through the
// query language, on real SQLite files in a temporary directory.
#include "store/events/sqlite_event_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "event/batch.h"
#include "event/field.h"
#include "store/events/tokenizer.h"
#include "store/sqlite/db.h"

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


// ---- Deferred indexing: the unindexed tail and the FTS-driven plan ----------------------------------

// Generated events over two days: words (ASCII and CJK), hosts, users, addresses, ports.
Batch Generated(int n, int seed) {
  static const char* kWords[] = {"login", "failed", "accepted", "denied", "session", "opened", "患者", "就诊记录",
                                 "挂号", "导出", "Firewall", "drop", "policy"};
  std::mt19937 rng(static_cast<unsigned>(seed));
  Batch b;
  for (int i = 0; i < n; ++i) {
    std::string msg;
    const int words = 1 + static_cast<int>(rng() % 5);
    for (int w = 0; w < words; ++w) {
      if (!msg.empty() && rng() % 3 != 0) msg += ' ';
      msg += kWords[rng() % 13];
    }
    if (i % 61 == 5) msg += " xyzzy";  // a rare word
    Spec spec{.tenant = rng() % 10 == 0 ? "h2" : "h1",
              .time = kDay0 + core::Minutes(static_cast<std::int64_t>(rng() % (2 * 24 * 60))),
              .message = msg,
              .host = "host" + std::to_string(rng() % 7),
              .user = rng() % 4 == 0 ? "" : "user" + std::to_string(rng() % 5),
              .src_ip = "10.0." + std::to_string(rng() % 4) + "." + std::to_string(rng() % 250),
              .port = static_cast<std::int64_t>(rng() % 3000),
              .extra_field = rng() % 2 ? "observer.vendor=Hillstone" : "observer.vendor=Huawei"};
    if (rng() % 5 == 0) spec.raw = "<13>" + msg + " raw-only-" + std::to_string(rng() % 3);
    Add(b, spec);
  }
  return b;
}

const char* kDifferentialQueries[] = {
    "", "login", "LOGIN", "failed", "xyzzy", "患者", "就诊", "诊", "出", "挂号导出", "\"login failed\"", "log*", "fire*",
    "raw-only-1", "message:denied", "message:raw", "login AND host.name:host3", "xyzzy AND NOT user.name:*",
    "login OR xyzzy", "NOT login", "NOT (login OR 患者)", "患者 AND source.ip:10.0.1.0/24",
    "denied AND source.port:[100 TO 900]", "host.name:host1", "user.name:USER2", "source.ip:10.0.2.0/24",
    "observer.vendor:huawei AND session", "failed AND (host.name:host1 OR host.name:host2)", "*ogin fail*",
    "@timestamp:2024-03-02 AND opened", "session AND drop AND policy", "message:登录 OR 导出"};

class DeferredIndexingTest : public EventStoreTest {
 protected:
  void OpenWith(SqliteEventStoreSettings settings, const std::string& dir = {}) {
    store_.reset();
    auto s = SqliteEventStore::Open(dir.empty() ? dir_.path() : dir, {.retention_days = 100000}, settings);
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    store_ = std::move(*s);
  }

  // Every answer each query kind gives, as one comparable text. Without ids (`with_ids` false),
  // stores that hold the same events under different random ids compare equal.
  std::string Answers(const std::string& tenant, const std::string& q, bool with_ids) {
    std::string out;
    const TenantScope scope = TenantScope::Of(tenant);
    auto strip = [&](std::string json) {
      if (!with_ids) json.erase(0, json.find(',') + 1);
      return json;
    };
    EventQuery eq = Q(q, 40);  // several pages: cursors across the tail and the indexed rows
    while (true) {
      auto page = store_->Search(scope, eq);
      if (!page.ok()) return "error: " + page.error().ToString();
      for (const auto& e : page->items) out += strip(e.json) + "\n";
      if (page->next_cursor.empty()) break;
      eq.cursor = page->next_cursor;
    }
    auto count = store_->Count(scope, Q(q));
    out += "count " + (count.ok() ? std::to_string(*count) : count.error().ToString()) + "\nhistogram";
    EventQuery hq = Q(q);
    hq.from = kDay0;
    hq.to = kDay0 + core::Days(2);
    auto hist = store_->Histogram(scope, hq, core::Hours(6));
    if (!hist.ok()) return "error: " + hist.error().ToString();
    for (const auto& b : *hist) out += " " + std::to_string(b.count);
    out += "\nexport";
    int gets = 0;
    EXPECT_TRUE(store_->Export(scope, Q(q), [&](const StoredEvent& e) {
                         out += " " + std::to_string(e.time.ns) + (with_ids ? e.id : "");
                         if (with_ids && ++gets <= 3) EXPECT_EQ(store_->Get(scope, e.id)->json, e.json);
                         return true;
                       }).ok());
    return out;
  }

  std::map<std::string, std::string> AllAnswers(bool with_ids) {
    std::map<std::string, std::string> out;
    for (const char* q : kDifferentialQueries)
      for (const char* tenant : {"h1", "h2"}) out[std::string(tenant) + " " + q] = Answers(tenant, q, with_ids);
    return out;
  }

  void ExpectSameAnswers(const std::map<std::string, std::string>& want, const std::map<std::string, std::string>& got,
                         const char* what) {
    for (const auto& [q, a] : want) EXPECT_EQ(got.at(q), a) << what << ": query " << q;
  }

  std::int64_t TailRows(const std::string& day) {
    auto db = sqlite::Database::Open(dir_.path() + "/events/" + day + ".db", {});
    EXPECT_TRUE(db.ok());
    if (!db.ok()) return -1;
    auto st = (*db)->Prepare("SELECT count(*) FROM hot");
    EXPECT_TRUE(st.ok());
    if (!st.ok()) return -1;
    auto row = (*st)->Step();
    EXPECT_TRUE(row.ok() && *row);
    return (*st)->ColumnInt64(0);
  }

  static constexpr SqliteEventStoreSettings kManual{.sync_full = false, .max_tail_rows = 1u << 30,
                                                    .background_indexer = false, .index_on_close = false};
};

TEST_F(DeferredIndexingTest, EveryQueryKindAnswersAlikeBeforeDuringAndAfterIndexing) {
  const Batch parts[] = {Generated(250, 1), Generated(200, 2), Generated(150, 3)};
  // The reference: a store that indexes inline, as medsoc did before deferred indexing.
  TempDir inline_dir;
  OpenWith({.sync_full = false, .deferred_indexing = false}, inline_dir.path());
  for (const auto& b : parts) ASSERT_TRUE(store_->Write(b).ok());
  const auto reference = AllAnswers(false);
  EXPECT_NE(reference.at("h1 login"), reference.at("h1 failed"));
  EXPECT_EQ(reference.at("h1 xyzzy").find("count 0\n"), std::string::npos);  // the rare word occurs
  EXPECT_EQ(reference.at("h1 login OR xyzzy").find("count 0\n"), std::string::npos);

  OpenWith(kManual);
  for (const auto& b : parts) ASSERT_TRUE(store_->Write(b).ok());
  EXPECT_EQ(TailRows("2024-03-01") + TailRows("2024-03-02"), 600);
  ExpectSameAnswers(reference, AllAnswers(false), "all rows in the tail");
  const auto tail_answers = AllAnswers(true);

  ASSERT_TRUE(store_->FlushIndex().ok());
  EXPECT_EQ(TailRows("2024-03-01") + TailRows("2024-03-02"), 0);
  ExpectSameAnswers(tail_answers, AllAnswers(true), "after indexing (same ids)");

  // Mixed: indexed rows plus a new tail; then the answers of the inline store given the same rows.
  for (const auto& b : parts) ASSERT_TRUE(store_->Write(b).ok());
  EXPECT_GT(TailRows("2024-03-01"), 0);
  const auto mixed = AllAnswers(true);
  ASSERT_TRUE(store_->FlushIndex().ok());
  ExpectSameAnswers(mixed, AllAnswers(true), "mixed, then indexed");
  OpenWith({.sync_full = false, .deferred_indexing = false}, inline_dir.path());
  for (const auto& b : parts) ASSERT_TRUE(store_->Write(b).ok());
  const auto reference2 = AllAnswers(false);
  OpenWith(kManual);
  ExpectSameAnswers(reference2, AllAnswers(false), "twice the rows");
}

TEST_F(DeferredIndexingTest, FtsDrivenPlanReturnsTheSameRowsAsTheTimeOrderPlan) {
  OpenWith(kManual);
  ASSERT_TRUE(store_->Write(Generated(500, 7)).ok());
  ASSERT_TRUE(store_->FlushIndex().ok());
  ASSERT_TRUE(store_->Write(Generated(150, 8)).ok());  // and a tail
  SqliteEventStoreSettings never = kManual, always = kManual;
  never.fts_drive_max_rows = -1;
  always.fts_drive_max_rows = 1 << 30;
  OpenWith(never);
  const auto scan = AllAnswers(true);
  OpenWith(always);
  ExpectSameAnswers(scan, AllAnswers(true), "FTS-driven");
  OpenWith(kManual);  // the default threshold (some terms driven, some not)
  ExpectSameAnswers(scan, AllAnswers(true), "default threshold");
}

TEST_F(DeferredIndexingTest, AClosedStoreLeavesItsTailAndTheNextOpenIndexesIt) {
  OpenWith(kManual);
  ASSERT_TRUE(store_->Write(Generated(400, 3)).ok());
  const auto before = AllAnswers(true);
  store_.reset();  // as after a crash: nothing indexes the tail on the way out
  EXPECT_EQ(TailRows("2024-03-01") + TailRows("2024-03-02"), 400);
  // A restarted server: its first write starts the indexer, which finds the old tails too.
  OpenWith({.sync_full = false, .index_idle_ms = 10});
  ExpectSameAnswers(before, AllAnswers(true), "reopened, tail pending");
  Batch later;
  Add(later, {.tenant = "h3", .time = kDay0 + core::Hours(5), .message = "after restart"});
  ASSERT_TRUE(store_->Write(later).ok());
  for (int i = 0; i < 6000 && TailRows("2024-03-01") + TailRows("2024-03-02") > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(TailRows("2024-03-01") + TailRows("2024-03-02"), 0);
  EXPECT_EQ(store_->indexer_errors(), 0u);
  ExpectSameAnswers(before, AllAnswers(true), "indexed by the reopened store");
  EXPECT_EQ(*store_->Count(TenantScope::Of("h1"), Q("")) + *store_->Count(TenantScope::Of("h2"), Q("")), 400);
}

TEST_F(DeferredIndexingTest, KilledWhileWritingAndIndexingEveryAcknowledgedEventIsStoredOnce) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    auto s = SqliteEventStore::Open(dir_.path(), {.retention_days = 100000},
                                    {.sync_full = false, .index_batch_rows = 700, .index_idle_ms = 1,
                                     .max_tail_rows = 900});
    if (!s.ok()) ::_exit(2);
    for (int i = 0;; ++i) {
      Batch b = Generated(100, 100 + i);
      for (auto& e : b) e.SetString(F("message"), "seq" + std::to_string(i));
      if (!(*s)->Write(b).ok()) ::_exit(3);
      const int acked = i + 1;
      if (::write(fds[1], &acked, sizeof acked) != sizeof acked) ::_exit(4);
    }
  }
  ::close(fds[1]);
  int acked = 0, v = 0;
  while (acked < 25 && ::read(fds[0], &v, sizeof v) == sizeof v) acked = v;
  ::kill(pid, SIGKILL);
  while (::read(fds[0], &v, sizeof v) == sizeof v) acked = v;  // acknowledged before the kill landed
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  ASSERT_GE(acked, 25);

  OpenWith(kManual);
  auto count_of = [&](int i) {
    return *store_->Count(TenantScope::Of("h1"), Q("message:seq" + std::to_string(i))) +
           *store_->Count(TenantScope::Of("h2"), Q("message:seq" + std::to_string(i)));
  };
  for (int i = 0; i < acked; ++i) EXPECT_EQ(count_of(i), 100) << "batch " << i;
  const std::int64_t total = *store_->Count(TenantScope::Of("h1"), Q("")) + *store_->Count(TenantScope::Of("h2"), Q(""));
  EXPECT_TRUE(total == acked * 100 || total == (acked + 1) * 100) << total;  // plus one committed, not yet acknowledged
  ASSERT_TRUE(store_->FlushIndex().ok());
  for (int i = 0; i < acked; ++i) EXPECT_EQ(count_of(i), 100) << "batch " << i << " after indexing";
  EXPECT_EQ(*store_->Count(TenantScope::Of("h1"), Q("")) + *store_->Count(TenantScope::Of("h2"), Q("")), total);
}

TEST_F(DeferredIndexingTest, VersionOnePartitionsOpenAndMigrate) {
  // A version 1 partition: written inline, then the tail table removed and the version set back.
  OpenWith({.sync_full = false, .deferred_indexing = false});
  ASSERT_TRUE(store_->Write(Generated(200, 5)).ok());
  const auto before = AllAnswers(true);
  store_.reset();
  for (const char* day : {"2024-03-01", "2024-03-02"}) {
    auto db = sqlite::Database::Open(dir_.path() + "/events/" + day + ".db", {});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->ExecScript("DROP TABLE hot; PRAGMA user_version = 1;").ok());
  }
  OpenWith(kManual);
  ExpectSameAnswers(before, AllAnswers(true), "version 1 files");
  ASSERT_TRUE(store_->Write(Generated(100, 6)).ok());
  EXPECT_EQ(TailRows("2024-03-01") + TailRows("2024-03-02"), 100);
  auto db = sqlite::Database::Open(dir_.path() + "/events/2024-03-01.db", {});
  auto st = (*db)->Prepare("PRAGMA user_version");
  ASSERT_TRUE((*st)->Step().ok());
  EXPECT_EQ((*st)->ColumnInt64(0), 2);
  ASSERT_TRUE(store_->FlushIndex().ok());
  EXPECT_EQ(*store_->Count(TenantScope::Of("h1"), Q("")) + *store_->Count(TenantScope::Of("h2"), Q("")), 300);
}

TEST_F(DeferredIndexingTest, RetentionDropsPartitionsWithTheirTail) {
  OpenWith(kManual);
  ASSERT_TRUE(store_->Write(Generated(300, 9)).ok());
  auto parts = store_->Partitions();
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 2u);
  std::int64_t events = 0;
  for (const auto& p : *parts) events += p.events;
  EXPECT_EQ(events, 300);  // tail rows count
  store_.reset();
  auto s = SqliteEventStore::Open(dir_.path(), {.retention_days = 1}, kManual);
  ASSERT_TRUE(s.ok());
  auto report = (*s)->ApplyRetention(kDay0 + core::Days(2) + core::Hours(1));
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->dropped.size(), 1u);
  EXPECT_EQ(report->dropped[0].day, "2024-03-01");
  EXPECT_GT(report->dropped[0].events, 0);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/events/2024-03-01.db"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/events/2024-03-02.db"));
  EXPECT_TRUE((*s)->FlushIndex().ok());
}

TEST(FtsMatchTest, AgreesWithFtsExpressions) {
  EXPECT_TRUE(FtsMatch("login failed for admin", "", "\"failed\""));
  EXPECT_TRUE(FtsMatch("login failed for admin", "", "\"FAILED for\""));
  EXPECT_FALSE(FtsMatch("login failed for admin", "", "\"for failed\""));
  EXPECT_TRUE(FtsMatch("", "raw login", "\"login\""));
  EXPECT_FALSE(FtsMatch("", "raw login", "message : \"login\""));
  EXPECT_TRUE(FtsMatch("患者张三就诊记录被导出", "", "\"就诊记录\""));
  EXPECT_TRUE(FtsMatch("患者张三就诊记录被导出", "", "\"出\" *"));
  EXPECT_FALSE(FtsMatch("患者张三就诊记录被导出", "", "\"患张\""));
  EXPECT_TRUE(FtsMatch("logout", "", "\"log\" *"));
  EXPECT_FALSE(FtsMatch("logout", "", "\"log\""));
  EXPECT_TRUE(FtsMatch("say \"hi\" there", "", "\"\"\"hi\"\" there\""));
}

}  // namespace
}  // namespace medsoc::store::events
