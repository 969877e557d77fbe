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
#include <functional>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "event/batch.h"
#include "event/field.h"
#include "store/events/sqlite_query.h"
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


// ---- Blocks: the same answers whatever the block size and with or without the term index --------

// Generated events over two days: words (ASCII and CJK), hosts, users, addresses, ports.
// `batch_for(i)` names the batch that receives event i.
void GenerateInto(int n, int seed, const std::function<Batch&(int)>& batch_for) {
  static const char* kWords[] = {"login", "failed", "accepted", "denied", "session", "opened", "患者", "就诊记录",
                                 "挂号", "导出", "Firewall", "drop", "policy"};
  std::mt19937 rng(static_cast<unsigned>(seed));
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
    Add(batch_for(i), spec);
  }
}

Batch Generated(int n, int seed) {
  Batch b;
  GenerateInto(n, seed, [&](int) -> Batch& { return b; });
  return b;
}

const char* kDifferentialQueries[] = {
    "", "login", "LOGIN", "failed", "xyzzy", "患者", "就诊", "诊", "出", "挂号导出", "\"login failed\"", "log*", "fire*",
    "raw-only-1", "message:denied", "message:raw", "login AND host.name:host3", "xyzzy AND NOT user.name:*",
    "login OR xyzzy", "NOT login", "NOT (login OR 患者)", "患者 AND source.ip:10.0.1.0/24",
    "denied AND source.port:[100 TO 900]", "host.name:host1", "host.name:HOST*", "user.name:USER2",
    "source.ip:10.0.2.0/24", "source.ip:10.0.3.7", "source.ip:0.0.0.0/0", "source.ip:10.0.0.0/8",
    "source.ip:\"::ffff:0:0/96\"", "source.ip:\"::/8\"", "source.port:1234", "source.port:12.5", "source:test",
    "observer.vendor:huawei AND session", "failed AND (host.name:host1 OR host.name:host2)", "*ogin fail*",
    "@timestamp:2024-03-02 AND opened", "session AND drop AND policy", "message:登录 OR 导出"};

class BlockStoreTest : public EventStoreTest {
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
    std::vector<std::string> page_items;
    EventQuery eq = Q(q, 40);  // several pages: cursors across blocks
    while (true) {
      auto page = store_->Search(scope, eq);
      if (!page.ok()) return "error: " + page.error().ToString();
      for (const auto& e : page->items) page_items.push_back(strip(e.json));
      if (page->next_cursor.empty()) break;
      eq.cursor = page->next_cursor;
    }
    // Events of the same time come in id order, which differs between stores without ids.
    if (!with_ids) std::sort(page_items.begin(), page_items.end());
    for (const auto& j : page_items) out += j + "\n";
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

  std::int64_t Blocks(const std::string& day) {
    auto db = sqlite::Database::Open(dir_.path() + "/events/" + day + ".db", {});
    EXPECT_TRUE(db.ok());
    if (!db.ok()) return -1;
    auto st = (*db)->Prepare("SELECT count(*) FROM blocks");
    EXPECT_TRUE(st.ok());
    if (!st.ok()) return -1;
    auto row = (*st)->Step();
    EXPECT_TRUE(row.ok() && *row);
    return (*st)->ColumnInt64(0);
  }
};

TEST_F(BlockStoreTest, EveryQueryKindAnswersAlikeWhateverTheBlockSizeAndTheTermIndex) {
  const Batch parts[] = {Generated(250, 1), Generated(200, 2), Generated(150, 3)};
  // The reference: one event per block, every block decoded (no term index).
  TempDir reference_dir;
  OpenWith({.sync_full = false, .block_rows = 1, .use_term_index = false}, reference_dir.path());
  for (const auto& b : parts) ASSERT_TRUE(store_->Write(b).ok());
  const auto reference = AllAnswers(false);
  EXPECT_NE(reference.at("h1 login"), reference.at("h1 failed"));
  EXPECT_EQ(reference.at("h1 xyzzy").find("count 0\n"), std::string::npos);  // the rare word occurs
  EXPECT_EQ(reference.at("h1 login OR xyzzy").find("count 0\n"), std::string::npos);
  EXPECT_EQ(reference.at("h1 source.ip:10.0.2.0/24").find("count 0\n"), std::string::npos);
  EXPECT_EQ(reference.at("h1 source.ip:0.0.0.0/0").find("count 0\n"), std::string::npos);
  EXPECT_EQ(reference.at("h1 source.ip:\"::ffff:0:0/96\"").find("count 0\n"), std::string::npos);
  EXPECT_NE(reference.at("h1 source.port:12.5").find("count 0\n"), std::string::npos);

  OpenWith({.sync_full = false});
  for (const auto& b : parts) ASSERT_TRUE(store_->Write(b).ok());
  // Three writes, each split by day and tenant: 3 x 2 x 2 blocks.
  EXPECT_EQ(Blocks("2024-03-01") + Blocks("2024-03-02"), 12);
  const auto pruned = AllAnswers(true);
  ExpectSameAnswers(reference, AllAnswers(false), "2,048-event blocks with the term index");
  OpenWith({.sync_full = false, .use_term_index = false});
  ExpectSameAnswers(pruned, AllAnswers(true), "the same blocks without the term index (same ids)");

  TempDir small_dir;
  OpenWith({.sync_full = false, .block_rows = 7}, small_dir.path());
  for (const auto& b : parts) ASSERT_TRUE(store_->Write(b).ok());
  ExpectSameAnswers(reference, AllAnswers(false), "7-event blocks");
}

TEST_F(BlockStoreTest, ARunOfSmallWritesAndALargeOneAnswerAlike) {
  // Small writes make small blocks (one per write, day and tenant); paging must cross them.
  std::vector<Batch> small_batches(100);
  GenerateInto(300, 11, [&](int i) -> Batch& { return small_batches[static_cast<std::size_t>(i / 3)]; });
  const Batch all = Generated(300, 11);
  OpenWith({.sync_full = false});
  for (const Batch& b : small_batches) ASSERT_TRUE(store_->Write(b).ok());
  const auto small = AllAnswers(false);
  TempDir one_dir;
  OpenWith({.sync_full = false}, one_dir.path());
  ASSERT_TRUE(store_->Write(all).ok());
  ExpectSameAnswers(small, AllAnswers(false), "one write");
}

TEST_F(BlockStoreTest, KilledWhileWritingEveryAcknowledgedEventIsStoredOnce) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    auto s = SqliteEventStore::Open(dir_.path(), {.retention_days = 100000}, {.sync_full = false, .block_rows = 64});
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

  OpenWith({.sync_full = false});
  auto count_of = [&](int i) {
    return *store_->Count(TenantScope::Of("h1"), Q("message:seq" + std::to_string(i))) +
           *store_->Count(TenantScope::Of("h2"), Q("message:seq" + std::to_string(i)));
  };
  for (int i = 0; i < acked; ++i) EXPECT_EQ(count_of(i), 100) << "batch " << i;
  const std::int64_t total = *store_->Count(TenantScope::Of("h1"), Q("")) + *store_->Count(TenantScope::Of("h2"), Q(""));
  EXPECT_TRUE(total == acked * 100 || total == (acked + 1) * 100) << total;  // plus one committed, not yet acknowledged
}

// An event id: the time's milliseconds in 10 Crockford base32 characters, then `rest` (16).
std::string LegacyId(std::int64_t time_ns, std::string_view rest) {
  static constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  std::string id(10, '0');
  auto ms = static_cast<std::uint64_t>(time_ns / 1'000'000);
  for (int i = 9; i >= 0; --i, ms >>= 5) id[static_cast<std::size_t>(i)] = kCrockford[ms & 31];
  return id + std::string(rest);
}

// A partition as medsoc wrote it before blocks (schema 2): one row per event, field indexes,
// FTS5, and rows still in the unindexed tail.
void WriteLegacyPartition(const std::string& path) {
  auto db = sqlite::Database::Open(path, {});
  ASSERT_TRUE(db.ok());
  std::string cols;
  for (const ColumnField& c : ColumnFields()) cols += std::string(c.column) + (c.type == ColumnType::kLong ? " INTEGER, " : c.type == ColumnType::kIp ? " BLOB, " : " TEXT COLLATE NOCASE, ");
  const std::string table = "(tenant_id TEXT NOT NULL, id TEXT NOT NULL, time INTEGER NOT NULL, ingest_time INTEGER NOT NULL, "
                            "source TEXT, " + cols + "parse_error TEXT, raw_bytes BLOB, zflags INTEGER NOT NULL DEFAULT 0, doc BLOB NOT NULL";
  ASSERT_TRUE((*db)->ExecScript("CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB);"
                                "CREATE TABLE events " + table + ");"
                                "CREATE INDEX events_time ON events(tenant_id, time);"
                                "CREATE VIRTUAL TABLE events_fts USING fts5(message, raw, content='');"
                                "CREATE TABLE hot " + table + ", fts_message TEXT, fts_raw TEXT);"
                                "PRAGMA user_version = 2;").ok());
  struct Legacy {
    const char* table;
    const char* tenant;
    const char* id;
    std::int64_t minute;
    const char* host;
    const char* message;
  };
  const Legacy rows[] = {{"events", "h1", "AAAAAAAAAAAAAAAA", 60, "his-db01", "legacy login failed for admin"},
                         {"events", "h2", "BBBBBBBBBBBBBBBB", 61, "his-db01", "legacy other hospital"},
                         {"hot", "h1", "CCCCCCCCCCCCCCCC", 62, "pacs01", "legacy 患者 tail row"}};
  for (const Legacy& r : rows) {
    const std::int64_t t = (kDay0 + core::Minutes(r.minute)).ns;
    const std::string doc = std::string("{\"time\":\"x\",\"raw\":\"<13>") + r.message + "\",\"fields\":{\"host.name\":\"" +
                            r.host + "\",\"message\":\"" + r.message + "\"}}";
    auto st = (*db)->Prepare(std::string("INSERT INTO ") + r.table +
                             " (tenant_id, id, time, ingest_time, source, host_name, doc) VALUES (?, ?, ?, ?, 'old', ?, ?)");
    ASSERT_TRUE(st.ok());
    ASSERT_TRUE((*st)->BindAll(r.tenant, LegacyId(t, r.id), t, t, r.host, doc).ok());
    ASSERT_TRUE((*st)->Run().ok());
  }
}

TEST_F(BlockStoreTest, PreparedOnOtherThreadsAndGroupCommitsAnswerAsWrite) {
  // The pipeline prepares (encodes) batches on its parse workers, in parallel, and writes them in
  // its own order: the same events as plain Writes, whatever thread prepared which batch.
  std::vector<Batch> batches(12);
  GenerateInto(600, 21, [&](int i) -> Batch& { return batches[static_cast<std::size_t>(i % 12)]; });
  OpenWith({.sync_full = false});
  for (const Batch& b : batches) ASSERT_TRUE(store_->Write(b).ok());
  const auto want = AllAnswers(false);

  TempDir prepared_dir;
  OpenWith({.sync_full = false}, prepared_dir.path());
  std::vector<std::shared_ptr<const event::PreparedBatch>> prepared(batches.size());
  {
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < 3; ++t)
      threads.emplace_back([&, t] {
        for (std::size_t i = t; i < batches.size(); i += 3) prepared[i] = store_->Prepare(batches[i]);
      });
    for (auto& t : threads) t.join();
  }
  // Newest first: the last four one by one, the rest as group commits of four (each group spans
  // both days and both tenants: one transaction per partition).
  for (std::size_t i = batches.size(); i-- > 8;) {
    ASSERT_NE(prepared[i], nullptr);
    ASSERT_TRUE(store_->WritePrepared(batches[i], prepared[i].get()).ok());
  }
  for (std::size_t first : {4, 0}) {
    std::vector<event::PreparedWrite> group;
    for (std::size_t i = first; i < first + 4; ++i) group.push_back({&batches[i], prepared[i].get()});
    group[1].prepared = nullptr;  // one unprepared: prepared by the group write itself
    ASSERT_TRUE(store_->WriteGroup(group).ok());
  }
  ExpectSameAnswers(want, AllAnswers(false), "prepared batches and group commits");
  // Nothing prepared: WritePrepared is Write.
  ASSERT_TRUE(store_->WritePrepared(Generated(5, 22), nullptr).ok());
  EXPECT_EQ(*store_->Count(TenantScope::Of("h1"), Q("")) + *store_->Count(TenantScope::Of("h2"), Q("")), 605);
}

TEST_F(BlockStoreTest, LegacyRowPartitionsAreConvertedToBlocksOnOpen) {
  std::filesystem::create_directories(dir_.path() + "/events");
  WriteLegacyPartition(dir_.path() + "/events/2024-03-01.db");
  OpenWith({.sync_full = false});
  using V = std::vector<std::string>;
  EXPECT_EQ(Messages("h1", "legacy"), (V{"legacy login failed for admin", "legacy 患者 tail row"}));
  EXPECT_EQ(Messages("h1", "host.name:HIS-DB01"), V{"legacy login failed for admin"});
  EXPECT_EQ(Messages("h1", "患者"), V{"legacy 患者 tail row"});
  EXPECT_EQ(Messages("h1", "raw:*legacy*").size(), 2u);
  EXPECT_EQ(Messages("h2", "legacy"), V{"legacy other hospital"});
  const std::string tail_id = LegacyId((kDay0 + core::Minutes(62)).ns, "CCCCCCCCCCCCCCCC");
  auto got = store_->Get(TenantScope::Of("h1"), tail_id);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_EQ(got->json.rfind("{\"id\":\"" + tail_id + "\"", 0), 0u) << got->json;  // ids are kept
  EXPECT_NE(got->json.find("tail row"), std::string::npos);
  EXPECT_FALSE(store_->Get(TenantScope::Of("h1"), LegacyId((kDay0 + core::Minutes(61)).ns, "BBBBBBBBBBBBBBBB")).ok());
  EXPECT_TRUE(store_->Get(TenantScope::Of("h2"), LegacyId((kDay0 + core::Minutes(61)).ns, "BBBBBBBBBBBBBBBB")).ok());
  auto db = sqlite::Database::Open(dir_.path() + "/events/2024-03-01.db", {});
  auto st = (*db)->Prepare("SELECT (SELECT count(*) FROM sqlite_master WHERE name IN ('events', 'hot', 'events_fts')), "
                           "(SELECT sum(count) FROM blocks)");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(*(*st)->Step());
  EXPECT_EQ((*st)->ColumnInt64(0), 0);
  EXPECT_EQ((*st)->ColumnInt64(1), 3);
  // New events go to the converted partition.
  Batch b;
  Add(b, {.time = kDay0 + core::Hours(3), .message = "after conversion"});
  ASSERT_TRUE(store_->Write(b).ok());
  EXPECT_EQ(*store_->Count(TenantScope::Of("h1"), Q("")), 3);
}

TEST_F(BlockStoreTest, PartitionsIndexedUnderOtherTermRulesAreReindexedOnOpen) {
  OpenWith({.sync_full = false});
  ASSERT_TRUE(store_->Write(Generated(400, 5)).ok());
  const auto want = AllAnswers(true);
  store_.reset();
  // What an older medsoc leaves: documents made under other rules (here: words no query asks
  // for), recorded as terms version 1, or without a version at all.
  for (const char* day : {"2024-03-01", "2024-03-02"}) {
    auto db = sqlite::Database::Open(dir_.path() + "/events/" + day + ".db", {});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(RegisterEventFunctions((*db)->raw()).ok());
    const std::string version = std::string(day) == "2024-03-01"
                                    ? "UPDATE meta SET value = 1 WHERE key = 'terms_version';"
                                    : "DELETE FROM meta WHERE key = 'terms_version';";
    ASSERT_TRUE((*db)->ExecScript("INSERT INTO block_terms (block_terms) VALUES ('delete-all');"
                                  "INSERT INTO block_terms (rowid, terms) SELECT id, 'stale' FROM blocks;" + version)
                    .ok());
  }
  OpenWith({.sync_full = false});
  ExpectSameAnswers(want, AllAnswers(true), "after re-indexing");
  for (const char* day : {"2024-03-01", "2024-03-02"}) {
    auto db = sqlite::Database::Open(dir_.path() + "/events/" + day + ".db", {});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(RegisterEventFunctions((*db)->raw()).ok());
    auto st = (*db)->Prepare("SELECT value FROM meta WHERE key = 'terms_version'");
    ASSERT_TRUE(st.ok());
    ASSERT_TRUE(*(*st)->Step());
    EXPECT_EQ((*st)->ColumnInt64(0), kBlockTermsVersion) << day;
    EXPECT_TRUE((*db)->ExecScript("INSERT INTO block_terms (block_terms) VALUES ('integrity-check');").ok()) << day;
  }
}

TEST_F(BlockStoreTest, CorruptBlocksAreReportedNotSkipped) {
  OpenWith({.sync_full = false});
  ASSERT_TRUE(store_->Write(Generated(50, 4)).ok());
  {
    auto db = sqlite::Database::Open(dir_.path() + "/events/2024-03-01.db", {});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->ExecScript("UPDATE blocks SET data = substr(data, 1, length(data) / 2)").ok());
  }
  OpenWith({.sync_full = false});
  // The day with the damaged blocks is part of the answer: an error naming the problem, not a
  // silently shorter result.
  auto page = store_->Search(TenantScope::Of("h1"), Q(""));
  ASSERT_FALSE(page.ok());
  EXPECT_NE(page.error().ToString().find("event block"), std::string::npos) << page.error().ToString();
  EXPECT_FALSE(store_->Count(TenantScope::Of("h1"), Q("@timestamp:2024-03-01")).ok());
  EXPECT_TRUE(store_->Count(TenantScope::Of("h1"), Q("@timestamp:2024-03-02")).ok());
}

TEST_F(BlockStoreTest, RetentionReportsTheEventsOfDroppedPartitions) {
  OpenWith({.sync_full = false});
  ASSERT_TRUE(store_->Write(Generated(300, 9)).ok());
  auto parts = store_->Partitions();
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 2u);
  std::int64_t events = 0;
  for (const auto& p : *parts) events += p.events;
  EXPECT_EQ(events, 300);
  store_.reset();
  auto s = SqliteEventStore::Open(dir_.path(), {.retention_days = 1}, {.sync_full = false});
  ASSERT_TRUE(s.ok());
  auto report = (*s)->ApplyRetention(kDay0 + core::Days(2) + core::Hours(1));
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->dropped.size(), 1u);
  EXPECT_EQ(report->dropped[0].day, "2024-03-01");
  EXPECT_EQ(report->dropped[0].events, (*parts)[0].events);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/events/2024-03-01.db"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/events/2024-03-02.db"));
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
