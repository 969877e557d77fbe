// Benchmarks of the event model's hot paths, each with a baseline measured in the same run:
//  - field lookup by FieldId on an event with 40 fields, vs std::unordered_map<std::string,
//    std::string> lookup by a prebuilt std::string key (the "obvious" event representation);
//    both for fields present (hit) and absent (miss: detection asks for many fields an event
//    lacks). EventFind_* uses catalog-range ids (the direct table); EventFindOriginal_* the same
//    40 fields stored as vendor originals (the linear-scan path);
//  - filling and clearing a batch of 1024 events (raw line + 20 fields), vs a vector of
//    unordered_map<string, string> events refilled the same way.
// At the end the ratios baseline/medsoc of CPU time per iteration are printed (5 means medsoc is
// 5x faster); CPU time rather than wall time because a shared build machine is noisy.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "event/batch.h"
#include "event/event.h"
#include "event/field.h"
#include "event/json.h"

namespace medsoc::event {
namespace {

constexpr const char* kPresent[40] = {
    "@timestamp", "message", "event.kind", "event.category", "event.type", "event.action", "event.outcome",
    "event.code", "event.provider", "event.dataset", "host.name", "host.ip", "host.os.family", "source.ip",
    "source.port", "source.nat.ip", "destination.ip", "destination.port", "user.name", "user.domain",
    "process.name", "process.executable", "process.command_line", "process.pid", "process.parent.name",
    "network.transport", "network.protocol", "network.direction", "url.original", "http.request.method",
    "http.response.status_code", "observer.name", "observer.vendor", "observer.product", "log.level",
    "log.syslog.appname", "rule.id", "rule.name", "winlog.channel", "winlog.event_data.CommandLine"};
constexpr const char* kAbsent[40] = {
    "file.path", "file.name", "file.hash.sha256", "dns.question.name", "dns.answers.data", "tls.version",
    "tls.cipher", "registry.path", "registry.value", "group.name", "service.name", "error.message",
    "user.target.name", "user.effective.name", "process.args", "process.hash.sha256", "url.domain", "url.path",
    "url.query", "http.version", "user_agent.original", "destination.domain", "source.domain", "source.mac",
    "destination.mac", "network.bytes", "network.community_id", "observer.ip", "observer.type", "threat.technique.id",
    "threat.tactic.name", "vulnerability.id", "related.ip", "related.user", "related.hosts", "medsoc.asset.id",
    "log.file.path", "winlog.logon.type", "winlog.event_id", "event.reason"};

constexpr const char* kRaw =
    "<134>1 2024-03-03T10:01:02.123+08:00 fw-core-01 sangfor 4242 TRAFFIC - action=deny src=10.20.30.40 "
    "sport=51234 dst=172.16.5.9 dport=445 proto=tcp user=HOSP\\zhangwei app=smb rule=block-smb-from-wards";

struct Fixture {
  FieldTable table;
  std::vector<FieldId> present, absent;
  std::vector<std::string> present_keys, absent_keys;
  Event event;
  Event original_event;  // the same fields in FieldSpace::kOriginal
  std::unordered_map<std::string, std::string> map;

  Fixture() {
    event.set_raw(kRaw);
    for (int i = 0; i < 40; ++i) {
      present.push_back(*table.Intern(kPresent[i]));
      present_keys.emplace_back(kPresent[i]);
      const std::string_view value = event.raw().substr(static_cast<std::size_t>(i) * 4, 12);
      event.Set(present.back(), Value::String(value));
      original_event.SetOriginal(present.back(), Value::String(value));
      map.emplace(kPresent[i], std::string(value));
    }
    for (int i = 0; i < 40; ++i) {
      absent.push_back(*table.Intern(kAbsent[i]));
      absent_keys.emplace_back(kAbsent[i]);
    }
  }
};

Fixture& F() {
  static Fixture* f = new Fixture();
  return *f;
}

void BM_EventFind_Hit(benchmark::State& state) {
  Fixture& f = F();
  for (auto _ : state)
    for (FieldId id : f.present) benchmark::DoNotOptimize(f.event.Find(id));
  state.SetItemsProcessed(state.iterations() * 40);
}
BENCHMARK(BM_EventFind_Hit);

void BM_UnorderedMap_Hit(benchmark::State& state) {
  Fixture& f = F();
  for (auto _ : state)
    for (const std::string& key : f.present_keys) benchmark::DoNotOptimize(f.map.find(key));
  state.SetItemsProcessed(state.iterations() * 40);
}
BENCHMARK(BM_UnorderedMap_Hit);

void BM_EventFindOriginal_Hit(benchmark::State& state) {
  Fixture& f = F();
  for (auto _ : state)
    for (FieldId id : f.present) benchmark::DoNotOptimize(f.original_event.FindOriginal(id));
  state.SetItemsProcessed(state.iterations() * 40);
}
BENCHMARK(BM_EventFindOriginal_Hit);

void BM_EventFindOriginal_Miss(benchmark::State& state) {
  Fixture& f = F();
  for (auto _ : state)
    for (FieldId id : f.absent) benchmark::DoNotOptimize(f.original_event.FindOriginal(id));
  state.SetItemsProcessed(state.iterations() * 40);
}
BENCHMARK(BM_EventFindOriginal_Miss);

void BM_EventFind_Miss(benchmark::State& state) {
  Fixture& f = F();
  for (auto _ : state)
    for (FieldId id : f.absent) benchmark::DoNotOptimize(f.event.Find(id));
  state.SetItemsProcessed(state.iterations() * 40);
}
BENCHMARK(BM_EventFind_Miss);

void BM_UnorderedMap_Miss(benchmark::State& state) {
  Fixture& f = F();
  for (auto _ : state)
    for (const std::string& key : f.absent_keys) benchmark::DoNotOptimize(f.map.find(key));
  state.SetItemsProcessed(state.iterations() * 40);
}
BENCHMARK(BM_UnorderedMap_Miss);

constexpr int kBatchEvents = 1024;
constexpr int kFilledFields = 20;

void BM_BatchFillClear(benchmark::State& state) {
  Fixture& f = F();
  Batch batch;
  const std::string_view raw = kRaw;
  for (auto _ : state) {
    for (int i = 0; i < kBatchEvents; ++i) {
      Event& e = batch.Add();
      e.set_raw(raw);
      e.set_tenant_id("01HQ8ZK3V4TENANT000000000A");
      e.set_source_name("syslog-udp-514");
      e.set_ingest_time({1'709'431'262'000'000'000});
      e.set_time({1'709'431'262'123'000'000});
      const std::string_view r = e.raw();
      for (int k = 0; k < kFilledFields; ++k)
        e.Set(f.present[static_cast<std::size_t>(k)], Value::String(r.substr(static_cast<std::size_t>(k) * 8, 10)));
    }
    benchmark::DoNotOptimize(batch.begin());
    batch.Clear();
  }
  state.SetItemsProcessed(state.iterations() * kBatchEvents);
}
BENCHMARK(BM_BatchFillClear);

// Baseline: events as string maps, reused the same way (clear() keeps the buckets, but every
// key and value string is a new allocation unless it fits the small-string buffer).
void BM_NaiveBatchFillClear(benchmark::State& state) {
  Fixture& f = F();
  struct NaiveEvent {
    std::string raw, tenant, source;
    std::int64_t ingest = 0, time = 0;
    std::unordered_map<std::string, std::string> fields;
  };
  std::vector<NaiveEvent> batch;
  const std::string_view raw = kRaw;
  for (auto _ : state) {
    for (int i = 0; i < kBatchEvents; ++i) {
      NaiveEvent& e = batch.emplace_back();
      e.raw = raw;
      e.tenant = "01HQ8ZK3V4TENANT000000000A";
      e.source = "syslog-udp-514";
      e.ingest = 1'709'431'262'000'000'000;
      e.time = 1'709'431'262'123'000'000;
      for (int k = 0; k < kFilledFields; ++k)
        e.fields[f.present_keys[static_cast<std::size_t>(k)]] = std::string(raw.substr(static_cast<std::size_t>(k) * 8, 10));
    }
    benchmark::DoNotOptimize(batch.data());
    batch.clear();
  }
  state.SetItemsProcessed(state.iterations() * kBatchEvents);
}
BENCHMARK(BM_NaiveBatchFillClear);

void BM_EventToJson(benchmark::State& state) {
  Fixture& f = F();
  std::string out;
  for (auto _ : state) {
    out.clear();
    AppendEventJson(f.event, out, f.table);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(out.size()));
}
BENCHMARK(BM_EventToJson);

// Console output plus the baseline/medsoc ratios at the end.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  RatioReporter() : ConsoleReporter(OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    // One figure per benchmark: the iteration run, or the median when repetitions are asked for.
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      const bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      if (r.run_type != Run::RT_Iteration && !median) continue;
      const std::string name = r.run_name.str();
      if (r.run_type == Run::RT_Iteration && medians_.count(name)) continue;
      if (median) medians_.insert(name);
      ns_[name] = r.GetAdjustedCPUTime() / benchmark::GetTimeUnitMultiplier(r.time_unit) * 1e9;
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    const std::pair<const char*, const char*> pairs[] = {
        {"BM_UnorderedMap_Hit", "BM_EventFind_Hit"},
        {"BM_UnorderedMap_Miss", "BM_EventFind_Miss"},
        {"BM_UnorderedMap_Hit", "BM_EventFindOriginal_Hit"},
        {"BM_UnorderedMap_Miss", "BM_EventFindOriginal_Miss"},
        {"BM_NaiveBatchFillClear", "BM_BatchFillClear"},
    };
    std::printf("\nratios (baseline CPU time / medsoc CPU time, same run):\n");
    for (auto [base, ours] : pairs) {
      auto b = ns_.find(base), o = ns_.find(ours);
      if (b == ns_.end() || o == ns_.end() || o->second <= 0) continue;
      std::printf("  %-24s / %-27s = %6.2fx\n", base, ours, b->second / o->second);
    }
    std::fflush(stdout);
  }

 private:
  std::map<std::string, double> ns_;
  std::set<std::string> medians_;
};

}  // namespace
}  // namespace medsoc::event

int main(int argc, char** argv) {
  bool console = true;
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--benchmark_format=", 19) == 0 && std::strcmp(argv[i] + 19, "console") != 0)
      console = false;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (console) {
    medsoc::event::RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
  } else {
    benchmark::RunSpecifiedBenchmarks();
  }
  benchmark::Shutdown();
  return 0;
}
