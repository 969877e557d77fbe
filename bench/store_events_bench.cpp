// Event store benchmarks, each against a baseline measured in the same run:
//
//   Write            SqliteEventStore::Write of 1,000-event batches with deferred_indexing off
//                    (columns, 5 indexes, FTS5 with the medsoc tokenizer, JSON rendering, all per
//                    batch), synchronous=NORMAL and FULL: the baseline of WriteDeferred
//   WriteDeferred    the default: batches into the unindexed tail, plus the indexer's chunked
//                    work in the same thread (/x/1), or the acknowledged write alone (/0/0)
//   WriteGrouped     group commit: 20,000 events per Write, indexes and FTS inline
//   PlainInsert      baseline: the same rows (tenant, time, doc JSON) INSERTed into a table with no
//                    index and no FTS, 1,000 per transaction, through the same Database layer
//   FirstPage*       a one-day query's first page (100 events) over MEDSOC_BENCH_EVENTS stored
//                    events (default 2,000,000, one day) with an indexed field filter, with a rare
//                    free-text term, with a common free-text term and with a column filter; the
//                    newest MEDSOC_BENCH_TAIL (20,000) of them still in the unindexed tail
//   ScanFirstPage    baseline: the indexed filter's predicate on the same value through the event
//                    JSON (json_each), i.e. a scan of the day without an index
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


// Baseline: every Write updates the five field indexes and FTS5 itself (deferred_indexing off, the
// behaviour before 2026-11-22).
void BM_Write(benchmark::State& state) {
  const bool full = state.range(0) != 0;
  auto store = *SqliteEventStore::Open(Dir().Sub(full ? "write-full" : "write-normal"), {},
                                       {.sync_full = full, .deferred_indexing = false});
  event::Batch batch;
  std::int64_t n = 0;
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    state.PauseTiming();
    Fill(batch, n, 1000, core::Hours(1), 0);
    state.ResumeTiming();
    if (!store->Write(batch).ok()) state.SkipWithError("write failed");
    n += 1000;
  }
  (void)start;
  state.SetItemsProcessed(n);
}
BENCHMARK(BM_Write)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(3);

// Deferred indexing (the default): 1,000-event batches into the unindexed tail, and the indexer's
// work (moving 20,000-row chunks into the indexed table and FTS) done in this thread so that the
// CPU time per event includes it: each iteration writes 60 batches and then flushes the tail.
// BM_WriteTail (range(1) = 0) leaves out the indexing: the cost of the acknowledged write alone.
void BM_WriteDeferred(benchmark::State& state) {
  const bool full = state.range(0) != 0;
  const bool index = state.range(1) != 0;
  auto store = *SqliteEventStore::Open(Dir().Sub(std::string(full ? "deferred-full" : "deferred-normal") + (index ? "" : "-tail")),
                                       {}, {.sync_full = full, .max_tail_rows = 1u << 30, .background_indexer = false});
  event::Batch batch;
  std::int64_t n = 0;
  for (auto _ : state) {
    for (int i = 0; i < 60; ++i) {
      state.PauseTiming();
      Fill(batch, n, 1000, core::Hours(1), 0);
      state.ResumeTiming();
      if (!store->Write(batch).ok()) state.SkipWithError("write failed");
      n += 1000;
    }
    if (index && !store->FlushIndex().ok()) state.SkipWithError("indexing failed");
  }
  state.SetItemsProcessed(n);
}
BENCHMARK(BM_WriteDeferred)->Args({0, 1})->Args({1, 1})->Args({0, 0})->Unit(benchmark::kMillisecond)->MinTime(3);

// Group commit: the pipeline's queued batches coalesced into one Write (one transaction) of 20,000
// events, indexes and FTS updated inline (deferred_indexing off).
void BM_WriteGrouped(benchmark::State& state) {
  auto store = *SqliteEventStore::Open(Dir().Sub("grouped"), {}, {.sync_full = false, .deferred_indexing = false});
  event::Batch batch;
  std::int64_t n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    Fill(batch, n, 20000, core::Hours(1), 0);
    state.ResumeTiming();
    if (!store->Write(batch).ok()) state.SkipWithError("write failed");
    n += 20000;
  }
  state.SetItemsProcessed(n);
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

std::int64_t TailEvents() {
  const char* env = std::getenv("MEDSOC_BENCH_TAIL");
  const std::int64_t want = env != nullptr ? static_cast<std::int64_t>(std::atoll(env)) : 20'000;
  return std::min(StoredEvents(), want) / 1000 * 1000;
}

SqliteEventStore& QueryStore() {
  static std::unique_ptr<SqliteEventStore> store = [] {
    // No background indexer: the tail left after loading stays unindexed, so every query below also
    // scans a tail of MEDSOC_BENCH_TAIL rows (default 20,000, the indexer's chunk: the most a
    // query meets while the indexer keeps up).
    const std::int64_t tail = TailEvents();
    auto s = *SqliteEventStore::Open(Dir().Sub("query"), {},
                                     {.sync_full = false, .max_tail_rows = static_cast<std::size_t>(tail) + 1000,
                                      .background_indexer = false});
    const std::int64_t total = StoredEvents();
    event::Batch batch;
    const auto t0 = std::chrono::steady_clock::now();
    for (std::int64_t n = 0; n < total; n += 1000) {
      Fill(batch, n, static_cast<int>(std::min<std::int64_t>(1000, total - n)), core::Days(1) - 1, total);
      if (!s->Write(batch).ok()) std::abort();
      if (n + 1000 == total - tail && !s->FlushIndex().ok()) std::abort();
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
  for (const char* w : {"BM_Write/0/min_time:3.000", "BM_Write/1/min_time:3.000", "BM_WriteDeferred/0/1/min_time:3.000",
                        "BM_WriteDeferred/1/1/min_time:3.000", "BM_WriteDeferred/0/0/min_time:3.000",
                        "BM_WriteGrouped/min_time:3.000"})
    if (get(w) > 0 && plain > 0)
      std::printf("  %s: %.0f events/s vs baseline plain INSERT %.0f/s = %.2f\n", w, get(w), plain, get(w) / plain);
  for (const char* mode : {"0", "1"}) {
    const double inl = get((std::string("BM_Write/") + mode + "/min_time:3.000").c_str());
    const double def = get((std::string("BM_WriteDeferred/") + mode + "/1/min_time:3.000").c_str());
    if (inl > 0 && def > 0)
      std::printf("  deferred indexing (sync_full=%s): %.0f events/s vs baseline inline indexes %.0f/s = %.2fx\n", mode,
                  def, inl, def / inl);
  }
  const double scan = get("BM_ScanFirstPage/iterations:3");
  for (const char* q : {"BM_FirstPageIndexedField", "BM_FirstPageColumnField", "BM_FirstPageRareText",
                        "BM_FirstPageCommonText", "BM_FirstPageCidr"})
    if (get(q) > 0 && scan > 0)
      std::printf("  %s: %.2f ms vs baseline JSON scan %.1f ms = %.1fx faster\n", q, get(q), scan, scan / get(q));
  benchmark::Shutdown();
  return 0;
}
