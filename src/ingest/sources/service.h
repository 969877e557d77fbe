// IngestService: the whole ingest side of `medsoc serve`, built from IngestOptions: the pipeline,
// the syslog listeners, the file tails and the HTTP ingest logic.
//
//   start: pipeline (workers, sink thread) -> file tails -> syslog listeners
//   stop:  syslog listeners -> file tails (wait for in-flight acks, save checkpoints) -> pipeline
//          (drains everything queued into the sink)
//
// Thread-safety: Create/Start/Stop from one controlling thread; http() is safe from any thread.
#pragma once

#include <memory>
#include <string>

#include "core/registry.h"
#include "core/result.h"
#include "event/sink.h"
#include "ingest/options.h"
#include "ingest/pipeline.h"
#include "ingest/sources/file_tail.h"
#include "ingest/sources/http_ingest.h"
#include "ingest/sources/syslog.h"

namespace medsoc::ingest {

struct IngestServiceDeps {
  const core::Registry& parsers;   // with every Parser registered (RegisterParsers)
  event::EventSink& sink;          // the event store
  std::string data_dir;            // checkpoints default to <data_dir>/ingest/checkpoints.json
  MetricsSink* metrics = nullptr;  // optional
  StoredCheck stored_check;        // optional: exactly-once file restarts (see file_tail.h)
  std::vector<StageFactory> stages;  // transform stages between parse and sink (detection), in order
};

class IngestService {
 public:
  // Validates the options (formats exist, listener names unique, addresses parse) and binds every
  // listener, so a bad configuration or a port in use fails start-up with the listener's name.
  static Result<std::unique_ptr<IngestService>> Create(const IngestOptions& options, IngestServiceDeps deps);
  ~IngestService();

  Status Start();
  void Stop();

  Pipeline& pipeline() { return *pipeline_; }
  HttpIngest& http() { return *http_; }
  std::uint16_t listener_port(const std::string& name) const { return syslog_->port(name); }

 private:
  IngestService() = default;
  IngestOptions options_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<SyslogServer> syslog_;
  std::unique_ptr<FileTailer> files_;
  std::unique_ptr<HttpIngest> http_;
  bool started_ = false;
};

}  // namespace medsoc::ingest
