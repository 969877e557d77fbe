// Event store benchmarks, each against a baseline measured in the same run:
//
//   Write            SqliteEventStore::Write of 1,000-event batches (one block each: encoding, zstd,
//                    one row and one FTS5 document of its terms), synchronous=NORMAL and FULL
//   WriteRowPerEvent baseline of Write: one event per block (a row and an FTS5 document per event)
//   WriteGrouped     group commit: 20,000 events per Write
//   PlainInsert      baseline: the same rows (tenant, time, doc JSON) INSERTed into a table with no
//                    index and no FTS, 1,000 per transaction, through the same Database layer
//   FirstPage*       a one-day query's first page (100 events) over MEDSOC_BENCH_EVENTS stored
//                    events (default 2,000,000, one day) with an indexed field filter, with a rare
//                    free-text term, with a common free-text term and with a column filter
//   ScanFirstPage    baseline: the indexed filter's predicate on the same value through the event
//                    JSON (json_each), i.e. a scan of the day's blocks without the term index
//
// The summary at the end prints "<name>: X vs baseline Y = ratio". Data lives under /tmp, removed
// at exit.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "event/batch.h"
#include "event/field.h"
#include "event/json.h"
#include "store/events/sqlite_event_store.h"
#include "store/sqlite/db.h"

namespace {

using namespace medsoc;
using store::events::EventQuery;
using store::events::SqliteEventStore;

const core::Timestamp kDay = core::Timestamp::FromSeconds(1'709'251'200);  // 2024-03-01

class BenchDir {
 public:
  BenchDir() {
    char tmpl[] = "/tmp/medsoc-events-bench-XXXXXX";
    path_ = ::mkdtemp(tmpl) != nullptr ? tmpl : "";
  }
  ~BenchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  std::string Sub(const std::string& name) const {
    std::filesystem::create_directories(path_ + "/" + name);
    return path_ + "/" + name;
  }

 private:
  std::string path_;
};

BenchDir& Dir() {
  static BenchDir dir;
  return dir;
}

std::map<std::string, double>& Rates() {
  static std::map<std::string, double> rates;
  return rates;
}

event::FieldId F(const char* name) { return *event::DefaultFieldTable().Intern(name); }

const char* kWords[] = {"accepted", "denied", "session", "opened", "closed", "policy", "firewall", "connection",
                        "timeout", "reset", "login", "query", "patient", "record", "患者", "挂号", "登录", "失败"};

// A synthetic but realistic mix: firewall, sshd and HIS application events.
void Fill(event::Batch& b, std::int64_t first, int n, std::int64_t span_ns, std::int64_t total) {
  static const auto host = F("host.name"), user = F("user.name"), sip = F("source.ip"), dip = F("destination.ip"),
                    sport = F("source.port"), dport = F("destination.port"), code = F("event.code"),
                    action = F("event.action"), outcome = F("event.outcome"), msg = F("message"),
                    computer = F("winlog.computer"), vendor = F("observer.vendor");
  b.Clear();
  char buf[512];
  for (int i = 0; i < n; ++i) {
    const std::int64_t k = first + i;
    auto& e = b.Add();
    e.set_tenant_id("default");
    e.set_time(kDay + (total > 0 ? (k % total) * (span_ns / total) : 0));
    e.set_ingest_time(e.time());
    e.set_source_name("syslog-udp-514");
    const std::string h = "host-" + std::to_string(k % 1000);
    const char* w1 = kWords[k % 18];
    const char* w2 = kWords[(k / 18) % 18];
    // One event in 100,000 carries a rare word.
    const char* rare = k % 100000 == 7 ? " xyzzyrare" : "";
    std::snprintf(buf, sizeof buf, "<134>Mar  1 10:00:00 %s app[%lld]: %s %s from 10.%lld.%lld.%lld port %lld%s", h.c_str(),
                  static_cast<long long>(k % 30000), w1, w2, static_cast<long long>(k % 200), static_cast<long long>(k / 200 % 250),
                  static_cast<long long>(k % 250), static_cast<long long>(1024 + k % 60000), rare);
    e.set_raw(buf);
    e.Set(msg, event::Value::String(e.raw().substr(e.raw().find(": ") + 2)));
    e.SetString(host, h);
    e.SetString(computer, h);
    e.SetString(user, "user" + std::to_string(k % 5000));
    e.Set(sip, event::Value::Ip(event::IpAddress::V4(0x0A000000u | static_cast<std::uint32_t>(k % 65536))));
    e.Set(dip, event::Value::Ip(event::IpAddress::V4(0xC0A80000u | static_cast<std::uint32_t>(k % 256))));
    e.Set(sport, event::Value::Int(1024 + k % 60000));
    e.Set(dport, event::Value::Int(k % 3 == 0 ? 443 : 22));
    e.SetString(code, std::to_string(4600 + k % 50));
    e.SetString(action, w1);
    e.SetString(outcome, k % 7 == 0 ? "failure" : "success");
    e.SetString(vendor, "Hillstone");
  }
}


// The store as shipped: 1,000-event batches, each one block (encoding, zstd, one row, one FTS5
// document of the block's terms), synchronous=NORMAL and FULL.
// Writes `per_write`-event batches into `store` for as long as the benchmark runs.
void WriteBatches(benchmark::State& state, SqliteEventStore& store, int per_write) {
  event::Batch batch;
  std::int64_t n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    Fill(batch, n, per_write, core::Hours(1), 0);
    state.ResumeTiming();
    if (!store.Write(batch).ok()) state.SkipWithError("write failed");
    n += per_write;
  }
  state.SetItemsProcessed(n);
}

void BM_Write(benchmark::State& state) {
  const bool full = state.range(0) != 0;
  WriteBatches(state, **SqliteEventStore::Open(Dir().Sub(full ? "write-full" : "write-normal"), {}, {.sync_full = full}), 1000);
}
BENCHMARK(BM_Write)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(3);

// One event per block: what one SQLite row and one FTS5 document per event costs (the shape of the
// store before blocks, minus its five field indexes).
void BM_WriteRowPerEvent(benchmark::State& state) {
  WriteBatches(state, **SqliteEventStore::Open(Dir().Sub("row-per-event"), {}, {.sync_full = false, .block_rows = 1}), 1000);
}
BENCHMARK(BM_WriteRowPerEvent)->Unit(benchmark::kMillisecond)->MinTime(3);

// Group commit: 20,000 events per Write (one transaction, ten blocks).
void BM_WriteGrouped(benchmark::State& state) {
  WriteBatches(state, **SqliteEventStore::Open(Dir().Sub("grouped"), {}, {.sync_full = false}), 20000);
}
BENCHMARK(BM_WriteGrouped)->Unit(benchmark::kMillisecond)->MinTime(3);

void BM_PlainInsert(benchmark::State& state) {
  auto db = *store::sqlite::Database::Open(Dir().Sub("plain") + "/plain.db", {});
  (void)db->ExecScript("CREATE TABLE IF NOT EXISTS events (tenant_id TEXT, id TEXT, time INTEGER, doc BLOB)");
  event::Batch batch;
  std::int64_t n = 0;
  std::string doc;
  for (auto _ : state) {
    state.PauseTiming();
    Fill(batch, n, 1000, core::Hours(1), 0);
    state.ResumeTiming();
    auto tx = store::sqlite::Transaction::Begin(*db);
    for (const auto& e : batch) {
      doc.clear();
      event::AppendEventJson(e, doc);
      auto st = *db->Prepare("INSERT INTO events (tenant_id, id, time, doc) VALUES (?, ?, ?, ?)");
      (void)st->BindAll(e.tenant_id(), "01HZZZZZZZZZZZZZZZZZZZZZZZ", e.time().ns, doc);
      (void)st->Run();
    }
    (void)tx->Commit();
    n += 1000;
  }
  state.SetItemsProcessed(n);
}
BENCHMARK(BM_PlainInsert)->Unit(benchmark::kMillisecond)->MinTime(3);

std::int64_t StoredEvents() {
  const char* env = std::getenv("MEDSOC_BENCH_EVENTS");
  return env != nullptr ? std::atoll(env) : 2'000'000;
}

SqliteEventStore& QueryStore() {
  static std::unique_ptr<SqliteEventStore> store = [] {
    // Loaded in 2,000-event writes (the pipeline's batch): 2,048-event blocks at most.
    auto s = *SqliteEventStore::Open(Dir().Sub("query"), {}, {.sync_full = false});
    const std::int64_t total = StoredEvents();
    event::Batch batch;
    const auto t0 = std::chrono::steady_clock::now();
    for (std::int64_t n = 0; n < total; n += 2000) {
      Fill(batch, n, static_cast<int>(std::min<std::int64_t>(2000, total - n)), core::Days(1) - 1, total);
      if (!s->Write(batch).ok()) std::abort();
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto parts = *s->Partitions();
    std::fprintf(stderr, "loaded %lld events in %.1f s (%.0f/s), partition %.1f MB\n", static_cast<long long>(total), secs,
                 static_cast<double>(total) / secs, parts.empty() ? 0.0 : static_cast<double>(parts[0].bytes) / 1e6);
    return s;
  }();
  return *store;
}

void FirstPage(benchmark::State& state, const char* q) {
  auto& s = QueryStore();
  EventQuery eq;
  eq.query = q;
  eq.from = kDay;
  eq.to = kDay + core::Days(1);
  eq.limit = 100;
  std::size_t items = 0;
  for (auto _ : state) {
    auto page = s.Search(store::TenantScope::Of("default"), eq);
    if (!page.ok()) {
      state.SkipWithError(page.error().ToString().c_str());
      break;
    }
    items = page->items.size();
  }
  state.counters["items"] = static_cast<double>(items);
  state.counters["stored"] = static_cast<double>(StoredEvents());
}

void BM_FirstPageIndexedField(benchmark::State& s) { FirstPage(s, "host.name:host-42"); }
void BM_FirstPageColumnField(benchmark::State& s) { FirstPage(s, "event.outcome:failure AND destination.port:22"); }
void BM_FirstPageRareText(benchmark::State& s) { FirstPage(s, "xyzzyrare"); }
void BM_FirstPageCommonText(benchmark::State& s) { FirstPage(s, "denied 患者"); }
void BM_FirstPageCidr(benchmark::State& s) { FirstPage(s, "source.ip:10.0.1.0/24"); }
void BM_ScanFirstPage(benchmark::State& s) { FirstPage(s, "winlog.computer:host-42"); }
BENCHMARK(BM_FirstPageIndexedField)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FirstPageColumnField)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FirstPageRareText)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FirstPageCommonText)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FirstPageCidr)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ScanFirstPage)->Unit(benchmark::kMillisecond)->Iterations(3);

// Collects per-benchmark figures for the summary.
class Reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      auto it = r.counters.find("items_per_second");
      figures_[r.benchmark_name()] = it != r.counters.end() ? static_cast<double>(it->second)
                                                            : r.GetAdjustedRealTime();  // ms
    }
  }
  std::map<std::string, double> figures_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  Reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  auto& f = reporter.figures_;
  auto get = [&](const char* k) { return f.count(k) ? f[k] : 0.0; };
  std::printf("\nsummary:\n");
  const double plain = get("BM_PlainInsert/min_time:3.000");
  for (const char* w : {"BM_Write/0/min_time:3.000", "BM_Write/1/min_time:3.000", "BM_WriteRowPerEvent/min_time:3.000",
                        "BM_WriteGrouped/min_time:3.000"})
    if (get(w) > 0 && plain > 0)
      std::printf("  %s: %.0f events/s vs baseline plain INSERT %.0f/s = %.2f\n", w, get(w), plain, get(w) / plain);
  const double blocks = get("BM_Write/0/min_time:3.000"), rows = get("BM_WriteRowPerEvent/min_time:3.000");
  if (blocks > 0 && rows > 0)
    std::printf("  blocks: %.0f events/s vs baseline one block per event %.0f/s = %.1fx\n", blocks, rows, blocks / rows);
  const double scan = get("BM_ScanFirstPage/iterations:3");
  for (const char* q : {"BM_FirstPageIndexedField", "BM_FirstPageColumnField", "BM_FirstPageRareText",
                        "BM_FirstPageCommonText", "BM_FirstPageCidr"})
    if (get(q) > 0 && scan > 0)
      std::printf("  %s: %.2f ms vs baseline JSON scan %.1f ms = %.1fx faster\n", q, get(q), scan, scan / get(q));
  benchmark::Shutdown();
  return 0;
}
