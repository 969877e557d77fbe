// Pipeline: bounded queues of batches between the ingest stages.
//
//   sources ──TrySubmit──► [parse queue] ──► parse workers (N) ──► transform stages ──► [sink queue]
//      ▲                                     own Parser instances   (per worker)          │
//      │                                                                                  ▼
//      └──────────────────────── ack(Status) ◄──────────────────────────── sink thread: EventSink::Write
//
// Contracts:
//  - Sources fill a Batch with events whose envelope is set (raw, tenant, source name, ingest time)
//    and hand it over as a Work item. TrySubmit never blocks: false means the parse queue is full
//    and the source must apply backpressure (TCP/TLS stop reading, HTTP answers 429, the file tail
//    pauses, UDP counts a drop) and keep the Work to retry.
//  - Every event is kept: a message that does not parse is stored raw with its parse error; the
//    tags "truncated" (cut at the size limit) and "invalid_utf8" (bytes kept as received) are
//    added when they apply; an event without a time gets its ingest time.
//  - A Work's ack is called exactly once, from the sink thread, after EventSink::Write returned:
//    Ok means every event of the batch is durable. Acks of different batches may come in any order
//    (parse workers run in parallel); sources that need order (file checkpoints) track it.
//  - A failed Write is retried with back-off (the queues fill up and sources are held back) unless
//    the Work is fail_fast (HTTP ingest: the client gets 503 and retries), or the pipeline is
//    stopping (ack with kUnavailable).
//  - Transform stages (detection, later) run in the parse workers after parsing, in the order
//    added, one instance per worker. A stage may add fields and events' tags; it must not remove
//    events (every event was accepted from a source and must reach the sink).
//
// Thread-safety: AddSource/AddStage before Start(); TrySubmit, Source counters and Snapshot from
// any thread; Start/Stop from one controlling thread. Stop() drains: stop the sources first, then
// Stop() the pipeline, which finishes (parses and writes) everything already queued.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/registry.h"
#include "core/result.h"
#include "event/batch.h"
#include "event/sink.h"

namespace medsoc::ingest {

// Where ingest reports its figures. ingest sits below api, so it does not use api::Metrics
// directly; app/ passes an adapter. Names follow Prometheus conventions (medsoc_ingest_...).
class MetricsSink {
 public:
  virtual ~MetricsSink() = default;
  // Adds `by` to the counter `name` with `labels`.
  virtual void AddCounter(const std::string& name, const std::map<std::string, std::string>& labels, double by) = 0;
  // A gauge without labels, read at scrape time. `read` must stay callable until the sink dies.
  virtual void AddGauge(const std::string& name, const std::string& help, std::function<double()> read) = 0;
};

// Per-source figures. Sources increment the input side; the pipeline the output side.
struct SourceCounters {
  std::atomic<std::uint64_t> received{0};      // messages accepted into a batch
  std::atomic<std::uint64_t> bytes{0};         // message bytes received
  std::atomic<std::uint64_t> dropped{0};       // lost (UDP while the pipeline was full)
  std::atomic<std::uint64_t> refused{0};       // senders refused by the allow-list, or requests refused (429)
  std::atomic<std::uint64_t> truncated{0};     // messages cut at the size limit
  std::atomic<std::uint64_t> framing_errors{0};
  std::atomic<std::uint64_t> parsed{0};        // parsed by a parser
  std::atomic<std::uint64_t> failed{0};        // kept raw with a parse error
  std::atomic<std::uint64_t> invalid_utf8{0};
  std::atomic<std::uint64_t> stored{0};        // durable
  std::atomic<std::uint64_t> connections{0};   // TCP/TLS connections currently open
};

// True for an event.dataset a source definition may set: 1-64 of [a-z0-9_.-], starting with a
// letter or digit ("his.audit", "pacs.dicom").
bool IsValidDataset(std::string_view s);

struct SourceSpec {
  std::string name;              // unique; the metrics label ("fw-tcp", "http", "file:/var/log/x")
  std::string format = "auto";   // auto or a parser name
  int tz_offset_minutes = 480;
  std::size_t max_message_bytes = 64 * 1024;
  std::string dataset;           // event.dataset on every event (replaces the parser's); empty: the parser's
};

class Source {
 public:
  const SourceSpec& spec() const { return spec_; }
  SourceCounters& counters() { return counters_; }
  const SourceCounters& counters() const { return counters_; }
  explicit Source(SourceSpec spec) : spec_(std::move(spec)) {}

 private:
  SourceSpec spec_;
  SourceCounters counters_;
};

// Per-event flags set by sources (parallel to the batch's events).
enum EventFlag : std::uint8_t { kFlagNone = 0, kFlagTruncated = 1 };

// A batch on its way through the pipeline.
struct Work {
  event::Batch batch{event::BatchOptions{}};
  Source* source = nullptr;             // REQUIRED
  std::vector<std::uint8_t> flags;      // EventFlag per event; empty: none
  std::string format;                   // overrides the source's format when set (HTTP ?format=)
  // File sources: the file and each event's start offset in it, stored after parsing as the
  // fields log.file.path and log.offset (what makes a line findable again after a crash).
  std::string file_path;
  std::vector<std::uint64_t> offsets;
  // Network sources: the sender's IP address per event (views into batch's arena; syslog peer,
  // HTTP client), stored after parsing as log.source.address. Empty: none. One entry: every event.
  std::vector<std::string_view> senders;
  // event.dataset set by the source definition per event (a syslog sender mapping's `dataset`,
  // HTTP ?dataset=), same layout as senders; an empty view falls back to SourceSpec::dataset.
  // When one applies it replaces the parser's value.
  std::vector<std::string_view> datasets;
  // Optional; called once, from the sink thread, with the outcome and this Work (parsed).
  std::function<void(const Status&, const Work&)> ack;
  // Set by the parse worker: what the sink prepared ahead of writing (event/sink.h), or null.
  std::shared_ptr<const event::PreparedBatch> prepared;
  std::uint64_t failed_to_parse = 0;    // set by the parse stage
  bool fail_fast = false;               // on a sink error, ack the error instead of retrying
  std::chrono::steady_clock::time_point submitted{};
};

// A stage between parse and sink (detection). One instance per parse worker.
class TransformStage {
 public:
  virtual ~TransformStage() = default;
  virtual std::string_view name() const = 0;
  // Processes the batch in place. An error is logged and counted; the batch still goes on to the
  // sink (losing events because an enrichment failed would be worse).
  virtual Status Process(event::Batch& batch) = 0;
};
using StageFactory = std::function<std::unique_ptr<TransformStage>()>;

struct PipelineOptions {
  int parse_workers = 2;
  std::size_t parse_queue_batches = 64;
  std::size_t sink_queue_batches = 32;
  int sink_retry_max_millis = 5000;  // back-off cap between failed Write retries
};

// A bounded FIFO of Work (mutex + condition variables; batches are large so contention is low).
class WorkQueue {
 public:
  explicit WorkQueue(std::size_t capacity) : capacity_(capacity) {}
  // Moves from `work` only on success.
  bool TryPush(Work& work);
  // Blocks while full; false when closed (work is kept by the caller).
  bool Push(Work& work);
  // Blocks while empty; false when closed and empty.
  bool Pop(Work& out);
  // Pops the first item only if there is one and `take` accepts it; never blocks.
  bool TryPopIf(const std::function<bool(const Work&)>& take, Work& out);
  void Close();
  std::size_t size() const;
  std::size_t capacity() const { return capacity_; }

 private:
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<Work> items_;
  bool closed_ = false;
};

struct StageFigures {
  std::uint64_t batches = 0;
  std::uint64_t events = 0;
  double latency_seconds_sum = 0;  // time from submit to the end of this stage, summed over batches
  std::uint64_t errors = 0;
};

class Pipeline {
 public:
  // `parsers`: the registry holding every Parser (ingest::RegisterParsers). REQUIRES: both outlive
  // the pipeline.
  Pipeline(PipelineOptions options, const core::Registry& parsers, event::EventSink& sink);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Registers a source. Errors: duplicate name; a format that no parser has.
  Result<Source*> AddSource(SourceSpec spec);
  // A source by name, or nullptr.
  Source* FindSource(std::string_view name) const;
  void AddStage(StageFactory factory);
  // True when `format` is "auto" or a registered parser name.
  bool KnowsFormat(const std::string& format) const;

  Status Start();
  // Closes the parse queue, lets the workers and the sink drain everything queued, joins.
  void Stop();

  // Hands a batch to the parse stage without blocking. False (work untouched) when the parse
  // queue is full or the pipeline is not running. An empty batch is acked at once.
  bool TrySubmit(Work& work);
  // True when the parse queue has room (a cheap hint for sources deciding whether to read).
  bool HasRoom() const { return parse_queue_.size() < parse_queue_.capacity(); }

  std::size_t parse_queue_depth() const { return parse_queue_.size(); }
  std::size_t sink_queue_depth() const { return sink_queue_.size(); }
  StageFigures parse_figures() const;
  StageFigures sink_figures() const;
  const PipelineOptions& options() const { return options_; }
  std::vector<Source*> sources() const;

  // Registers gauges (queue depths) and starts pushing counter deltas to `sink` once a second
  // (and once more at Stop). REQUIRES: before Start(); `sink` outlives the pipeline.
  void SetMetricsSink(MetricsSink* sink) { metrics_ = sink; }
  // Pushes the counter deltas since the last call (called by the reporter; public for tests).
  void PublishMetrics();

 private:
  class Worker;
  void ParseLoop(int index);
  void SinkLoop();
  void ReporterLoop();

  PipelineOptions options_;
  const core::Registry& parsers_;
  event::EventSink& sink_;
  std::vector<std::string> parser_names_;
  std::vector<std::unique_ptr<Source>> sources_;
  std::vector<StageFactory> stages_;
  WorkQueue parse_queue_;
  WorkQueue sink_queue_;
  std::vector<std::thread> workers_;
  std::thread sink_thread_;
  std::thread reporter_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  std::mutex reporter_mu_;
  std::condition_variable reporter_cv_;
  bool reporter_stop_ = false;

  mutable std::mutex figures_mu_;
  StageFigures parse_figures_, sink_figures_;
  MetricsSink* metrics_ = nullptr;
  std::mutex publish_mu_;
  std::map<std::string, std::uint64_t> published_;  // series key -> value already pushed
};

// "+08:00", "+0800", "-05:30", "UTC", "Z", and the fixed-offset zones of mainland China, Hong Kong,
// Macau and Taiwan ("Asia/Shanghai", ...) into minutes east of UTC.
Result<int> ParseTimezone(std::string_view text);

// True when `s` is valid UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);

}  // namespace medsoc::ingest
