// `medsoc ingest FILE...|-`: see ingest_cmd.h.
//
// Framing per input: after decompression, a stream whose first non-blank byte is '{' or '[' (or an
// evtx_dump "Record N" line) is cut into JSON values by JsonFramer (NDJSON, concatenated or
// pretty-printed objects); anything else into lines. Every message becomes an event; one that does
// not parse is stored raw with its error.
#include "app/ingest_cmd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/registry.h"
#include "core/time.h"
#include "event/catalog.h"
#include "ingest/decompress.h"
#include "ingest/framing.h"
#include "ingest/framing_json.h"
#include "ingest/parse/parser.h"
#include "ingest/pipeline.h"
#include "store/events/sqlite_event_store.h"

namespace medsoc::app {
namespace {

constexpr std::size_t kReadChunk = 1 << 20;
constexpr std::size_t kMaxMessage = 1 << 20;


struct Totals {
  std::atomic<std::uint64_t> stored{0}, failed{0}, store_errors{0};
};

class Importer {
 public:
  Importer(ingest::Pipeline& pipeline, ingest::Source* source, const IngestFlags& flags, Totals& totals)
      : pipeline_(pipeline), source_(source), flags_(flags), totals_(totals) {}

  // Reads one input completely. Errors are reported and counted by the caller.
  Status Read(const std::string& input) {
    const bool is_stdin = input == "-";
    const int fd = is_stdin ? 0 : ::open(input.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error(ErrorCode::kIo, input + ": " + std::strerror(errno));
    name_ = is_stdin ? "<stdin>" : input;
    Status st = ReadFd(fd);
    if (!is_stdin) ::close(fd);
    Flush();
    return st;
  }

  std::uint64_t events() const { return events_; }
  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t broken() const { return broken_; }

  void Flush() {
    if (!work_ || work_->batch.empty()) return;
    work_->ack = [this](const Status& st, const ingest::Work& w) {
      if (st.ok()) {
        totals_.stored += w.batch.size();
        totals_.failed += w.failed_to_parse;
      } else {
        ++totals_.store_errors;
        std::fprintf(stderr, "medsoc ingest: storing %zu events failed: %s\n", w.batch.size(),
                     st.error().ToString().c_str());
      }
    };
    while (!pipeline_.TrySubmit(*work_)) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    work_.reset();
  }

 private:
  Status ReadFd(int fd) {
    std::string chunk(kReadChunk, '\0');
    std::unique_ptr<ingest::StreamDecompressor> dec;
    bool first = true;
    std::string plain;
    while (true) {
      const ssize_t n = ::read(fd, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Error(ErrorCode::kIo, name_ + ": " + std::strerror(errno));
      if (n == 0) break;
      std::string_view in(chunk.data(), static_cast<std::size_t>(n));
      bytes_ += in.size();
      if (first) {
        first = false;
        const ingest::Compression c = ingest::DetectCompression(in);
        if (c != ingest::Compression::kNone) dec = ingest::StreamDecompressor::Create(c);
      }
      if (dec) {
        plain.clear();
        if (Status st = dec->Feed(in, plain); !st.ok()) return st.error().WithContext(name_);
        Consume(plain);
      } else {
        Consume(in);
      }
    }
    if (dec) {
      if (Status st = dec->Finish(); !st.ok()) {
        FinishFraming();
        return st.error().WithContext(name_);
      }
    }
    FinishFraming();
    return Ok();
  }

  void Consume(std::string_view data) {
    if (!decided_) {
      // Decide the framing from the first non-blank bytes.
      std::size_t i = 0;
      while (i < data.size() && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t' ||
                                 data[i] == '\xef' || data[i] == '\xbb' || data[i] == '\xbf'))
        ++i;
      if (i == data.size()) return;
      const std::string_view head = data.substr(i);
      json_ = head[0] == '{' || head[0] == '[' || head.substr(0, 7) == "Record ";
      decided_ = true;
    }
    if (json_) {
      json_framer_.Feed(data);
      DrainJson();
    } else {
      lines_.Feed(data, [&](const ingest::Frame& f) { Add(f.data, f.truncated); });
    }
  }

  void DrainJson() {
    ingest::JsonFramer::Frame f;
    while (json_framer_.Next(f)) {
      if (f.ok) {
        Add(f.value, false);
      } else {
        ++broken_;
        if (broken_ <= 10)
          std::fprintf(stderr, "medsoc ingest: %s: byte %llu: %s\n", name_.c_str(),
                       static_cast<unsigned long long>(f.offset), f.error.c_str());
      }
    }
  }

  void FinishFraming() {
    if (json_) {
      json_framer_.Finish();
      DrainJson();
      json_framer_ = ingest::JsonFramer(kMaxMessage);
    } else {
      lines_.Finish([&](const ingest::Frame& f) { Add(f.data, f.truncated); });
    }
    decided_ = false;
  }

  void Add(std::string_view message, bool truncated) {
    if (!work_) {
      work_.emplace();
      work_->source = source_;
      now_ = core::Now();
    }
    event::Event& e = work_->batch.Add();
    e.set_raw(message);
    e.set_tenant_id(flags_.tenant);
    e.set_source_name(flags_.source);
    e.set_ingest_time(now_);
    work_->flags.push_back(truncated ? ingest::kFlagTruncated : ingest::kFlagNone);
    ++events_;
    source_->counters().received.fetch_add(1, std::memory_order_relaxed);
    if (work_->batch.size() >= 4096) Flush();
  }

  ingest::Pipeline& pipeline_;
  ingest::Source* source_;
  const IngestFlags& flags_;
  Totals& totals_;
  std::string name_;
  std::optional<ingest::Work> work_;
  core::Timestamp now_{};
  bool decided_ = false, json_ = false;
  ingest::SyslogFramer lines_{kMaxMessage, ingest::Framing::kLf};
  ingest::JsonFramer json_framer_{kMaxMessage};
  std::uint64_t events_ = 0, bytes_ = 0, broken_ = 0;
};

}  // namespace

int RunIngest(const GlobalFlags& gflags, const IngestFlags& flags) {
  if (flags.inputs.empty()) {
    std::fprintf(stderr, "medsoc ingest: name at least one FILE, or - for standard input\n");
    return 2;
  }
  auto tz = ingest::ParseTimezone(flags.timezone);
  if (!tz.ok()) {
    std::fprintf(stderr, "medsoc ingest: --timezone: %s\n", tz.error().message().c_str());
    return 2;
  }
  auto options = LoadOptions(gflags);
  if (!options.ok()) {
    std::fprintf(stderr, "medsoc ingest: %s\n", options.error().ToString().c_str());
    return 2;
  }
  const std::string content = ResolveContentDir(*options);
  event::Catalog catalog;
  for (const auto& e : catalog.LoadFile(content + "/fields/ecs.yaml"))
    std::fprintf(stderr, "medsoc ingest: warning: %s\n", e.ToString().c_str());
  core::Registry parsers;
  for (const auto& e : ingest::RegisterParsers(parsers, content))
    std::fprintf(stderr, "medsoc ingest: warning: %s\n", e.ToString().c_str());
  parsers.Freeze();

  ::mkdir(options->data_dir.c_str(), 0700);
  auto store = store::events::SqliteEventStore::Open(options->data_dir, options->events);
  if (!store.ok()) {
    std::fprintf(stderr, "medsoc ingest: opening the event store: %s\n", store.error().ToString().c_str());
    return 1;
  }

  ingest::PipelineOptions po;
  po.parse_workers = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  po.parse_queue_batches = 8;
  po.sink_queue_batches = 8;
  ingest::Pipeline pipeline(po, parsers, **store);
  if (!flags.dataset.empty() && !ingest::IsValidDataset(flags.dataset)) {
    std::fprintf(stderr, "medsoc ingest: --dataset must be 1-64 of [a-z0-9_.-] (his.audit)\n");
    return 2;
  }
  auto source = pipeline.AddSource({.name = flags.source,
                                    .format = flags.format,
                                    .tz_offset_minutes = *tz,
                                    .max_message_bytes = kMaxMessage,
                                    .dataset = flags.dataset});
  if (!source.ok()) {
    std::fprintf(stderr, "medsoc ingest: %s\n", source.error().message().c_str());
    return 2;
  }
  if (auto st = pipeline.Start(); !st.ok()) {
    std::fprintf(stderr, "medsoc ingest: %s\n", st.error().ToString().c_str());
    return 1;
  }
  const auto t0 = std::chrono::steady_clock::now();
  Totals totals;
  Importer importer(pipeline, *source, flags, totals);
  int read_errors = 0;
  for (const auto& input : flags.inputs) {
    if (auto st = importer.Read(input); !st.ok()) {
      ++read_errors;
      std::fprintf(stderr, "medsoc ingest: %s\n", st.error().ToString().c_str());
    }
  }
  importer.Flush();
  pipeline.Stop();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::uint64_t read = importer.events();
  std::printf("read:            %llu events (%llu bytes, %zu input%s)\n", static_cast<unsigned long long>(read),
              static_cast<unsigned long long>(importer.bytes()), flags.inputs.size(), flags.inputs.size() == 1 ? "" : "s");
  std::printf("stored:          %llu\n", static_cast<unsigned long long>(totals.stored.load()));
  std::printf("failed to parse: %llu (stored raw with the error)\n", static_cast<unsigned long long>(totals.failed.load()));
  if (importer.broken() > 0)
    std::printf("broken JSON:     %llu (skipped, see messages above)\n", static_cast<unsigned long long>(importer.broken()));
  std::printf("seconds:         %.3f\n", secs);
  std::printf("events/s:        %.0f\n", secs > 0 ? static_cast<double>(totals.stored.load()) / secs : 0.0);
  return (read_errors > 0 || totals.store_errors > 0 || totals.stored != read) ? 1 : 0;
}

}  // namespace medsoc::app
