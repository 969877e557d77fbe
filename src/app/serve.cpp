// `medsoc serve`: ordered start-up, wait for SIGTERM/SIGINT, ordered teardown.
//
// Start-up (each step may fail; a failure runs the teardown of the steps already done):
//   1. configuration (file, environment, --data)      4b. detection rules, detector, correlation state
//   2. logging; 2b. field catalog and parsers          4c. ingest pipeline (parse -> detect -> store)
//   3. state store (migrations); 3b. event store       5. routes registered and validated
//   4. master key, audit, auth, triage, notifications  6. HTTP server; 6b. ingest sources start
//                                                      7. first-start administrator (once)
// Then housekeeping runs (SLA clocks and notifications every 15 s, sessions and correlation state
// every minute, event retention hourly) until SIGTERM/SIGINT.
// Teardown (always, in reverse): housekeeping, the HTTP server (in-flight requests finish within
// server.shutdown_grace_seconds), ingest (queued batches drain into the store), correlation state
// saved, the stop recorded in the audit trail, the state store flushed.
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include "api/dispatcher.h"
#include "api/metrics.h"
#include "api/routes.h"
#include "api/routes_assets.h"
#include "api/routes_events.h"
#include "api/routes_ingest.h"
#include "api/routes_rules.h"
#include "app/asset_feedback.h"
#include "app/assets_cmd.h"
#include "app/detection_stage.h"
#include "app/triage_assets.h"
#include "assets/ledger.h"
#include "assets/scan_service.h"
#include "detect/detector.h"
#include "detect/placeholders.h"
#include "detect/rule_store.h"
#include "api/routes_triage.h"
#include "api/server.h"
#include "api/static_files.h"
#include "app/app.h"
#include "auth/audit.h"
#include "auth/service.h"
#include "core/log.h"
#include "core/master_key.h"
#include "core/time.h"
#include "event/catalog.h"
#include "ingest/parse/parser.h"
#include "ingest/pipeline.h"
#include "ingest/sources/service.h"
#include "store/events/sqlite_event_store.h"
#include "triage/notify/notify_service.h"
#include "triage/service.h"

namespace medsoc::app {
namespace {

int Fail(const std::string& step, const Error& e) {
  std::fprintf(stderr, "medsoc: start-up failed at %s: %s\n", step.c_str(), e.ToString().c_str());
  return 1;
}

// Test hook: when MEDSOC_TEST_CLOCK_FILE names a file, its content (an integer number of seconds)
// is polled and added to the clock, so integration tests can let sessions and lockouts expire
// without waiting. Not for production use; it only moves time forward for this process.
class TestClock {
 public:
  TestClock() {
    const char* path = std::getenv("MEDSOC_TEST_CLOCK_FILE");
    if (!path || !*path) return;
    spdlog::warn("MEDSOC_TEST_CLOCK_FILE is set: the clock follows {} (tests only)", path);
    thread_ = std::thread([this, p = std::string(path)] {
      while (!stop_.load()) {
        std::ifstream in(p);
        long long secs = 0;
        if (in >> secs && secs >= 0) core::SetClockOffsetForTest(core::Seconds(secs));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
  }
  ~TestClock() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Ingest figures into /metrics (ingest sits below api and knows only its MetricsSink).
class IngestMetricsAdapter final : public ingest::MetricsSink {
 public:
  explicit IngestMetricsAdapter(api::Metrics& m) : m_(m) {}
  void AddCounter(const std::string& n, const std::map<std::string, std::string>& l, double by) override {
    m_.IncCounter(n, l, by);
  }
  void AddGauge(const std::string& n, const std::string& h, std::function<double()> r) override {
    m_.AddGaugeCallback(n, h, std::move(r));
  }

 private:
  api::Metrics& m_;
};

// Periodic maintenance of the state store: removes sessions idle past the timeout (they would be
// refused anyway; this keeps the table small and the cookies' hashes out of the database).
class Housekeeping {
 public:
  // Every tick (15 s): SLA clocks and notification delivery. Every 60 s: idle sessions and event
  // block compaction. Every hour: event retention, compaction, size limit and compression (dropped
  // partitions are audited).
  Housekeeping(store::StateStore& store, const AuthOptions& auth, store::events::EventStore& events,
               triage::notify::NotificationService& notify, auth::AuditTrail& audit,
               std::function<void()> every_minute)
      : store_(store), auth_(auth), events_(events), notify_(notify), audit_(audit),
        every_minute_(std::move(every_minute)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Housekeeping() { Stop(); }
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    std::unique_lock lock(mu_);
    for (std::int64_t tick = 0; !stop_; ++tick) {
      lock.unlock();
      const core::Timestamp now = core::Now();
      if (auto t = notify_.Tick(now); !t.ok()) spdlog::warn("notifications: {}", t.error().ToString());
      if (tick % 4 == 0) {
        auto st = store_.DeleteSessionsIdleSince(now - core::Minutes(auth_.session_idle_minutes));
        if (!st.ok()) spdlog::warn("housekeeping: {}", st.error().ToString());
        if (every_minute_) every_minute_();
        if (tick % 240 != 0) CompactEvents(now);  // the hourly maintenance compacts too
      }
      if (tick % 240 == 0) MaintainEvents(now);
      lock.lock();
      cv_.wait_for(lock, std::chrono::seconds(15), [this] { return stop_; });
    }
  }

  // Small blocks from trickle ingest merged into full ones (cheap when there is nothing new).
  void CompactEvents(core::Timestamp now) {
    auto rep = events_.CompactBlocks(now);
    if (!rep.ok()) {
      spdlog::warn("event compaction: {}", rep.error().ToString());
    } else if (rep->blocks_merged > 0) {
      spdlog::debug("event compaction: {} small blocks merged into {}", rep->blocks_merged, rep->blocks_written);
    }
  }

  void MaintainEvents(core::Timestamp now) {
    auto rep = events_.RunMaintenance(now);
    if (!rep.ok()) {
      spdlog::warn("event maintenance: {}", rep.error().ToString());
      return;
    }
    for (const auto& d : rep->dropped)
      audit_.Record({.tenant_id = std::string(store::kDefaultTenant), .user = "-", .source_ip = "local",
                     .action = "events.partition.drop", .target = "events:" + d.day, .outcome = "success",
                     .detail = d.reason + " bytes=" + std::to_string(d.bytes) + " events=" + std::to_string(d.events)});
    if (rep->size_limit_unmet) spdlog::error("events.max_bytes cannot be met without dropping today's events");
  }

  store::StateStore& store_;
  const AuthOptions& auth_;
  store::events::EventStore& events_;
  triage::notify::NotificationService& notify_;
  auth::AuditTrail& audit_;
  std::function<void()> every_minute_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

int RunServe(const GlobalFlags& flags, const ServeFlags& serve) {
  // Signals are handled by sigwait below: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  // 1. configuration
  auto options_r = LoadOptions(flags);
  if (!options_r.ok()) return Fail("configuration", options_r.error());
  const Options options = std::move(*options_r);
  const bool tls = !options.server.tls.cert_file.empty();
  std::string listen = serve.listen.empty() ? options.server.listen : serve.listen;
  if (listen.empty()) listen = tls ? "127.0.0.1:8443" : "127.0.0.1:8080";
  auto host_port = SplitHostPort(listen);
  if (!host_port.ok()) return Fail("configuration", host_port.error());

  auto ingest_options = LoadIngestOptions(flags);
  if (!ingest_options.ok()) return Fail("configuration", ingest_options.error());

  // 2. logging
  if (auto st = core::InitLogging(options.log); !st.ok()) return Fail("logging", st.error());
  TestClock test_clock;

  // 2b. content: the field catalog first, so its fields get the fast direct ids, then parsers.
  const std::string content_dir = ResolveContentDir(options);
  event::Catalog catalog;
  for (const auto& e : catalog.LoadFile(content_dir + "/fields/ecs.yaml")) spdlog::warn("{}", e.ToString());
  core::Registry parsers;
  for (const auto& e : ingest::RegisterParsers(parsers, content_dir)) spdlog::warn("{}", e.ToString());
  parsers.Freeze();

  // 3. state store
  auto store_r = OpenStateStore(options);
  if (!store_r.ok()) return Fail("state store", store_r.error());
  std::unique_ptr<store::StateStore> store = std::move(*store_r);

  // 3b. event store (day partitions under <data_dir>/events)
  auto events_r = store::events::SqliteEventStore::Open(options.data_dir, options.events);
  if (!events_r.ok()) return Fail("event store", events_r.error());
  std::unique_ptr<store::events::SqliteEventStore> events = std::move(*events_r);

  // 4. services
  auto master_key = core::LoadOrCreateMasterKey(options);
  if (!master_key.ok()) return Fail("master key", master_key.error());
  const core::SecretBox secrets(std::move(*master_key));
  auth::AuditTrail audit(*store);
  auth::AuthService auth(*store, audit, options.auth);
  api::Metrics metrics;
  const std::string state_db = options.data_dir + "/state.db";
  auto triage_r = triage::TriageService::Open(state_db, {}, options.store.busy_timeout_ms);
  if (!triage_r.ok()) return Fail("triage", triage_r.error());
  std::unique_ptr<triage::TriageService> triage_service = std::move(*triage_r);
  auto ledger_r = assets::AssetLedger::Open(state_db, options.store.busy_timeout_ms);
  if (!ledger_r.ok()) return Fail("asset ledger", ledger_r.error());
  std::unique_ptr<assets::AssetLedger> ledger = std::move(*ledger_r);
  // Triage scores alerts against the ledger (criticality, zone, exposure), its own table as fallback.
  triage_service->SetAssetLookup(MakeLedgerAssetLookup(*ledger));
  auto scan_options = ServerScanOptions(options, content_dir);  // the assets: section: policy, schedule
  if (!scan_options.ok()) return Fail("assets", scan_options.error());
  std::unique_ptr<assets::ScanService> scans;
  if (auto sc = assets::ScanService::Create(*ledger, *scan_options); sc.ok()) scans = std::move(*sc);
  else spdlog::warn("scanner disabled: {}", sc.error().ToString());
  auto notify_r = triage::notify::NotificationService::Open(state_db, *triage_service, secrets);
  if (!notify_r.ok()) return Fail("notifications", notify_r.error());
  std::unique_ptr<triage::notify::NotificationService> notify = std::move(*notify_r);

  // 4b. detection: rule packs (ours, optional SigmaHQ, each tenant's custom rules), the detector
  // with its correlation state, and the pipeline stage that hands alerts to triage.
  detect::RuleServiceOptions rule_opts;
  rule_opts.logsource_dir = content_dir + "/logsources";
  rule_opts.builtin_paths = {content_dir + "/rules/medsoc"};
  rule_opts.sigmahq_dir = options.detect.sigmahq_dir;
  rule_opts.data_dir = options.data_dir;
  rule_opts.compile.unmapped_on_every_event = options.detect.unmapped_logsources == "every_event";
  if (!options.detect.placeholders_file.empty()) {
    auto ph = detect::LoadPlaceholdersFile(options.detect.placeholders_file, rule_opts.compile.placeholders);
    for (const auto& p : ph) spdlog::error("detect.placeholders_file: {}", p.ToString());
    if (!ph.empty())
      return Fail("detection rules", Error(ErrorCode::kInvalidArgument,
                                           "detect.placeholders_file: " + ph.front().ToString()));
  }
  auto rules_r = detect::RuleService::Open(rule_opts);
  if (!rules_r.ok()) return Fail("detection rules", rules_r.error());
  std::unique_ptr<detect::RuleService> rules = std::move(*rules_r);
  for (const auto& p : rules->summary().problems)
    if (p.severity != detect::Severity::kWarning) spdlog::warn("rules: {}", p.ToString());
  detect::DetectorOptions det_opts;
  det_opts.threads = options.detect.threads;
  det_opts.correlation.max_groups = static_cast<std::size_t>(options.detect.correlation_max_groups);
  det_opts.correlation.max_entries_per_group = static_cast<std::size_t>(options.detect.correlation_max_entries_per_group);
  detect::Detector detector(rules->rules(), det_opts);
  rules->AttachDetector(&detector);
  const std::string correlation_state = options.data_dir + "/detect/correlation.state";
  if (auto st = detector.LoadCorrelationState(correlation_state); !st.ok() && st.error().code() != ErrorCode::kNotFound)
    spdlog::warn("correlation state not restored, starting empty: {}", st.error().ToString());
  DetectionShared detection{.detector = detector, .triage = *triage_service};
  metrics.AddGaugeCallback("medsoc_detect_alerts_total", "Alerts handed from detection to triage",
                           [&detection] { return static_cast<double>(detection.alerts.load()); });
  metrics.AddGaugeCallback("medsoc_detect_triage_errors_total", "Alerts triage failed to record",
                           [&detection] { return static_cast<double>(detection.triage_errors.load()); });

  // 4c. ingest: listeners, file tails and HTTP ingest, through detection, into the event store
  IngestMetricsAdapter ingest_metrics(metrics);
  store::events::EventStore& event_store = *events;
  ingest::StoredCheck stored_check = [&event_store](const std::string& tenant, const std::string& path,
                                                    std::uint64_t offset) -> Result<bool> {
    std::string quoted;
    for (char c : path) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    store::events::EventQuery q;
    q.query = "log.file.path:\"" + quoted + "\" AND log.offset:" + std::to_string(offset);
    q.from = core::Timestamp{1};  // every partition
    auto n = event_store.Count(store::TenantScope::Of(tenant), q);
    if (!n.ok()) return n.error();
    return *n > 0;
  };
  // Ledger <-> events: internal addresses in events that no asset has become "unknown_in_logs"
  // changes, and every ledger change goes into the pipeline as an assets.change event.
  ingest::IngestService* ingest_for_feedback = nullptr;
  AssetFeedback asset_feedback(*ledger, [&ingest_for_feedback](const std::string& tenant, const std::string& ndjson) {
    if (ingest_for_feedback == nullptr) return false;
    auto r = ingest_for_feedback->http().Handle(
        {.tenant = tenant, .source = "medsoc.assets", .format = "", .dataset = "assets.change", .body = ndjson,
         .content_encoding = "", .remote_ip = "127.0.0.1"});
    return r.status / 100 == 2;
  });
  auto ingest_r = ingest::IngestService::Create(*ingest_options, {.parsers = parsers,
                                                                  .sink = *events,
                                                                  .data_dir = options.data_dir,
                                                                  .metrics = &ingest_metrics,
                                                                  .stored_check = stored_check,
                                                                  .stages = {asset_feedback.Stage(),
                                                                             MakeDetectionStage(detection)}});
  if (!ingest_r.ok()) return Fail("ingest", ingest_r.error());
  std::unique_ptr<ingest::IngestService> ingest_service = std::move(*ingest_r);
  ingest_for_feedback = ingest_service.get();
  ledger->SetChangeListener(asset_feedback.Listener());
  // Declared after ingest_service and asset_feedback, so destroyed before them on every return:
  // nothing reaches the feedback or the pipeline once either is gone.
  struct FeedbackDetach {
    assets::AssetLedger& ledger;
    ingest::IngestService*& ingest;
    ~FeedbackDetach() {
      ledger.SetChangeListener(nullptr);
      ingest = nullptr;
    }
  } feedback_detach{*ledger, ingest_for_feedback};

  // 5. routes
  api::Router router;
  api::ApiServices services{*store, auth, audit, metrics, options, secrets};
  api::RegisterSystemRoutes(router, services);
  api::RegisterAuthRoutes(router, services);
  api::RegisterAdminRoutes(router, services);
  api::RegisterEventRoutes(router, services, *events);
  api::RegisterIngestRoutes(router, services, ingest_service->http());
  api::RegisterRuleRoutes(router, services, *rules);
  api::RegisterAssetRoutes(router, services, *ledger, scans.get());
  api::RegisterTriageRoutes(router, services, *triage_service);
  api::RegisterNotifyRoutes(router, services, *notify);
  api::RegisterOpenApiRoute(router, MEDSOC_VERSION);
  if (auto st = router.Validate(); !st.ok()) return Fail("routes", st.error());
  api::Dispatcher dispatcher(router, services);
  const api::StaticFiles portal(api::ResolvePortalDir(options.server.portal_dir));
  dispatcher.SetPortal(&portal);

  // 6. HTTP server
  api::HttpServer server(options.server, [&dispatcher](api::Request& r) { return dispatcher.Handle(r); }, &metrics);
  if (auto st = server.Start(host_port->first, host_port->second); !st.ok()) return Fail("http server", st.error());
  const std::string scheme = server.tls() ? "https" : "http";
  std::string shown_host = host_port->first.find(':') != std::string::npos ? "[" + host_port->first + "]" : host_port->first;
  if (!server.tls())
    spdlog::warn("TLS is not configured (server.tls.cert_file): serving plain HTTP. Use TLS for any listener that "
                 "leaves this host.");
  audit.Record({.tenant_id = std::string(store::kDefaultTenant), .user = "-", .source_ip = "local",
                .action = "system.start", .outcome = "success",
                .detail = "medsoc " MEDSOC_VERSION " listening on " + scheme + "://" + shown_host + ":" +
                          std::to_string(server.port())});

  // 6b. ingest sources start once the API answers (HTTP ingest acknowledges through it)
  if (auto st = ingest_service->Start(); !st.ok()) {
    server.Stop();
    return Fail("ingest", st.error());
  }
  asset_feedback.Start();

  // 7. first-start administrator
  auto bootstrap = auth.BootstrapAdmin();
  if (!bootstrap.ok()) {
    server.Stop();
    ingest_service->Stop();
    return Fail("first-start administrator", bootstrap.error());
  }
  std::printf("medsoc %s listening on %s://%s:%u\n", MEDSOC_VERSION, scheme.c_str(), shown_host.c_str(),
              static_cast<unsigned>(server.port()));
  std::printf("  API: %s://%s:%u/api/v1/openapi.json   data: %s\n", scheme.c_str(), shown_host.c_str(),
              static_cast<unsigned>(server.port()), options.data_dir.c_str());
  if (*bootstrap) {
    std::printf("\n  首次启动：已创建系统管理员 / first start: created the system administrator\n");
    std::printf("    username: admin\n    password: %s\n", (*bootstrap)->c_str());
    std::printf("  此密码只显示一次，首次登录后必须修改。This password is shown once; change it at first login.\n\n");
  }
  std::fflush(stdout);

  Housekeeping housekeeping(*store, options.auth, *events, *notify, audit, [&detector, &correlation_state] {
    // Correlation state survives a crash up to the last minute (and a clean stop entirely).
    if (auto st = detector.SaveCorrelationState(correlation_state); !st.ok())
      spdlog::warn("correlation state not saved: {}", st.error().ToString());
  });

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");

  // Teardown, in reverse order.
  housekeeping.Stop();
  server.Stop();           // in-flight requests (HTTP ingest included) get their answers first
  if (scans) scans->Stop();
  ledger->SetChangeListener(nullptr);
  asset_feedback.Stop();   // pending sightings and change events go in while the pipeline runs
  ingest_service->Stop();  // then sources stop and queued batches drain into the store
  triage_service->SetAssetLookup(nullptr);  // the ledger goes before triage
  if (auto st = detector.SaveCorrelationState(correlation_state); !st.ok())
    spdlog::error("correlation state not saved: {}", st.error().ToString());
  audit.Record({.tenant_id = std::string(store::kDefaultTenant), .user = "-", .source_ip = "local",
                .action = "system.stop", .outcome = "success", .detail = "signal " + std::to_string(sig)});
  if (auto st = store->Flush(); !st.ok()) spdlog::error("flushing the state store: {}", st.error().ToString());
  std::printf("medsoc stopped\n");
  return 0;
}

}  // namespace medsoc::app
