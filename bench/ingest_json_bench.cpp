// Windows JSON parse + normalize throughput (events/s on one core) over the OTRF
// Security-Datasets sample (NXLog-style flat JSON; ../shared/data, never committed), with two
// baselines measured in the same run on the same lines:
//   - nlohmann::json::parse (a typical DOM JSON library: what a straightforward parser costs),
//   - simdjson DOM parse alone (validation + tape, no normalization: the upper bound).
// Without the dataset, synthetic Sysmon/Security events generated here are used (say so).
// Env: MEDSOC_OTRF_DATASET overrides the path; MEDSOC_BENCH_LINES (default 200000).
#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>
#include <simdjson.h>

#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "event/batch.h"
#include "ingest/parse/json/parsers.h"

namespace {

using namespace medsoc;

std::vector<std::string>& Lines() {
  static std::vector<std::string> lines = [] {
    std::vector<std::string> out;
    std::size_t want = 200000;
    if (const char* n = std::getenv("MEDSOC_BENCH_LINES")) want = std::strtoull(n, nullptr, 10);
    std::string path = "../shared/data/events/otrf-atomic-windows.jsonl.zst";
    if (const char* p = std::getenv("MEDSOC_OTRF_DATASET")) path = p;
    else if (!std::filesystem::exists(path)) path = "/work/shared/data/events/otrf-atomic-windows.jsonl.zst";
    if (std::filesystem::exists(path)) {
      const std::string cmd = "zstd -dc '" + path + "' 2>/dev/null | head -n " + std::to_string(want);
      if (FILE* f = popen(cmd.c_str(), "r")) {
        std::string line;
        char buf[1 << 16];
        while (fgets(buf, sizeof buf, f)) {
          line += buf;
          if (line.back() != '\n') continue;
          line.pop_back();
          if (!line.empty()) out.push_back(std::move(line));
          line.clear();
        }
        pclose(f);
      }
      std::fprintf(stderr, "ingest_json_bench: %zu lines of %s\n", out.size(), path.c_str());
    }
    if (out.empty()) {
      std::fprintf(stderr, "ingest_json_bench: dataset absent (%s); using synthetic events\n", path.c_str());
      for (std::size_t i = 0; i < 20000; ++i) {
        const bool sysmon = i % 3 != 0;
        std::string s = sysmon
            ? R"({"SourceName":"Microsoft-Windows-Sysmon","Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"WS)" +
                  std::to_string(i % 50) +
                  R"(.hospital.local","TimeCreated":"2024-03-03T02:01:02.500Z","@timestamp":"2024-03-03T02:01:02.500Z","EventID":1,"ProcessGuid":"{aaaa-)" +
                  std::to_string(i) +
                  R"(}","ProcessId":")" + std::to_string(1000 + i) +
                  R"(","Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c echo )" + std::to_string(i) +
                  R"(","CurrentDirectory":"C:\\Users\\doc\\","User":"HOSP\\doctor1","IntegrityLevel":"Medium","Hashes":"SHA256=BBCC","ParentProcessId":"100","ParentImage":"C:\\Windows\\explorer.exe","ParentCommandLine":"explorer.exe"})"
            : R"({"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","Hostname":"DC1","@timestamp":"2024-03-03T02:01:02.500Z","EventID":4624,"TargetUserName":"user)" +
                  std::to_string(i % 300) + R"(","TargetDomainName":"HOSP","LogonType":"3","IpAddress":"10.0.)" +
                  std::to_string(i % 250) + R"(.1","IpPort":"50000","SubjectUserName":"-"})";
        out.push_back(std::move(s));
      }
    }
    return out;
  }();
  return lines;
}

// Thread CPU time: the machine is shared, so wall time would measure the neighbours' load.
double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double g_medsoc = 0, g_nlohmann = 0, g_simdjson = 0;
std::size_t g_failed = 0;

void Report(benchmark::State& state, std::size_t events, double seconds, double& out) {
  state.SetItemsProcessed(static_cast<std::int64_t>(events));
  std::size_t bytes = 0;
  for (const auto& l : Lines()) bytes += l.size();
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes * (events / Lines().size())));
  if (seconds > 0) out = static_cast<double>(events) / seconds;
}

void BM_WindowsJsonParseNormalize(benchmark::State& state) {
  auto parser = ingest::json::MakeWindowsJsonParser(ingest::json::WindowsShape::kAny);
  event::Batch batch;
  ingest::ParseContext ctx;
  std::size_t events = 0;
  double seconds = 0;
  for (auto _ : state) {
    const double t0 = CpuSeconds();
    g_failed = 0;
    for (const std::string& line : Lines()) {
      if (batch.size() == 1024) batch.Clear();
      event::Event& e = batch.Add();
      e.set_raw(line);
      if (!parser->Parse(e.raw(), ctx, e).ok()) ++g_failed;
    }
    batch.Clear();
    seconds += CpuSeconds() - t0;
    events += Lines().size();
  }
  Report(state, events, seconds, g_medsoc);
  state.counters["failed"] = static_cast<double>(g_failed);
}

void BM_BaselineNlohmannParse(benchmark::State& state) {
  std::size_t events = 0;
  double seconds = 0;
  for (auto _ : state) {
    const double t0 = CpuSeconds();
    for (const std::string& line : Lines()) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      benchmark::DoNotOptimize(j);
    }
    seconds += CpuSeconds() - t0;
    events += Lines().size();
  }
  Report(state, events, seconds, g_nlohmann);
}

void BM_BaselineSimdjsonDomOnly(benchmark::State& state) {
  simdjson::dom::parser parser;
  std::vector<char> padded;
  std::size_t events = 0;
  double seconds = 0;
  for (auto _ : state) {
    const double t0 = CpuSeconds();
    for (const std::string& line : Lines()) {
      if (padded.size() < line.size() + simdjson::SIMDJSON_PADDING) padded.resize(line.size() + simdjson::SIMDJSON_PADDING);
      std::memcpy(padded.data(), line.data(), line.size());
      simdjson::dom::element root;
      auto err = parser.parse(reinterpret_cast<const std::uint8_t*>(padded.data()), line.size(), false).get(root);
      benchmark::DoNotOptimize(err);
    }
    seconds += CpuSeconds() - t0;
    events += Lines().size();
  }
  Report(state, events, seconds, g_simdjson);
}

BENCHMARK(BM_WindowsJsonParseNormalize)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_BaselineNlohmannParse)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_BaselineSimdjsonDomOnly)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  (void)Lines();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::printf("\nWindows JSON parse+normalize: %.0f events/s per core (goal 250000)\n", g_medsoc);
  if (g_nlohmann > 0)
    std::printf("ratio vs nlohmann::json::parse alone (%.0f events/s): %.2fx\n", g_nlohmann, g_medsoc / g_nlohmann);
  if (g_simdjson > 0)
    std::printf("ratio vs simdjson DOM parse alone, the upper bound (%.0f events/s): %.2fx\n", g_simdjson,
                g_medsoc / g_simdjson);
  return 0;
}
