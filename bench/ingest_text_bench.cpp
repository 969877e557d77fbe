// Parse-and-normalize throughput of the text parsers, lines per second on one core, each against
// baselines measured in the same run over the same buffer:
//  - MemchrSplit: only splitting the buffer into lines with memchr and copying each into a batch
//    event (set_raw): the floor any parser pays in this pipeline;
//  - RegexRfc3164: std::regex extracting PRI, timestamp, host, tag, pid and message of the same
//    RFC 3164 lines (the "obvious" implementation).
// Parsers: rfc3164 (sshd lines, so the sshd normalizer runs too), rfc5424 with structured data,
// CEF, FortiGate key=value through the data-driven mapping in content/ingest/vendors.
// Events go into a reused Batch (cleared every 1024 events), as in the pipeline: steady state
// allocates nothing per event. At the end the lines/s figures and ratios are printed.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "event/batch.h"
#include "ingest/parse/cef.h"
#include "ingest/parse/syslog.h"
#include "ingest/parse/vendor.h"

namespace medsoc::ingest {
namespace {

constexpr int kLines = 4096;

std::string MakeBuffer(const char* kind) {
  std::string out;
  char line[1024];
  for (int i = 0; i < kLines; ++i) {
    const int a = i % 250 + 1, b = (i * 7) % 250 + 1, port = 40000 + i % 20000;
    if (std::strcmp(kind, "rfc3164") == 0) {
      std::snprintf(line, sizeof line,
                    "<38>Mar %2d 10:%02d:%02d his-db%02d sshd[%d]: Failed password for user%d from 10.%d.%d.7 port %d ssh2\n",
                    1 + i % 9, i % 60, (i * 13) % 60, i % 16, 1000 + i, i % 97, a, b, port);
    } else if (std::strcmp(kind, "rfc5424") == 0) {
      std::snprintf(line, sizeof line,
                    "<165>1 2024-03-03T10:%02d:%02d.%03d+08:00 lis-app%02d labd %d RESULT [meta@32473 sample=\"S-%d\" "
                    "analyzer=\"cobas-%d\"] Result stored for sample S-%d\n",
                    i % 60, (i * 7) % 60, i % 1000, i % 8, 8000 + i, i, i % 5, i);
    } else if (std::strcmp(kind, "cef") == 0) {
      std::snprintf(line, sizeof line,
                    "CEF:0|Acme|WAF|2.0|9421%02d|SQL Injection|High|src=198.51.%d.%d spt=%d dst=10.1.0.20 dpt=443 "
                    "request=/his/login?u\\=admin%d act=blocked suser=nurse%d cs1Label=Rule cs1=sqli-%d rt=%lld\n",
                    i % 100, a, b, port, i, i % 50, i % 9, 1709431262000LL + i);
    } else {
      std::snprintf(line, sizeof line,
                    "<189>date=2024-03-03 time=10:%02d:%02d devname=\"FGT-HIS\" devid=\"FG100FTK00000001\" tz=\"+0800\" "
                    "logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" level=\"notice\" vd=\"root\" "
                    "srcip=10.1.%d.%d srcport=%d srcintf=\"port1\" dstip=203.0.113.%d dstport=445 dstintf=\"wan1\" "
                    "proto=6 action=\"%s\" policyid=%d policyname=\"block smb out\" service=\"SMB\" sentbyte=%d "
                    "rcvdbyte=%d\n",
                    i % 60, (i * 7) % 60, a, b, port, a, i % 3 ? "deny" : "accept", i % 40, i * 3, i * 5);
    }
    out += line;
  }
  return out;
}

std::map<std::string, double>& Rates() {
  static std::map<std::string, double> r;
  return r;
}

ParseContext Ctx() {
  ParseContext ctx;
  ctx.now = core::Timestamp::FromSeconds(1'710'028'800);
  return ctx;
}

// Runs `per_line(batch, line)` over every line of `buf` per iteration; records lines/s (CPU).
template <typename PerLine>
void RunLines(benchmark::State& state, const std::string& name, const std::string& buf, PerLine&& per_line) {
  event::Batch batch;
  std::int64_t lines = 0;
  const auto start = std::clock();
  for (auto _ : state) {
    const char* p = buf.data();
    const char* end = p + buf.size();
    while (p < end) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
      if (nl == nullptr) nl = end;
      if (batch.size() == 1024) batch.Clear();
      per_line(batch, std::string_view(p, static_cast<std::size_t>(nl - p)));
      ++lines;
      p = nl + 1;
    }
    benchmark::ClobberMemory();
  }
  const double secs = static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
  state.SetItemsProcessed(lines);
  if (secs > 0) Rates()[name] = static_cast<double>(lines) / secs;
}

void BM_MemchrSplit(benchmark::State& state) {
  static const std::string buf = MakeBuffer("rfc3164");
  RunLines(state, "MemchrSplit", buf, [](event::Batch& b, std::string_view line) {
    event::Event& e = b.Add();
    e.set_raw(line);
    benchmark::DoNotOptimize(e.raw().data());
  });
}
BENCHMARK(BM_MemchrSplit);

void BM_RegexRfc3164(benchmark::State& state) {
  static const std::string buf = MakeBuffer("rfc3164");
  static const std::regex re(R"(^<(\d{1,3})>(\w{3} [ \d]\d \d\d:\d\d:\d\d) (\S+) ([^\[: ]+)(?:\[(\d+)\])?: (.*)$)");
  RunLines(state, "RegexRfc3164", buf, [](event::Batch& b, std::string_view line) {
    event::Event& e = b.Add();
    e.set_raw(line);
    std::cmatch m;
    const bool ok = std::regex_match(e.raw().data(), e.raw().data() + e.raw().size(), m, re);
    benchmark::DoNotOptimize(ok);
  });
}
BENCHMARK(BM_RegexRfc3164);

template <typename P>
void ParseBench(benchmark::State& state, const char* kind, const char* name, P& parser) {
  const std::string buf = MakeBuffer(kind);
  const ParseContext ctx = Ctx();
  std::int64_t failures = 0;
  RunLines(state, name, buf, [&](event::Batch& b, std::string_view line) {
    event::Event& e = b.Add();
    e.set_raw(line);
    if (!parser.Parse(e.raw(), ctx, e).ok()) ++failures;
  });
  if (failures) state.SkipWithError("parse failures in the benchmark input");
}

void BM_Rfc3164(benchmark::State& state) {
  text::Rfc3164Parser p;
  ParseBench(state, "rfc3164", "Rfc3164", p);
}
BENCHMARK(BM_Rfc3164);

void BM_Rfc5424(benchmark::State& state) {
  text::Rfc5424Parser p;
  ParseBench(state, "rfc5424", "Rfc5424", p);
}
BENCHMARK(BM_Rfc5424);

void BM_Cef(benchmark::State& state) {
  text::CefParser p;
  ParseBench(state, "cef", "Cef", p);
}
BENCHMARK(BM_Cef);

void BM_FortiGate(benchmark::State& state) {
  const char* src = std::getenv("MEDSOC_SOURCE_DIR");
  auto r = text::LoadVendorDir(std::string(src ? src : ".") + "/content/ingest/vendors");
  for (auto& spec : r.specs) {
    if (text::VendorSpecName(*spec) != "fortigate") continue;
    text::VendorParser p(spec);
    ParseBench(state, "fortigate", "FortiGate", p);
    return;
  }
  state.SkipWithError("content/ingest/vendors/fortigate.yaml not found (set MEDSOC_SOURCE_DIR)");
}
BENCHMARK(BM_FortiGate);

}  // namespace
}  // namespace medsoc::ingest

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  auto& r = medsoc::ingest::Rates();
  std::printf("\nlines per second per core (CPU time), ratios against baselines of this run:\n");
  const double split = r.count("MemchrSplit") ? r["MemchrSplit"] : 0, regex = r.count("RegexRfc3164") ? r["RegexRfc3164"] : 0;
  for (const char* n : {"MemchrSplit", "RegexRfc3164", "Rfc3164", "Rfc5424", "Cef", "FortiGate"}) {
    if (!r.count(n)) continue;
    std::printf("  %-13s %12.0f lines/s", n, r[n]);
    if (split > 0) std::printf("   %.2fx of memchr split", r[n] / split);
    if (regex > 0) std::printf("   %.1fx std::regex rfc3164", r[n] / regex);
    std::printf("\n");
  }
  return 0;
}
