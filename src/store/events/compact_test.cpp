// Compaction of small event blocks (SqliteEventStore::CompactBlocks): trickle writes merged into
// full blocks on real SQLite files, every query answering exactly as before, the term index kept
// consistent, partitions indexed under other term rules left alone, and writes running alongside.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "event/batch.h"
#include "event/field.h"
#include "store/events/block.h"
#include "store/events/sqlite_event_store.h"
#include "store/events/tokenizer.h"
#include "store/sqlite/db.h"

namespace medsoc::store::events {
namespace {

using event::Batch;
using event::IpAddress;
using event::Value;

// 2024-03-01T00:00:00Z
const core::Timestamp kDay0 = core::Timestamp::FromSeconds(1'709'251'200);
const char* kDays[] = {"2024-03-01", "2024-03-02"};

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/medsoc-compact-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

event::FieldId F(std::string_view name) { return *event::DefaultFieldTable().Intern(name); }

// One generated event of `tenant`: words (ASCII and CJK) naming its tenant, host, user, address,
// port, sometimes a raw text that differs from the message, on either day.
void AddEvent(Batch& b, std::mt19937& rng, const std::string& tenant, int i) {
  static const char* kWords[] = {"login", "failed", "accepted", "denied", "session", "opened", "患者", "就诊记录",
                                 "挂号", "导出", "Firewall", "drop", "policy"};
  std::string msg = "for-" + tenant;
  const int words = 1 + static_cast<int>(rng() % 4);
  for (int w = 0; w < words; ++w) {
    msg += w == 0 || rng() % 3 != 0 ? " " : "";  // "for-h1" stays a word of its own
    msg += kWords[rng() % 13];
  }
  if (i % 97 == 13) msg += " xyzzy";  // a rare word
  const core::Timestamp t = kDay0 + core::Minutes(static_cast<std::int64_t>(rng() % (2 * 24 * 60)));
  event::Event& e = b.Add();
  e.set_tenant_id(tenant);
  e.set_time(t);
  e.set_ingest_time(t + core::Seconds(1));
  e.set_source_name("test");
  e.set_raw(rng() % 5 == 0 ? "<13>" + msg + " raw-only-" + std::to_string(rng() % 3) : msg);
  e.SetString(F("message"), msg);
  e.SetString(F("host.name"), "host" + std::to_string(rng() % 7));
  if (rng() % 4 != 0) e.SetString(F("user.name"), "user" + std::to_string(rng() % 5));
  e.Set(F("source.ip"), Value::Ip(*IpAddress::Parse("10.0." + std::to_string(rng() % 4) + "." + std::to_string(rng() % 250))));
  e.Set(F("source.port"), Value::Int(static_cast<std::int64_t>(rng() % 3000)));
  e.SetString(F("observer.vendor"), rng() % 2 ? "Hillstone" : "Huawei");
}

// `writes` batches of 1 to 3 events, each of tenant h1 (two thirds) or h2.
std::vector<Batch> Trickle(int writes, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<Batch> out(static_cast<std::size_t>(writes));
  int i = 0;
  for (Batch& b : out) {
    const int n = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < n; ++k, ++i) AddEvent(b, rng, rng() % 3 == 0 ? "h2" : "h1", i);
  }
  return out;
}

const char* kQueries[] = {"", "login", "LOGIN", "failed", "xyzzy", "患者", "就诊", "诊", "挂号导出", "\"login failed\"",
                          "log*", "raw-only-1", "message:denied", "login AND host.name:host3",
                          "xyzzy AND NOT user.name:*", "login OR xyzzy", "NOT login", "NOT (login OR 患者)",
                          "患者 AND source.ip:10.0.1.0/24", "denied AND source.port:[100 TO 900]", "host.name:HOST*",
                          "user.name:USER2", "source.ip:10.0.2.0/24", "source.ip:10.0.3.7", "source.port:1234",
                          "observer.vendor:huawei AND session", "*ogin fail*", "@timestamp:2024-03-02 AND opened",
                          "for-h1", "for-h2"};

class CompactTest : public ::testing::Test {
 protected:
  void OpenWith(SqliteEventStoreSettings settings = {.sync_full = false}) {
    store_.reset();
    auto s = SqliteEventStore::Open(dir_.path(), {.retention_days = 100000}, settings);
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

  MaintenanceReport Compact() {
    auto r = store_->CompactBlocks(kDay0 + core::Days(3));
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() ? *r : MaintenanceReport{};
  }

  // Every answer of every query kind, with ids and whole JSON, as one text per query and tenant.
  std::map<std::string, std::string> AllAnswers() {
    std::map<std::string, std::string> all;
    for (const char* q : kQueries) {
      for (const char* tenant : {"h1", "h2"}) {
        std::string out;
        const TenantScope scope = TenantScope::Of(tenant);
        EventQuery eq = Q(q, 37);  // several pages: cursors across blocks
        while (true) {
          auto page = store_->Search(scope, eq);
          if (!page.ok()) {
            out += "error: " + page.error().ToString();
            break;
          }
          for (const auto& e : page->items) out += e.json + "|" + e.raw_bytes + "\n";
          if (page->next_cursor.empty()) break;
          eq.cursor = page->next_cursor;
        }
        auto count = store_->Count(scope, Q(q));
        out += "count " + (count.ok() ? std::to_string(*count) : count.error().ToString()) + "\nhistogram";
        for (std::int64_t interval : {core::Hours(6), core::Minutes(7)}) {
          EventQuery hq = Q(q);
          hq.from = kDay0 + core::Minutes(13);  // bucket and window edges inside blocks
          hq.to = kDay0 + core::Days(2) - core::Minutes(29);
          auto hist = store_->Histogram(scope, hq, interval);
          if (!hist.ok()) return {{"error", hist.error().ToString()}};
          for (const auto& b : *hist) out += " " + std::to_string(b.count);
        }
        EventQuery cq = Q(q);
        cq.from = kDay0 + core::Hours(5);
        cq.to = kDay0 + core::Hours(30);
        auto window = store_->Count(scope, cq);
        out += "\nwindow " + (window.ok() ? std::to_string(*window) : window.error().ToString()) + "\nexport";
        EXPECT_TRUE(store_->Export(scope, Q(q), [&](const StoredEvent& e) {
                             out += " " + std::to_string(e.time.ns) + e.id;
                             return true;
                           }).ok());
        all[std::string(tenant) + " " + q] = out;
      }
    }
    return all;
  }

  // Every event by id (Get), per tenant, and that the other tenant cannot get it.
  std::map<std::string, std::string> AllGets() {
    std::map<std::string, std::string> out;
    for (const char* tenant : {"h1", "h2"}) {
      const std::string other = std::string(tenant) == "h1" ? "h2" : "h1";
      EXPECT_TRUE(store_->Export(TenantScope::Of(tenant), Q(""), [&](const StoredEvent& e) {
                           auto got = store_->Get(TenantScope::Of(tenant), e.id);
                           out[e.id] = got.ok() ? got->json : got.error().ToString();
                           EXPECT_FALSE(store_->Get(TenantScope::Of(other), e.id).ok()) << e.id;
                           return true;
                         }).ok());
    }
    return out;
  }

  std::unique_ptr<sqlite::Database> Db(const std::string& day) {
    auto db = sqlite::Database::Open(dir_.path() + "/events/" + day + ".db", {});
    EXPECT_TRUE(db.ok());
    if (!db.ok()) return nullptr;
    EXPECT_TRUE(RegisterEventFunctions((*db)->raw()).ok());  // the term index's tokenizer
    return std::move(*db);
  }

  std::int64_t Scalar(const std::string& day, const std::string& sql) {
    auto db = Db(day);
    if (db == nullptr) return -1;
    auto st = db->Prepare(sql);
    EXPECT_TRUE(st.ok()) << sql << ": " << st.error().ToString();
    if (!st.ok()) return -1;
    auto row = (*st)->Step();
    EXPECT_TRUE(row.ok() && *row) << sql;
    return (*st)->ColumnInt64(0);
  }

  std::int64_t Blocks() {
    std::int64_t n = 0;
    for (const char* d : kDays) n += Scalar(d, "SELECT count(*) FROM blocks");
    return n;
  }

  // Checks one partition's blocks and term index in depth:
  //  - each block holds one tenant, its row matches its data (tenant, count, times), and each of its
  //    events names that tenant;
  //  - FTS5's integrity check passes, its row count equals the number of blocks, and for every term
  //    the number of documents holding it (fts5vocab) equals the number of blocks whose events make
  //    it: a replaced block's document was deleted with exactly its terms.
  void ExpectConsistent(const std::string& day) {
    auto db = Db(day);
    ASSERT_NE(db, nullptr);
    std::map<std::string, std::int64_t> want_docs;
    std::int64_t blocks = 0;
    {
      auto st = db->Prepare("SELECT id, tenant_id, count, min_time, max_time, data FROM blocks");
      ASSERT_TRUE(st.ok());
      BlockReader reader;
      BlockWriter alone;
      BlockRow row{};
      while (*(*st)->Step()) {
        ++blocks;
        const std::string tenant = (*st)->ColumnText(1);
        ASSERT_TRUE(reader.Open((*st)->ColumnBlob(5)).ok());
        EXPECT_EQ(reader.tenant(), tenant);
        EXPECT_EQ(static_cast<std::int64_t>(reader.rows()), (*st)->ColumnInt64(2));
        while (*reader.Next(row)) {
          EXPECT_NE(row[kDoc].s.find("for-" + tenant), std::string_view::npos) << "block " << (*st)->ColumnInt64(0);
          alone.Add(row);
        }
        EXPECT_EQ(alone.min_time(), (*st)->ColumnInt64(3));
        EXPECT_EQ(alone.max_time(), (*st)->ColumnInt64(4));
        auto done = alone.Finish();
        ASSERT_TRUE(done.ok());
        std::string_view terms = done->terms;
        for (std::size_t nl; (nl = terms.find('\n')) != std::string_view::npos; terms.remove_prefix(nl + 1))
          ++want_docs[std::string(terms.substr(0, nl))];
      }
    }
    EXPECT_TRUE(db->ExecScript("INSERT INTO block_terms (block_terms) VALUES ('integrity-check')").ok());
    {
      // The FTS5 "averages" record: a varint of the number of documents first.
      auto st = db->Prepare("SELECT block FROM block_terms_data WHERE id = 1");
      ASSERT_TRUE(st.ok());
      ASSERT_TRUE(*(*st)->Step());
      const std::string rec = (*st)->ColumnBlob(0);
      std::uint64_t docs = 0;
      for (std::size_t i = 0; i < rec.size() && i < 9; ++i) {
        const auto b = static_cast<unsigned char>(rec[i]);
        docs = (docs << 7) | (b & 0x7F);
        if ((b & 0x80) == 0) break;
      }
      EXPECT_EQ(static_cast<std::int64_t>(docs), blocks) << day;
    }
    ASSERT_TRUE(db->ExecScript("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, block_terms, 'row')").ok());
    std::map<std::string, std::int64_t> got_docs;
    {
      auto st = db->Prepare("SELECT term, doc FROM temp.vocab");
      ASSERT_TRUE(st.ok());
      while (*(*st)->Step()) got_docs[(*st)->ColumnText(0)] = (*st)->ColumnInt64(1);
    }
    EXPECT_FALSE(want_docs.empty());
    EXPECT_EQ(got_docs.size(), want_docs.size()) << day;
    std::size_t shown = 0;
    for (const auto& [term, n] : want_docs) {
      auto it = got_docs.find(term);
      const std::int64_t got = it == got_docs.end() ? 0 : it->second;
      if (got != n && ++shown <= 10) ADD_FAILURE() << day << ": term " << term << " in " << n << " blocks, index says " << got;
    }
  }

  TempDir dir_;
  std::unique_ptr<SqliteEventStore> store_;
};

TEST_F(CompactTest, TrickleWritesAreMergedAndEveryAnswerStaysTheSame) {
  OpenWith();
  std::map<std::string, int> per_tenant;
  for (const Batch& b : Trickle(500, 1)) {
    ASSERT_TRUE(store_->Write(b).ok());
    for (const auto& e : b) ++per_tenant[std::string(e.tenant_id())];
  }
  const std::int64_t before = Blocks();
  EXPECT_GT(before, 500);
  const auto answers = AllAnswers();
  const auto gets = AllGets();
  EXPECT_EQ(gets.size(), static_cast<std::size_t>(per_tenant["h1"] + per_tenant["h2"]));
  EXPECT_EQ(answers.at("h1 xyzzy").find("count 0\n"), std::string::npos);  // the rare word occurs
  EXPECT_EQ(answers.at("h2 for-h1").find("count 0\n"), 0u);

  const MaintenanceReport report = Compact();
  // About 1,000 events: one block per day and tenant.
  EXPECT_EQ(Blocks(), 4);
  EXPECT_EQ(report.blocks_merged, static_cast<std::uint64_t>(before));
  EXPECT_EQ(report.blocks_written, 4u);
  for (const char* d : kDays) {
    EXPECT_EQ(Scalar(d, "SELECT count(DISTINCT tenant_id) FROM blocks"), 2);
    ExpectConsistent(d);
  }
  EXPECT_EQ(Scalar(kDays[0], "SELECT sum(count) FROM blocks WHERE tenant_id = 'h2'") +
                Scalar(kDays[1], "SELECT sum(count) FROM blocks WHERE tenant_id = 'h2'"),
            per_tenant["h2"]);

  const auto after = AllAnswers();
  for (const auto& [q, a] : answers) EXPECT_EQ(after.at(q), a) << "query " << q;
  EXPECT_EQ(AllGets(), gets);

  // Idempotent: nothing left to merge.
  const MaintenanceReport again = Compact();
  EXPECT_EQ(again.blocks_merged, 0u);
  EXPECT_EQ(Blocks(), 4);

  // The trickle goes on: the next pass folds the new blocks into the day's small block.
  for (const Batch& b : Trickle(20, 2)) ASSERT_TRUE(store_->Write(b).ok());
  EXPECT_GT(Blocks(), 4);
  EXPECT_GT(Compact().blocks_merged, 0u);
  EXPECT_EQ(Blocks(), 4);
  for (const char* d : kDays) ExpectConsistent(d);
  // A new store (no memory of earlier passes) finds nothing either.
  OpenWith();
  EXPECT_EQ(Compact().blocks_merged, 0u);
}

TEST_F(CompactTest, SmallBlockSizeMakesSeveralFullBlocksInBoundedTransactions) {
  // 64-event blocks: small means under 16 events.
  OpenWith({.sync_full = false, .block_rows = 64});
  std::int64_t events = 0;
  for (const Batch& b : Trickle(400, 3)) {
    ASSERT_TRUE(store_->Write(b).ok());
    events += static_cast<std::int64_t>(b.size());
  }
  const auto answers = AllAnswers();
  const auto gets = AllGets();
  const std::int64_t before = Blocks();
  const MaintenanceReport report = Compact();
  EXPECT_EQ(static_cast<std::int64_t>(report.blocks_merged), before);
  for (const char* d : kDays) {
    EXPECT_LE(Scalar(d, "SELECT max(count) FROM blocks"), 64);
    // Every merged block but the last of each tenant is nearly full.
    EXPECT_LE(Scalar(d, "SELECT count(*) FROM blocks WHERE count < 16"), 2);
    // (a block is closed when the next of at most 3 events does not fit: 62 events or more)
    EXPECT_LE(Scalar(d, "SELECT count(*) FROM blocks WHERE count < 62"), 2);
    ExpectConsistent(d);
  }
  EXPECT_EQ(Scalar(kDays[0], "SELECT sum(count) FROM blocks") + Scalar(kDays[1], "SELECT sum(count) FROM blocks"), events);
  EXPECT_LT(Blocks(), events / 40);
  const auto after = AllAnswers();
  for (const auto& [q, a] : answers) EXPECT_EQ(after.at(q), a) << "query " << q;
  EXPECT_EQ(AllGets(), gets);
  EXPECT_EQ(Compact().blocks_merged, 0u);
}

TEST_F(CompactTest, WordOfAnOldTinyBlockIsStillFoundAndTheStaleDocumentIsGone) {
  OpenWith();
  for (const Batch& b : Trickle(30, 4)) ASSERT_TRUE(store_->Write(b).ok());
  Batch lone;
  {
    event::Event& e = lone.Add();
    e.set_tenant_id("h1");
    e.set_time(kDay0 + core::Hours(2));
    e.set_ingest_time(kDay0 + core::Hours(2));
    e.set_raw("for-h1 quuxword once");
    e.SetString(F("message"), "for-h1 quuxword once");
    e.SetString(F("host.name"), "lonely-host");
  }
  ASSERT_TRUE(store_->Write(lone).ok());
  for (const Batch& b : Trickle(30, 5)) ASSERT_TRUE(store_->Write(b).ok());
  const std::int64_t old_doc =
      Scalar(kDays[0], "SELECT rowid FROM block_terms WHERE block_terms MATCH 'quuxword'");
  EXPECT_GT(old_doc, 0);
  EXPECT_GT(Compact().blocks_merged, 0u);
  // The word's document is now the merged block's; the tiny block's is gone.
  EXPECT_EQ(Scalar(kDays[0], "SELECT count(*) FROM block_terms WHERE block_terms MATCH 'quuxword'"), 1);
  const std::int64_t new_doc = Scalar(kDays[0], "SELECT rowid FROM block_terms WHERE block_terms MATCH 'quuxword'");
  EXPECT_NE(new_doc, old_doc);
  EXPECT_GT(Scalar(kDays[0], "SELECT count FROM blocks WHERE id = " + std::to_string(new_doc)), 1);
  EXPECT_EQ(Scalar(kDays[0], "SELECT count(*) FROM blocks WHERE id = " + std::to_string(old_doc)), 0);
  auto page = store_->Search(TenantScope::Of("h1"), Q("quuxword"));
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_NE(page->items[0].json.find("lonely-host"), std::string::npos);
  EXPECT_EQ(*store_->Count(TenantScope::Of("h1"), Q("host.name:lonely-host")), 1);
  EXPECT_EQ(*store_->Count(TenantScope::Of("h2"), Q("quuxword")), 0);
  ExpectConsistent(kDays[0]);
}

TEST_F(CompactTest, PartitionsIndexedUnderOtherTermRulesAreLeftAloneUntilReindexed) {
  OpenWith();
  for (const Batch& b : Trickle(100, 6)) ASSERT_TRUE(store_->Write(b).ok());
  EXPECT_EQ(Scalar(kDays[0], "SELECT value FROM meta WHERE key = 'terms_version'"), kBlockTermsVersion);
  EXPECT_EQ(Scalar(kDays[1], "SELECT value FROM meta WHERE key = 'terms_version'"), kBlockTermsVersion);
  const auto answers = AllAnswers();
  // Another process (an older medsoc) rewrote the partitions' term rules while this store has
  // them open: compaction cannot recompute those documents, so it leaves the partitions alone.
  ASSERT_TRUE(Db(kDays[0])->ExecScript("UPDATE meta SET value = value + 1 WHERE key = 'terms_version'").ok());
  ASSERT_TRUE(Db(kDays[1])->ExecScript("DELETE FROM meta WHERE key = 'terms_version'").ok());
  const std::int64_t day0 = Scalar(kDays[0], "SELECT count(*) FROM blocks");
  const std::int64_t day1 = Scalar(kDays[1], "SELECT count(*) FROM blocks");
  EXPECT_EQ(Compact().blocks_merged, 0u);
  EXPECT_EQ(Scalar(kDays[0], "SELECT count(*) FROM blocks"), day0);
  EXPECT_EQ(Scalar(kDays[1], "SELECT count(*) FROM blocks"), day1);
  // Opened again, a partition under other rules is re-indexed with the current ones, and then
  // compacted.
  store_.reset();
  OpenWith();
  EXPECT_EQ(AllAnswers(), answers);
  EXPECT_EQ(Scalar(kDays[0], "SELECT value FROM meta WHERE key = 'terms_version'"), kBlockTermsVersion);
  EXPECT_EQ(Scalar(kDays[1], "SELECT value FROM meta WHERE key = 'terms_version'"), kBlockTermsVersion);
  EXPECT_GT(Compact().blocks_merged, 0u);
  EXPECT_LT(Scalar(kDays[0], "SELECT count(*) FROM blocks"), day0);
  EXPECT_LT(Scalar(kDays[1], "SELECT count(*) FROM blocks"), day1);
  ExpectConsistent(kDays[0]);
  ExpectConsistent(kDays[1]);
  EXPECT_EQ(AllAnswers(), answers);
}

TEST_F(CompactTest, LargeBlocksAndALoneSmallBlockAreNotTouched) {
  OpenWith({.sync_full = false, .encode_threads = 1});
  std::mt19937 rng(7);
  Batch large1, large2, small;
  // Events of day 0 only: the generator spreads over two days, so pin the times.
  for (int i = 0; i < 600; ++i) AddEvent(large1, rng, "h1", i);
  for (int i = 0; i < 900; ++i) AddEvent(large2, rng, "h1", i);
  for (int i = 0; i < 5; ++i) AddEvent(small, rng, "h1", i);
  for (Batch* b : {&large1, &small, &large2})
    for (auto& e : *b) e.set_time(kDay0 + core::Minutes(static_cast<std::int64_t>(rng() % 1440)));
  ASSERT_TRUE(store_->Write(large1).ok());
  ASSERT_TRUE(store_->Write(small).ok());
  ASSERT_TRUE(store_->Write(large2).ok());
  auto ids = [&] {
    std::vector<std::int64_t> out;
    auto db = Db(kDays[0]);
    auto st = db->Prepare("SELECT id * 1000000 + count FROM blocks ORDER BY id");
    while (*(*st)->Step()) out.push_back((*st)->ColumnInt64(0));
    return out;
  };
  const auto before = ids();
  ASSERT_EQ(before.size(), 3u);
  const MaintenanceReport report = Compact();
  EXPECT_EQ(report.blocks_merged, 0u);
  EXPECT_EQ(report.blocks_written, 0u);
  EXPECT_EQ(ids(), before);
  // A second small block makes a run of two: merged, the large ones stay.
  Batch small2;
  AddEvent(small2, rng, "h1", 0);
  small2[0].set_time(kDay0 + core::Hours(3));
  ASSERT_TRUE(store_->Write(small2).ok());
  EXPECT_EQ(Compact().blocks_merged, 2u);
  const auto after = ids();
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after[0], before[0]);
  EXPECT_EQ(after[1], before[2]);
  EXPECT_EQ(after[2] % 1000000, 6);
  EXPECT_EQ(*store_->Count(TenantScope::Of("h1"), Q("")), 1506);
  ExpectConsistent(kDays[0]);
}

TEST_F(CompactTest, PartitionsConvertedFromRowsRecordTheirTermRulesAndAreCompacted) {
  // A schema 2 partition (one row per event) as an older medsoc wrote it: converted to blocks when
  // opened, indexed then with the current rules, so compaction may merge its blocks.
  std::filesystem::create_directories(dir_.path() + "/events");
  {
    auto db = sqlite::Database::Open(dir_.path() + "/events/" + kDays[0] + ".db", {});
    ASSERT_TRUE(db.ok());
    std::string cols;
    for (const ColumnField& c : ColumnFields())
      cols += std::string(c.column) + (c.type == ColumnType::kLong ? " INTEGER, " : c.type == ColumnType::kIp ? " BLOB, " : " TEXT, ");
    ASSERT_TRUE((*db)->ExecScript("CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB);"
                                  "CREATE TABLE events (tenant_id TEXT NOT NULL, id TEXT NOT NULL, time INTEGER NOT NULL, "
                                  "ingest_time INTEGER NOT NULL, source TEXT, " + cols +
                                  "parse_error TEXT, raw_bytes BLOB, zflags INTEGER NOT NULL DEFAULT 0, doc BLOB NOT NULL);"
                                  "PRAGMA user_version = 2;").ok());
    for (int i = 0; i < 3; ++i) {
      const std::int64_t t = (kDay0 + core::Minutes(60 + i)).ns;
      // Id: the time's milliseconds in 10 Crockford base32 characters, then 16 more.
      static constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
      std::string id(10, '0');
      auto ms = static_cast<std::uint64_t>(t / 1'000'000);
      for (int k = 9; k >= 0; --k, ms >>= 5) id[static_cast<std::size_t>(k)] = kCrockford[ms & 31];
      id += std::string(16, static_cast<char>('A' + i));
      const std::string msg = "for-h1 legacy converted row" + std::to_string(i);
      auto st = (*db)->Prepare("INSERT INTO events (tenant_id, id, time, ingest_time, source, host_name, doc) "
                               "VALUES ('h1', ?, ?, ?, 'old', 'his-db01', ?)");
      ASSERT_TRUE(st.ok());
      ASSERT_TRUE((*st)->BindAll(id, t, t, "{\"raw\":\"" + msg + "\",\"fields\":{\"message\":\"" + msg + "\"}}").ok());
      ASSERT_TRUE((*st)->Run().ok());
    }
  }
  OpenWith();
  EXPECT_EQ(*store_->Count(TenantScope::Of("h1"), Q("legacy")), 3);  // converted on open
  EXPECT_EQ(Scalar(kDays[0], "SELECT value FROM meta WHERE key = 'terms_version'"), kBlockTermsVersion);
  EXPECT_EQ(Scalar(kDays[0], "SELECT count(*) FROM blocks"), 1);
  for (const Batch& b : Trickle(40, 12)) ASSERT_TRUE(store_->Write(b).ok());
  const auto answers = AllAnswers();
  EXPECT_GT(Compact().blocks_merged, 0u);
  EXPECT_EQ(Scalar(kDays[0], "SELECT count(*) FROM blocks WHERE tenant_id = 'h1'"), 1);
  EXPECT_EQ(AllAnswers(), answers);
  EXPECT_EQ(*store_->Count(TenantScope::Of("h1"), Q("host.name:his-db01 AND legacy")), 3);
  ExpectConsistent(kDays[0]);
}

TEST_F(CompactTest, RecompressedBlocksStayRecompressed) {
  OpenWith();
  for (const Batch& b : Trickle(120, 8)) ASSERT_TRUE(store_->Write(b).ok());
  // Day 0 recompressed (level 2), then more trickle on it (level 1) and on day 1.
  store_.reset();
  {
    auto s = SqliteEventStore::Open(dir_.path(), {.retention_days = 100000, .compress_after_days = 1}, {.sync_full = false});
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
  }
  auto compressed = store_->CompressOld(kDay0 + core::Days(2) + core::Hours(1));
  ASSERT_TRUE(compressed.ok()) << compressed.error().ToString();
  ASSERT_EQ(compressed->compressed, std::vector<std::string>{kDays[0]});
  for (const Batch& b : Trickle(60, 9)) ASSERT_TRUE(store_->Write(b).ok());
  const auto answers = AllAnswers();
  EXPECT_GT(Compact().blocks_merged, 0u);
  // Per tenant one block of each level.
  EXPECT_EQ(Scalar(kDays[0], "SELECT count(*) FROM blocks WHERE level = 2"), 2);
  EXPECT_EQ(Scalar(kDays[0], "SELECT count(*) FROM blocks WHERE level = 1"), 2);
  EXPECT_EQ(AllAnswers(), answers);
  ExpectConsistent(kDays[0]);
}

TEST_F(CompactTest, RunMaintenanceCompactsAndReports) {
  OpenWith();
  for (const Batch& b : Trickle(50, 10)) ASSERT_TRUE(store_->Write(b).ok());
  const std::int64_t before = Blocks();
  auto report = store_->RunMaintenance(kDay0 + core::Days(2));
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_EQ(static_cast<std::int64_t>(report->blocks_merged), before);
  EXPECT_EQ(report->blocks_written, 4u);
  EXPECT_EQ(Blocks(), 4);
}

TEST_F(CompactTest, WritesAlongsideCompactionLoseNothing) {
  OpenWith({.sync_full = false, .block_rows = 64});
  const std::vector<Batch> batches = Trickle(600, 11);
  std::map<std::string, std::int64_t> written;
  for (const Batch& b : batches)
    for (const auto& e : b) ++written[std::string(e.tenant_id())];
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (const Batch& b : batches) EXPECT_TRUE(store_->Write(b).ok());
    done = true;
  });
  int passes = 0;
  std::uint64_t merged = 0;
  while (!done) {
    merged += Compact().blocks_merged;
    ++passes;
    // Readers alongside too: never more events than written.
    auto n = store_->Count(TenantScope::Of("h1"), Q(""));
    ASSERT_TRUE(n.ok());
    EXPECT_LE(*n, written["h1"]);
  }
  writer.join();
  merged += Compact().blocks_merged;
  EXPECT_GT(passes, 0);
  EXPECT_GT(merged, 0u);
  std::set<std::string> ids;
  for (const char* tenant : {"h1", "h2"}) {
    EXPECT_EQ(*store_->Count(TenantScope::Of(tenant), Q("")), written[tenant]);
    EXPECT_EQ(*store_->Count(TenantScope::Of(tenant), Q(std::string("for-") + tenant)), written[tenant]);
    EXPECT_TRUE(store_->Export(TenantScope::Of(tenant), Q(""), [&](const StoredEvent& e) {
                         EXPECT_TRUE(ids.insert(e.id).second) << "repeated " << e.id;
                         return true;
                       }).ok());
  }
  EXPECT_EQ(static_cast<std::int64_t>(ids.size()), written["h1"] + written["h2"]);
  for (const char* d : kDays) {
    EXPECT_LE(Scalar(d, "SELECT count(*) FROM blocks WHERE count < 16"), 2);
    ExpectConsistent(d);
  }
}

}  // namespace
}  // namespace medsoc::store::events
