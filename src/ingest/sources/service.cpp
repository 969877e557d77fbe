#include "ingest/sources/service.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <set>
#include <thread>

namespace medsoc::ingest {

Result<std::unique_ptr<IngestService>> IngestService::Create(const IngestOptions& options, IngestServiceDeps deps) {
  std::unique_ptr<IngestService> s(new IngestService());
  s->options_ = options;
  PipelineOptions po;
  po.parse_workers = options.parse_workers > 0 ? options.parse_workers
                                               : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  po.parse_queue_batches = options.parse_queue_batches;
  po.sink_queue_batches = options.sink_queue_batches;
  s->pipeline_ = std::make_unique<Pipeline>(po, deps.parsers, deps.sink);
  if (deps.metrics) s->pipeline_->SetMetricsSink(deps.metrics);
  for (auto& stage : deps.stages) s->pipeline_->AddStage(std::move(stage));

  // HTTP ingest: one pipeline source "http" (request ?source= names events, not metrics series).
  MEDSOC_ASSIGN_OR_RETURN(Source * http_source,
                          s->pipeline_->AddSource({.name = "http", .format = "auto", .tz_offset_minutes = 480,
                                                   .max_message_bytes = options.http.max_event_bytes}));
  s->http_ = std::make_unique<HttpIngest>(*s->pipeline_, http_source, options.http);

  s->syslog_ = std::make_unique<SyslogServer>(
      *s->pipeline_, SyslogServerOptions{.io_threads = 1,
                                         .batch_events = options.batch_events,
                                         .batch_millis = options.batch_millis});
  std::set<std::string> names{"http"};
  for (const auto& l : options.listeners) {
    if (l.name.empty()) return Error(ErrorCode::kInvalidArgument, "ingest listener without a name");
    if (!names.insert(l.name).second)
      return Error(ErrorCode::kInvalidArgument, "ingest listener name '" + l.name + "' is used twice");
    MEDSOC_ASSIGN_OR_RETURN(Source * src, s->pipeline_->AddSource({.name = l.name,
                                                                   .format = l.format,
                                                                   .tz_offset_minutes = l.tz_offset_minutes,
                                                                   .max_message_bytes = l.max_message_bytes,
                                                                   .dataset = l.dataset}));
    MEDSOC_TRY(s->syslog_->Add(l, src));
  }

  std::string checkpoints = options.checkpoint_file;
  if (checkpoints.empty()) {
    const std::string dir = deps.data_dir + "/ingest";
    ::mkdir(dir.c_str(), 0700);
    checkpoints = dir + "/checkpoints.json";
  }
  s->files_ = std::make_unique<FileTailer>(
      *s->pipeline_, FileTailOptions{.checkpoint_file = checkpoints, .batch_events = options.batch_events},
      deps.stored_check);
  for (const auto& f : options.files) {
    const std::string name = "file:" + (f.source.empty() ? f.path : f.source);
    Source* src = s->pipeline_->FindSource(name);
    if (!src) {
      MEDSOC_ASSIGN_OR_RETURN(src, s->pipeline_->AddSource({.name = name,
                                                            .format = f.format,
                                                            .tz_offset_minutes = f.tz_offset_minutes,
                                                            .max_message_bytes = f.max_message_bytes,
                                                            .dataset = f.dataset}));
    }
    MEDSOC_TRY(s->files_->Add(f, src));
  }
  return s;
}

IngestService::~IngestService() { Stop(); }

Status IngestService::Start() {
  MEDSOC_TRY(pipeline_->Start());
  started_ = true;
  if (auto st = files_->Start(); !st.ok()) {
    Stop();
    return st;
  }
  if (auto st = syslog_->Start(); !st.ok()) {
    Stop();
    return st;
  }
  return Ok();
}

void IngestService::Stop() {
  if (!started_) return;
  started_ = false;
  syslog_->Stop();
  files_->Stop();
  pipeline_->Stop();
}

}  // namespace medsoc::ingest
