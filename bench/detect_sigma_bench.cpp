// Sigma engine throughput: every SigmaHQ rule (../shared/data/sigma) over the OTRF atomic Windows
// events (../shared/data/events/otrf-atomic-windows.jsonl.zst), against the naive evaluator
// (detect::ReferenceMatcher: loop over rules, glob/regex per value) measured in the same run.
//
// Prints: rule load+compile time; events/s of the engine on one core and on all cores (one
// Matcher per thread over disjoint batches); events/s of the naive evaluator on one core (over a
// prefix of the events, it is slow) and the ratio; how many (event, rule) matches each found on
// that prefix and whether they agree; peak resident memory.
//
// Environment: MEDSOC_SIGMA_DIR, MEDSOC_EVENTS_FILE (defaults under ../shared/data relative to the
// source tree, MEDSOC_SOURCE_DIR or this file's location), MEDSOC_BENCH_EVENTS (events to load,
// default 200000), MEDSOC_BENCH_NAIVE_EVENTS (default 5000), MEDSOC_BENCH_THREADS (default: cores),
// MEDSOC_BENCH_REPS (single-core passes over the events, best one counts; default 2),
// MEDSOC_BENCH_UNMAPPED_EVERY=1 (unmapped logsources on every event, the pre-2026-11-22 default).
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "detect/engine.h"
#include "detect/json_events.h"
#include "detect/reader.h"
#include "detect/reference_matcher.h"
#include "event/batch.h"

using namespace medsoc;
using Clock = std::chrono::steady_clock;

namespace {

std::string Env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

double Secs(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

double CpuSecs() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main() {
  namespace fs = std::filesystem;
  std::string src = Env("MEDSOC_SOURCE_DIR", "");
  if (src.empty()) src = fs::weakly_canonical(fs::absolute(fs::path(__FILE__)).parent_path().parent_path()).string();
  const std::string sigma = Env("MEDSOC_SIGMA_DIR", src + "/../shared/data/sigma");
  const std::string events_file = Env("MEDSOC_EVENTS_FILE", src + "/../shared/data/events/otrf-atomic-windows.jsonl.zst");
  const std::size_t max_events = std::stoul(Env("MEDSOC_BENCH_EVENTS", "200000"));
  // 1: rules of unmapped logsources run on every event (detect.unmapped_logsources: every_event).
  const bool unmapped_every = Env("MEDSOC_BENCH_UNMAPPED_EVERY", "0") == "1";
  const std::size_t naive_events = std::stoul(Env("MEDSOC_BENCH_NAIVE_EVENTS", "5000"));
  const int threads = std::stoi(Env("MEDSOC_BENCH_THREADS", std::to_string(std::max(1u, std::thread::hardware_concurrency()))));
  if (!fs::is_directory(sigma) || !fs::exists(events_file)) {
    std::printf("detect_sigma_bench: skipped (no %s or %s)\n", sigma.c_str(), events_file.c_str());
    return 0;
  }

  // ---- load + compile ----
  auto tv = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  auto process_cpu = [&] {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return tv(ru.ru_utime) + tv(ru.ru_stime);
  };
  const double rc0 = process_cpu();
  const auto t0 = Clock::now();
  detect::LogsourceMap ls;
  for (const auto& p : ls.LoadPath(src + "/content/logsources")) std::fprintf(stderr, "%s\n", p.ToString().c_str());
  detect::ReadResult read = detect::ReadSigmaPaths({sigma + "/rules", sigma + "/rules-emerging-threats", sigma + "/rules-threat-hunting"});
  const auto t1 = Clock::now();
  const double read_cpu = process_cpu() - rc0;
  std::vector<detect::SigmaDocument> docs_copy = read.docs;  // for the naive evaluator (not timed)
  std::vector<detect::Problem> problems;
  const auto t2 = Clock::now();
  const double cc0 = process_cpu();
  detect::CompileOptions copt;
  copt.unmapped_on_every_event = unmapped_every;
  auto rules = detect::RuleSet::Compile(std::move(read.docs), ls, copt, problems);
  const auto t3 = Clock::now();
  const double compile_cpu = process_cpu() - cc0;
  std::printf("rules: %zu compiled (%zu predicates, %zu Hyperscan databases, %zu RE2)\n", rules->size(),
              rules->predicate_count(), rules->hyperscan_databases(), rules->re2_patterns());
  std::printf("load+compile: %.2f s wall, %.2f s CPU over all threads (read+parse YAML %.2f s wall, %.2f s CPU; "
              "compile %.2f s wall, %.2f s CPU)\n",
              Secs(t0, t1) + Secs(t2, t3), read_cpu + compile_cpu, Secs(t0, t1), read_cpu, Secs(t2, t3), compile_cpu);

  // ---- events ----
  auto reader = detect::JsonEventReader::Open(events_file);
  if (!reader.ok()) {
    std::fprintf(stderr, "%s\n", reader.error().ToString().c_str());
    return 1;
  }
  std::vector<event::Batch> batches;
  std::size_t n_events = 0;
  std::string obj;
  while (n_events < max_events) {
    if (batches.empty() || batches.back().size() == 1024) batches.emplace_back();
    event::Event& e = batches.back().Add();
    if (!(*reader)->Next(e)) {
      batches.back().PopBack();
      break;
    }
    ++n_events;
  }
  std::printf("events: %zu in %zu batches\n", n_events, batches.size());

  // ---- engine, one core ----
  std::uint64_t matches1 = 0;
  double best1 = 1e30;
  const int reps = std::max(1, std::stoi(Env("MEDSOC_BENCH_REPS", "2")));
  for (int rep = 0; rep < reps; ++rep) {
    detect::Matcher m(rules);
    std::vector<std::uint32_t> out;
    matches1 = 0;
    const double c0 = CpuSecs();
    for (const auto& b : batches)
      for (const auto& e : b) {
        out.clear();
        m.Match(e, out);
        matches1 += out.size();
      }
    best1 = std::min(best1, CpuSecs() - c0);
  }
  std::printf("engine, 1 thread: %.0f events/s per core (CPU time), %llu matches\n", n_events / best1,
              static_cast<unsigned long long>(matches1));

  // ---- engine, all cores ----
  {
    std::atomic<std::size_t> next{0};
    std::atomic<std::uint64_t> total{0};
    const auto w0 = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&] {
        detect::Matcher m(rules);
        std::vector<std::uint32_t> out;
        std::uint64_t local = 0;
        for (std::size_t i; (i = next.fetch_add(1)) < batches.size();)
          for (const auto& e : batches[i]) {
            out.clear();
            m.Match(e, out);
            local += out.size();
          }
        total += local;
      });
    for (auto& t : pool) t.join();
    const double wall = Secs(w0, Clock::now());
    std::printf("engine, %d threads: %.0f events/s (wall), %llu matches\n", threads, n_events / wall,
                static_cast<unsigned long long>(total.load()));
  }

  // ---- naive, one core, on a prefix ----
  detect::ReferenceMatcher naive(docs_copy, ls, unmapped_every);
  std::vector<const event::Event*> prefix;
  for (const auto& b : batches)
    for (const auto& e : b)
      if (prefix.size() < naive_events) prefix.push_back(&e);
  std::set<std::pair<std::size_t, std::string>> naive_hits, engine_hits;
  std::vector<std::uint32_t> out;
  const double c0 = CpuSecs();
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    out.clear();
    naive.Match(*prefix[i], out);
    for (auto r : out) naive_hits.insert({i, naive.rule_id(r)});
  }
  const double naive_secs = CpuSecs() - c0;
  detect::Matcher m(rules);
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    out.clear();
    m.Match(*prefix[i], out);
    for (auto r : out) engine_hits.insert({i, rules->info(r).id});
  }
  // Only rules the naive evaluator supports take part in the comparison.
  std::set<std::string> naive_rules;
  for (std::size_t r = 0; r < naive.size(); ++r) naive_rules.insert(naive.rule_id(static_cast<std::uint32_t>(r)));
  std::size_t only_engine = 0, only_naive = 0;
  for (const auto& h : engine_hits)
    if (naive_rules.count(h.second) && !naive_hits.count(h)) ++only_engine;
  for (const auto& h : naive_hits)
    if (!engine_hits.count(h)) ++only_naive;
  const double naive_rate = prefix.size() / naive_secs;
  std::printf("naive (loop over %zu rules), 1 thread: %.0f events/s per core over %zu events\n", naive.size(),
              naive_rate, prefix.size());
  std::printf("ratio engine/naive (per core): %.1fx\n", (n_events / best1) / naive_rate);
  std::printf("differential check on %zu events: engine %zu matches, naive %zu; only engine %zu, only naive %zu\n",
              prefix.size(), engine_hits.size(), naive_hits.size(), only_engine, only_naive);
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("peak RSS: %.0f MiB (rules + %zu events in memory)\n", ru.ru_maxrss / 1024.0, n_events);
  return 0;
}
