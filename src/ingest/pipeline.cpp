// The ingest pipeline: see pipeline.h for the stages and their contracts.
#include "ingest/pipeline.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/time.h"
#include "event/field.h"
#include "ingest/parse/parser.h"

namespace medsoc::ingest {

// ---- WorkQueue -----------------------------------------------------------------------------------

bool WorkQueue::TryPush(Work& work) {
  {
    std::lock_guard lock(mu_);
    if (closed_ || items_.size() >= capacity_) return false;
    items_.push_back(std::move(work));
  }
  not_empty_.notify_one();
  return true;
}

bool WorkQueue::Push(Work& work) {
  {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    if (closed_) return false;
    items_.push_back(std::move(work));
  }
  not_empty_.notify_one();
  return true;
}

bool WorkQueue::Pop(Work& out) {
  {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return false;
    out = std::move(items_.front());
    items_.pop_front();
  }
  not_full_.notify_one();
  return true;
}

bool WorkQueue::TryPopIf(const std::function<bool(const Work&)>& take, Work& out) {
  {
    std::lock_guard lock(mu_);
    if (items_.empty() || !take(items_.front())) return false;
    out = std::move(items_.front());
    items_.pop_front();
  }
  not_full_.notify_one();
  return true;
}

void WorkQueue::Close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  not_empty_.notify_all();
  not_full_.notify_all();
}

std::size_t WorkQueue::size() const {
  std::lock_guard lock(mu_);
  return items_.size();
}

// ---- helpers -------------------------------------------------------------------------------------

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    // Fast path: eight ASCII bytes at a time.
    while (i + 8 <= n) {
      std::uint64_t w;
      __builtin_memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

bool IsValidDataset(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s[0])) return false;
  for (char c : s)
    if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

Result<int> ParseTimezone(std::string_view t) {
  if (t == "UTC" || t == "Z" || t == "utc" || t == "Etc/UTC" || t == "GMT") return 0;
  static const char* const kChina[] = {"Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "Asia/Urumqi",
                                       "Asia/Hong_Kong", "Asia/Macau",    "Asia/Taipei", "PRC"};
  for (const char* z : kChina)
    if (t == z) return t == "Asia/Urumqi" ? 360 : 480;
  auto bad = [&] {
    return Error(ErrorCode::kInvalidArgument,
                 "timezone '" + std::string(t) + "' is not +HH:MM, -HH:MM, UTC or a China zone name (Asia/Shanghai)");
  };
  if (t.size() < 3 || (t[0] != '+' && t[0] != '-')) return bad();
  std::string digits;
  for (std::size_t i = 1; i < t.size(); ++i) {
    if (t[i] == ':' && i == 3) continue;
    if (t[i] < '0' || t[i] > '9') return bad();
    digits.push_back(t[i]);
  }
  if (digits.size() != 2 && digits.size() != 4) return bad();
  const int hh = (digits[0] - '0') * 10 + (digits[1] - '0');
  const int mm = digits.size() == 4 ? (digits[2] - '0') * 10 + (digits[3] - '0') : 0;
  if (hh > 14 || mm > 59) return bad();
  const int minutes = hh * 60 + mm;
  return t[0] == '-' ? -minutes : minutes;
}

// ---- Pipeline ------------------------------------------------------------------------------------

// One parse worker's private state: its parsers and stage instances.
class Pipeline::Worker {
 public:
  Worker(const core::Registry& registry, const std::vector<std::string>& names,
         const std::vector<StageFactory>& stages)
      : registry_(registry), names_(names) {
    for (const auto& f : stages) stages_.push_back(f());
    auto& table = event::DefaultFieldTable();
    if (auto id = table.Intern("tags"); id.ok()) tags_ = *id;
    if (auto id = table.Intern("log.file.path"); id.ok()) file_path_ = *id;
    if (auto id = table.Intern("log.offset"); id.ok()) offset_ = *id;
    if (auto id = table.Intern("log.source.address"); id.ok()) sender_ = *id;
    if (auto id = table.Intern("event.dataset"); id.ok()) dataset_ = *id;
  }

  Parser* ByName(const std::string& name) {
    auto it = by_name_.find(name);
    if (it != by_name_.end()) return it->second.get();
    auto created = registry_.Create<Parser>(name);
    if (!created.ok()) return nullptr;
    Parser* p = created->get();
    by_name_.emplace(name, std::move(*created));
    return p;
  }

  // The parser for a source and format. Stateful parsers (the registry's "auto" AutoDetector
  // locks onto a format per source) get one instance per source in each worker.
  Parser* For(const Source* source, const std::string& format) {
    if (format != "auto") return ByName(format);
    auto it = auto_by_source_.find(source);
    if (it != auto_by_source_.end()) return it->second.get();
    auto created = registry_.Create<Parser>("auto");
    if (!created.ok()) return nullptr;  // no "auto" registered: Detect() below
    Parser* p = created->get();
    auto_by_source_.emplace(source, std::move(*created));
    return p;
  }

  // Fallback auto-detection when the registry has no "auto" parser: the parser that detected the
  // previous message of this source is tried first; the full scan runs only when it is unsure.
  Parser* Detect(const Source* source, std::string_view message) {
    Parser*& last = last_by_source_[source];
    if (last && last->Detect(message) >= 70) return last;
    Parser* best = nullptr;
    int best_score = 0;
    for (const std::string& n : names_) {
      Parser* p = ByName(n);
      if (!p) continue;
      const int score = p->Detect(message);
      if (score > best_score) {
        best = p;
        best_score = score;
      }
    }
    if (best_score < 10) return nullptr;
    last = best;
    return best;
  }

  void Process(Work& work, SourceCounters& counters) {
    const SourceSpec& spec = work.source->spec();
    const std::string& format = work.format.empty() ? spec.format : work.format;
    Parser* fixed = For(work.source, format);
    const bool automatic = fixed == nullptr && format == "auto";
    ParseContext ctx;
    ctx.source_name = spec.name;
    ctx.tz_offset_minutes = spec.tz_offset_minutes;
    ctx.now = core::Now();
    ctx.max_message_bytes = spec.max_message_bytes;
    std::uint64_t parsed = 0, failed = 0, invalid = 0;
    const std::string_view path = work.file_path.empty() ? std::string_view() : work.batch.CopyString(work.file_path);
    const std::string_view source_dataset = spec.dataset.empty() ? std::string_view() : work.batch.CopyString(spec.dataset);
    auto per_event = [](const std::vector<std::string_view>& v, std::size_t i) {
      return v.size() == 1 ? v[0] : i < v.size() ? v[i] : std::string_view();
    };
    for (std::size_t i = 0; i < work.batch.size(); ++i) {
      event::Event& e = work.batch[i];
      const std::string_view raw = e.raw();
      Parser* parser = automatic ? Detect(work.source, raw) : fixed;
      if (parser == nullptr) {
        e.set_parse_error(automatic ? "no parser recognised the message format"
                                    : "no parser named '" + format + "'");
        ++failed;
      } else {
        Status st = parser->Parse(raw, ctx, e);
        if (st.ok()) {
          ++parsed;
        } else {
          std::string msg = std::string(parser->name()) + ": " + st.error().message();
          e.set_parse_error(msg);
          ++failed;
        }
      }
      if (e.time().ns == 0) e.set_time(e.ingest_time());
      if (tags_.valid()) {
        if (i < work.flags.size() && (work.flags[i] & kFlagTruncated))
          e.Append(tags_, event::Value::String("truncated"));
        if (!IsValidUtf8(raw)) {
          e.Append(tags_, event::Value::String("invalid_utf8"));
          ++invalid;
        }
      }
      if (!path.empty() && file_path_.valid() && offset_.valid() && i < work.offsets.size()) {
        e.Set(file_path_, event::Value::String(path));
        e.Set(offset_, event::Value::Int(static_cast<std::int64_t>(work.offsets[i])));
      }
      if (const std::string_view from = per_event(work.senders, i); !from.empty() && sender_.valid()) {
        // An IP value (CIDR search); a text that is no address is kept as text.
        if (auto ip = event::IpAddress::Parse(from)) e.Set(sender_, event::Value::Ip(*ip));
        else e.Set(sender_, event::Value::String(from));
      }
      std::string_view dataset = per_event(work.datasets, i);
      if (dataset.empty()) dataset = source_dataset;
      if (!dataset.empty() && dataset_.valid()) e.Set(dataset_, event::Value::String(dataset));
    }
    work.failed_to_parse = failed;
    counters.parsed.fetch_add(parsed, std::memory_order_relaxed);
    counters.failed.fetch_add(failed, std::memory_order_relaxed);
    counters.invalid_utf8.fetch_add(invalid, std::memory_order_relaxed);
  }

  std::vector<std::unique_ptr<TransformStage>>& stages() { return stages_; }

 private:
  const core::Registry& registry_;
  const std::vector<std::string>& names_;
  std::map<std::string, std::unique_ptr<Parser>> by_name_;
  std::map<const Source*, Parser*> last_by_source_;
  std::map<const Source*, std::unique_ptr<Parser>> auto_by_source_;
  std::vector<std::unique_ptr<TransformStage>> stages_;
  event::FieldId tags_, file_path_, offset_, sender_, dataset_;
};

Pipeline::Pipeline(PipelineOptions options, const core::Registry& parsers, event::EventSink& sink)
    : options_(options),
      parsers_(parsers),
      sink_(sink),
      parser_names_(parsers.Names<Parser>()),
      parse_queue_(std::max<std::size_t>(1, options.parse_queue_batches)),
      sink_queue_(std::max<std::size_t>(1, options.sink_queue_batches)) {
  if (options_.parse_workers <= 0)
    options_.parse_workers = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

Pipeline::~Pipeline() { Stop(); }

bool Pipeline::KnowsFormat(const std::string& format) const {
  return format == "auto" || std::find(parser_names_.begin(), parser_names_.end(), format) != parser_names_.end();
}

Result<Source*> Pipeline::AddSource(SourceSpec spec) {
  if (running_) return Error(ErrorCode::kFailedPrecondition, "pipeline already started; cannot add source '" + spec.name + "'");
  if (FindSource(spec.name)) return Error(ErrorCode::kAlreadyExists, "ingest source '" + spec.name + "' is defined twice");
  if (!KnowsFormat(spec.format)) {
    std::string known;
    for (const auto& n : parser_names_) known += (known.empty() ? "" : ", ") + n;
    return Error(ErrorCode::kInvalidArgument,
                 "ingest source '" + spec.name + "': unknown format '" + spec.format + "' (auto or one of: " + known + ")");
  }
  sources_.push_back(std::make_unique<Source>(std::move(spec)));
  return sources_.back().get();
}

Source* Pipeline::FindSource(std::string_view name) const {
  for (const auto& s : sources_)
    if (s->spec().name == name) return s.get();
  return nullptr;
}

std::vector<Source*> Pipeline::sources() const {
  std::vector<Source*> out;
  for (const auto& s : sources_) out.push_back(s.get());
  return out;
}

void Pipeline::AddStage(StageFactory factory) { stages_.push_back(std::move(factory)); }

Status Pipeline::Start() {
  if (running_) return Error(ErrorCode::kFailedPrecondition, "pipeline already started");
  running_ = true;
  for (int i = 0; i < options_.parse_workers; ++i) workers_.emplace_back([this, i] { ParseLoop(i); });
  sink_thread_ = std::thread([this] { SinkLoop(); });
  if (metrics_) {
    metrics_->AddGauge("medsoc_ingest_parse_queue_batches", "Batches waiting for a parse worker.",
                       [this] { return static_cast<double>(parse_queue_depth()); });
    metrics_->AddGauge("medsoc_ingest_sink_queue_batches", "Parsed batches waiting to be stored.",
                       [this] { return static_cast<double>(sink_queue_depth()); });
    reporter_ = std::thread([this] { ReporterLoop(); });
  }
  return Ok();
}

void Pipeline::Stop() {
  if (!running_.exchange(false)) return;
  // A sink that keeps failing must not hold shutdown forever: from here failures are acked.
  stopping_ = true;
  // Drain: the parse queue closes for new work; workers finish what is queued, then the sink.
  parse_queue_.Close();
  for (auto& t : workers_) t.join();
  workers_.clear();
  sink_queue_.Close();
  if (sink_thread_.joinable()) sink_thread_.join();
  {
    std::lock_guard lock(reporter_mu_);
    reporter_stop_ = true;
  }
  reporter_cv_.notify_all();
  if (reporter_.joinable()) reporter_.join();
  if (metrics_) PublishMetrics();
}

bool Pipeline::TrySubmit(Work& work) {
  MEDSOC_ASSERT(work.source != nullptr);
  if (!running_) return false;
  if (work.batch.empty()) {
    if (work.ack) work.ack(Ok(), work);
    work.ack = nullptr;
    return true;
  }
  work.submitted = std::chrono::steady_clock::now();
  return parse_queue_.TryPush(work);
}

void Pipeline::ParseLoop(int index) {
  Worker worker(parsers_, parser_names_, stages_);
  Work work;
  while (parse_queue_.Pop(work)) {
    worker.Process(work, work.source->counters());
    std::uint64_t stage_errors = 0;
    for (auto& stage : worker.stages()) {
      Status st = stage->Process(work.batch);
      if (!st.ok()) {
        ++stage_errors;
        spdlog::warn("ingest: stage {} failed on a batch of {}: {}", stage->name(), work.source->spec().name,
                     st.error().ToString());
      }
    }
    // The sink's own work that needs no order (the event store encodes its blocks), here in
    // parallel rather than on the single sink thread.
    work.prepared = sink_.Prepare(work.batch);
    const double latency =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - work.submitted).count();
    {
      std::lock_guard lock(figures_mu_);
      ++parse_figures_.batches;
      parse_figures_.events += work.batch.size();
      parse_figures_.latency_seconds_sum += latency;
      parse_figures_.errors += stage_errors;
    }
    if (!sink_queue_.Push(work)) {
      // Only when the sink queue closed under us, which Stop() does after the workers ended.
      if (work.ack) work.ack(Error(ErrorCode::kUnavailable, "ingest pipeline stopped"), work);
    }
    work = Work{};
  }
  (void)index;
}

void Pipeline::SinkLoop() {
  // Group commit: batches already waiting when the sink is free are written together (one
  // transaction and one fsync), up to the sink's limit and kMaxGroupEvents. A fail_fast batch
  // (HTTP ingest) is written on its own, so that its error and its 503 stay its own.
  constexpr std::size_t kMaxGroupEvents = 65536;
  const std::size_t group_limit = std::max<std::size_t>(1, sink_.write_group_limit());
  std::vector<Work> group;
  std::vector<event::PreparedWrite> writes;
  Work work;
  while (sink_queue_.Pop(work)) {
    group.clear();
    std::size_t events = work.batch.size();
    const bool alone = work.fail_fast;
    group.push_back(std::move(work));
    while (!alone && group.size() < group_limit && events < kMaxGroupEvents &&
           sink_queue_.TryPopIf([](const Work& w) { return !w.fail_fast; }, work)) {
      events += work.batch.size();
      group.push_back(std::move(work));
    }
    writes.clear();
    for (const Work& w : group) writes.push_back({&w.batch, w.prepared.get()});
    int backoff_ms = std::min(50, options_.sink_retry_max_millis);
    Status st = Ok();
    while (true) {
      if (group.size() == 1)
        st = group[0].prepared ? sink_.WritePrepared(group[0].batch, group[0].prepared.get()) : sink_.Write(group[0].batch);
      else
        st = sink_.WriteGroup(writes);
      if (st.ok() || alone || stopping_) break;
      spdlog::error("ingest: storing {} batch(es), {} events, from {} failed (retrying in {} ms): {}", group.size(),
                    events, group[0].source->spec().name, backoff_ms, st.error().ToString());
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
      backoff_ms = std::min(backoff_ms * 2, options_.sink_retry_max_millis);
    }
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(figures_mu_);
      for (const Work& w : group) {
        ++sink_figures_.batches;
        sink_figures_.events += w.batch.size();
        sink_figures_.latency_seconds_sum += std::chrono::duration<double>(now - w.submitted).count();
        if (!st.ok()) ++sink_figures_.errors;
      }
    }
    for (Work& w : group) {
      if (st.ok()) w.source->counters().stored.fetch_add(w.batch.size(), std::memory_order_relaxed);
      if (w.ack) w.ack(st, w);
    }
    group.clear();
  }
}

StageFigures Pipeline::parse_figures() const {
  std::lock_guard lock(figures_mu_);
  return parse_figures_;
}

StageFigures Pipeline::sink_figures() const {
  std::lock_guard lock(figures_mu_);
  return sink_figures_;
}

void Pipeline::ReporterLoop() {
  std::unique_lock lock(reporter_mu_);
  while (!reporter_stop_) {
    reporter_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return reporter_stop_; });
    lock.unlock();
    PublishMetrics();
    lock.lock();
  }
}

void Pipeline::PublishMetrics() {
  if (!metrics_) return;
  std::lock_guard lock(publish_mu_);
  auto push = [&](const std::string& name, const std::map<std::string, std::string>& labels, std::uint64_t now) {
    std::string key = name;
    for (const auto& [k, v] : labels) key += "|" + k + "=" + v;
    std::uint64_t& last = published_[key];
    if (now > last) metrics_->AddCounter(name, labels, static_cast<double>(now - last));
    last = now;
  };
  for (const auto& s : sources_) {
    const SourceCounters& c = s->counters();
    const std::map<std::string, std::string> l{{"source", s->spec().name}};
    push("medsoc_ingest_received_total", l, c.received.load());
    push("medsoc_ingest_received_bytes_total", l, c.bytes.load());
    push("medsoc_ingest_parsed_total", l, c.parsed.load());
    push("medsoc_ingest_failed_to_parse_total", l, c.failed.load());
    push("medsoc_ingest_dropped_total", l, c.dropped.load());
    push("medsoc_ingest_refused_total", l, c.refused.load());
    push("medsoc_ingest_truncated_total", l, c.truncated.load());
    push("medsoc_ingest_invalid_utf8_total", l, c.invalid_utf8.load());
    push("medsoc_ingest_framing_errors_total", l, c.framing_errors.load());
    push("medsoc_ingest_stored_total", l, c.stored.load());
  }
  const StageFigures p = parse_figures(), k = sink_figures();
  // Latency as Prometheus summary-style counters (sum in microseconds to stay integral).
  push("medsoc_ingest_stage_batches_total", {{"stage", "parse"}}, p.batches);
  push("medsoc_ingest_stage_events_total", {{"stage", "parse"}}, p.events);
  push("medsoc_ingest_stage_errors_total", {{"stage", "parse"}}, p.errors);
  push("medsoc_ingest_stage_latency_microseconds_sum", {{"stage", "parse"}},
       static_cast<std::uint64_t>(p.latency_seconds_sum * 1e6));
  push("medsoc_ingest_stage_batches_total", {{"stage", "sink"}}, k.batches);
  push("medsoc_ingest_stage_events_total", {{"stage", "sink"}}, k.events);
  push("medsoc_ingest_stage_errors_total", {{"stage", "sink"}}, k.errors);
  push("medsoc_ingest_stage_latency_microseconds_sum", {{"stage", "sink"}},
       static_cast<std::uint64_t>(k.latency_seconds_sum * 1e6));
}

}  // namespace medsoc::ingest
