// Throughput of the triage engine (triage/engine.h) on a realistic alert mix, against a baseline
// measured in the same run.
//
// Input: the evaluation's generated month of hospital alert traffic (triage/simulate.h, seed 1,
// 30 days: ~70-90 k alerts of vulnerability-scanner noise, monitoring, backups, flapping devices,
// internet brute force, false positives and planted attack stories), in event-time order, with the
// scenario's asset table, allow-list and maintenance window.
//
//   EngineFull   Engine::Process for every alert: entity resolution, exceptions (allow-list,
//                suppression, maintenance window), dedup, scoring, entity risk, incident join /
//                merge / raise. Every 500 alerts TakeChanges() and Compact(), as TriageService does
//                per batch (its SQLite persistence is not measured here).
//   NaiveDedup   baseline: dedup only, the obvious way: std::map from a string key (tenant, source,
//                rule, action, host, user, source and destination address) to a record with count
//                and first/last seen, with the same 1-hour window.
//
// Rates are alerts per second of thread CPU time (the machine is shared). The summary prints each
// and the ratio EngineFull / NaiveDedup: what the whole triage pipeline costs relative to bare
// dedup.
#include <benchmark/benchmark.h>
#include <time.h>

#include <cstdio>
#include <map>
#include <string>

#include "triage/engine.h"
#include "triage/simulate.h"

namespace {

using medsoc::triage::AlertInput;
using medsoc::triage::Engine;
using medsoc::triage::GenerateScenario;
using medsoc::triage::SensorAction;
using medsoc::triage::SimScenario;
using medsoc::triage::SourceKindName;
using medsoc::triage::TriageOptions;

constexpr std::size_t kBatch = 500;

const SimScenario& Scenario() {
  static const SimScenario s = GenerateScenario(1, 30);
  return s;
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Figures {
  double rate = 0;           // alerts per CPU second
  std::size_t records = 0;   // deduplicated records at the end of the last run
  std::size_t incidents = 0;  // incidents created (some later merged)
};
std::map<std::string, Figures>& Results() {
  static std::map<std::string, Figures> r;
  return r;
}

void BM_NaiveDedup(benchmark::State& state) {
  const SimScenario& sc = Scenario();
  const std::int64_t window = TriageOptions{}.dedup_window_ns;
  struct Record {
    std::int64_t first = 0, last = 0, count = 0;
  };
  double cpu = 0;
  std::int64_t items = 0;
  std::size_t records = 0;
  for (auto _ : state) {
    const double t0 = ThreadCpuSeconds();
    std::map<std::string, Record> seen;
    records = 0;
    for (const AlertInput& a : sc.alerts) {
      std::string key = a.tenant_id;
      for (const std::string_view part : {SourceKindName(a.source), std::string_view(a.rule_id),
                                          std::string_view(a.action == SensorAction::kBlocked ? "b" : "d"),
                                          std::string_view(a.host), std::string_view(a.user),
                                          std::string_view(a.src_ip), std::string_view(a.dst_ip)}) {
        key += '\x1f';
        key += part;
      }
      Record& r = seen[key];
      if (r.count > 0 && a.event_time.ns - r.last <= window) {
        ++r.count;
        r.last = a.event_time.ns;
      } else {
        r = {a.event_time.ns, a.event_time.ns, 1};
        ++records;
      }
    }
    benchmark::DoNotOptimize(seen.size());
    cpu += ThreadCpuSeconds() - t0;
    items += static_cast<std::int64_t>(sc.alerts.size());
  }
  state.SetItemsProcessed(items);
  Results()["NaiveDedup"] = {cpu > 0 ? static_cast<double>(items) / cpu : 0, records, 0};
}

void BM_EngineFull(benchmark::State& state) {
  const SimScenario& sc = Scenario();
  double cpu = 0;
  std::int64_t items = 0;
  std::size_t records = 0, incidents = 0;
  for (auto _ : state) {
    const double t0 = ThreadCpuSeconds();
    Engine engine(TriageOptions{}, &sc.assets, &sc.policy);
    records = incidents = 0;
    for (std::size_t i = 0; i < sc.alerts.size(); ++i) {
      const auto r = engine.Process(sc.alerts[i]);
      records += r.new_record;
      incidents += r.incident_created;
      benchmark::DoNotOptimize(r.score);
      if ((i + 1) % kBatch == 0 || i + 1 == sc.alerts.size()) {
        auto changes = engine.TakeChanges();
        benchmark::DoNotOptimize(changes.alert_ids.data());
        engine.Compact(sc.alerts[i].event_time);
      }
    }
    cpu += ThreadCpuSeconds() - t0;
    items += static_cast<std::int64_t>(sc.alerts.size());
  }
  state.SetItemsProcessed(items);
  Results()["EngineFull"] = {cpu > 0 ? static_cast<double>(items) / cpu : 0, records, incidents};
}

// Baseline first.
BENCHMARK(BM_NaiveDedup)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();
BENCHMARK(BM_EngineFull)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::printf("scenario: seed 1, 30 days, %zu alerts\n", Scenario().alerts.size());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  const auto& r = Results();
  auto e = r.find("EngineFull");
  auto n = r.find("NaiveDedup");
  std::printf("\ntriage_engine_bench ratios (alerts per CPU second, same run):\n");
  if (n != r.end())
    std::printf("NaiveDedup  %12.0f alerts/s  (%zu records)\n", n->second.rate, n->second.records);
  if (e != r.end())
    std::printf("EngineFull  %12.0f alerts/s  (%zu records, %zu incidents created)\n", e->second.rate, e->second.records,
                e->second.incidents);
  if (e != r.end() && n != r.end() && n->second.rate > 0)
    std::printf("EngineFull / NaiveDedup = %.3f\n", e->second.rate / n->second.rate);
  return 0;
}
