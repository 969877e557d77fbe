// Ingest pipeline throughput, in process, on a 1M-line RFC 3164 stream held in memory (and the
// same stream octet-counted), each figure with its ratio to a baseline measured in the same run:
//
//   baseline   a plain read loop: memchr over the buffer counting lines (what any framing costs at
//              least)
//   framing    SyslogFramer, LF and octet counting, chunked as 64 KiB socket reads
//   batching   framing + building batches (raw copy into the arena, envelope)
//   pipeline   framing + batches -> Pipeline (parse workers with the real rfc3164 parser and
//              normalization) -> a sink that discards (what the store costs is in store benches)
//
// Usage: ingest_pipeline_bench [LINES] [WORKERS]   (MEDSOC_SOURCE_DIR locates content/)
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "core/registry.h"
#include "core/time.h"
#include "event/catalog.h"
#include "ingest/framing.h"
#include "ingest/parse/parser.h"
#include "ingest/pipeline.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace medsoc;

class NullSink : public event::EventSink {
 public:
  Status Write(const event::Batch& b) override {
    events += b.size();
    return Ok();
  }
  std::atomic<std::uint64_t> events{0};
};

double Seconds(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

template <typename F>
double Best(F&& f, int runs = 3) {
  double best = 1e9;
  for (int i = 0; i < runs; ++i) best = std::min(best, f());
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t lines = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  const int workers = argc > 2 ? std::atoi(argv[2]) : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const char* hosts[] = {"fw01", "core-sw", "his-db", "pacs01", "vpn-gw"};
  std::string lf, oc;
  lf.reserve(lines * 120);
  for (std::size_t i = 0; i < lines; ++i) {
    char buf[256];
    const int n = std::snprintf(buf, sizeof(buf),
                                "<%zu>Mar %2zu 10:%02zu:%02zu %s sshd[%zu]: Failed password for user%zu from 10.1.%zu.%zu port %zu ssh2",
                                8 + i % 100, 1 + i % 28, i % 60, (i / 60) % 60, hosts[i % 5], 1000 + i % 5000, i % 97,
                                i % 250, i % 200, 1024 + i % 60000);
    lf.append(buf, static_cast<std::size_t>(n));
    lf.push_back('\n');
    oc += std::to_string(n) + " ";
    oc.append(buf, static_cast<std::size_t>(n));
  }
  constexpr std::size_t kChunk = 64 * 1024;
  std::printf("ingest pipeline bench: %zu lines, %.1f MB, %d parse workers\n\n", lines, lf.size() / 1e6, workers);

  volatile std::size_t sink_count = 0;
  const double t_base = Best([&] {
    auto t0 = Clock::now();
    std::size_t n = 0;
    const char* p = lf.data();
    const char* end = p + lf.size();
    while (const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)))) {
      ++n;
      p = nl + 1;
    }
    sink_count = n;
    return Seconds(t0);
  });

  auto framing = [&](const std::string& data) {
    return Best([&] {
      auto t0 = Clock::now();
      ingest::SyslogFramer f(64 * 1024);
      std::size_t n = 0;
      for (std::size_t i = 0; i < data.size(); i += kChunk)
        f.Feed(std::string_view(data).substr(i, kChunk), [&](const ingest::Frame&) { ++n; });
      f.Finish([&](const ingest::Frame&) { ++n; });
      sink_count = n;
      return Seconds(t0);
    });
  };
  const double t_frame_lf = framing(lf);
  const double t_frame_oc = framing(oc);

  const double t_batch = Best([&] {
    auto t0 = Clock::now();
    ingest::SyslogFramer f(64 * 1024);
    event::Batch batch;
    const core::Timestamp now = core::Now();
    std::size_t n = 0;
    for (std::size_t i = 0; i < lf.size(); i += kChunk) {
      f.Feed(std::string_view(lf).substr(i, kChunk), [&](const ingest::Frame& fr) {
        event::Event& e = batch.Add();
        e.set_raw(fr.data);
        e.set_tenant_id("default");
        e.set_source_name("fw");
        e.set_ingest_time(now);
        if (batch.size() == 2048) {
          n += batch.size();
          batch.Clear();
        }
      });
    }
    sink_count = n;
    return Seconds(t0);
  });

  // Full pipeline with the real parsers.
  const char* src_dir = std::getenv("MEDSOC_SOURCE_DIR");
  const std::string content = std::string(src_dir ? src_dir : ".") + "/content";
  event::Catalog catalog;
  (void)catalog.LoadFile(content + "/fields/ecs.yaml");
  core::Registry registry;
  (void)ingest::RegisterParsers(registry, content);
  registry.Freeze();
  auto run_pipeline = [&](const std::string& format) {
    return Best(
        [&] {
          NullSink sink;
          ingest::Pipeline p({.parse_workers = workers, .parse_queue_batches = 16, .sink_queue_batches = 16}, registry, sink);
          auto src = p.AddSource({.name = "bench", .format = format});
          if (!src.ok()) {
            std::fprintf(stderr, "%s\n", src.error().message().c_str());
            std::exit(1);
          }
          (void)p.Start();
          auto t0 = Clock::now();
          ingest::SyslogFramer f(64 * 1024);
          std::optional<ingest::Work> w;
          const core::Timestamp now = core::Now();
          auto flush = [&] {
            while (!p.TrySubmit(*w)) std::this_thread::yield();
            w.reset();
          };
          for (std::size_t i = 0; i < lf.size(); i += kChunk) {
            f.Feed(std::string_view(lf).substr(i, kChunk), [&](const ingest::Frame& fr) {
              if (!w) {
                w.emplace();
                w->source = *src;
              }
              event::Event& e = w->batch.Add();
              e.set_raw(fr.data);
              e.set_tenant_id("default");
              e.set_source_name("fw");
              e.set_ingest_time(now);
              if (w->batch.size() == 2048) flush();
            });
          }
          if (w) flush();
          p.Stop();
          const double s = Seconds(t0);
          if (sink.events != lines) std::fprintf(stderr, "pipeline lost events: %llu\n", (unsigned long long)sink.events.load());
          return s;
        },
        2);
  };
  const double t_pipe = run_pipeline("rfc3164");
  const double t_auto = run_pipeline("auto");

  auto row = [&](const char* name, double t) {
    std::printf("  %-34s %10.0f lines/s  %7.1f MB/s   baseline/this = %5.2fx\n", name, lines / t, lf.size() / t / 1e6,
                t_base / t);
  };
  row("baseline: memchr line count", t_base);
  row("framing LF (SyslogFramer)", t_frame_lf);
  row("framing octet counting", t_frame_oc);
  row("framing + batch building", t_batch);
  row("pipeline, format rfc3164", t_pipe);
  row("pipeline, format auto", t_auto);
  std::printf("\n  pipeline rfc3164 per parse worker: %.0f lines/s\n", lines / t_pipe / workers);
  return sink_count == 0 ? 1 : 0;
}
