// `medsoc serve`: ordered start-up, wait for SIGTERM/SIGINT, ordered teardown.
//
// Start-up (each step may fail; a failure runs the teardown of the steps already done):
//   1. configuration (file, environment, --data)      5. routes registered and validated
//   2. logging                                         6. HTTP server bound and started
//   3. state store opened, migrations applied          7. first-start administrator (once)
//   4. audit trail and authentication services
// Teardown (always, in reverse): stop the server (in-flight requests finish within
// server.shutdown_grace_seconds), record the stop in the audit trail, flush the store.
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "api/dispatcher.h"
#include "api/metrics.h"
#include "api/routes.h"
#include "api/server.h"
#include "api/static_files.h"
#include "app/app.h"
#include "auth/audit.h"
#include "auth/service.h"
#include "core/log.h"
#include "core/master_key.h"
#include "core/time.h"

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

// Periodic maintenance of the state store: removes sessions idle past the timeout (they would be
// refused anyway; this keeps the table small and the cookies' hashes out of the database).
class Housekeeping {
 public:
  Housekeeping(store::StateStore& store, const AuthOptions& auth) : store_(store), auth_(auth) {
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
    while (!stop_) {
      lock.unlock();
      auto st = store_.DeleteSessionsIdleSince(core::Now() - core::Minutes(auth_.session_idle_minutes));
      if (!st.ok()) spdlog::warn("housekeeping: {}", st.error().ToString());
      lock.lock();
      cv_.wait_for(lock, std::chrono::seconds(60), [this] { return stop_; });
    }
  }

  store::StateStore& store_;
  const AuthOptions& auth_;
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

  // 2. logging
  if (auto st = core::InitLogging(options.log); !st.ok()) return Fail("logging", st.error());
  TestClock test_clock;

  // 3. state store
  auto store_r = OpenStateStore(options);
  if (!store_r.ok()) return Fail("state store", store_r.error());
  std::unique_ptr<store::StateStore> store = std::move(*store_r);

  // 4. services
  auto master_key = core::LoadOrCreateMasterKey(options);
  if (!master_key.ok()) return Fail("master key", master_key.error());
  const core::SecretBox secrets(std::move(*master_key));
  auth::AuditTrail audit(*store);
  auth::AuthService auth(*store, audit, options.auth);
  api::Metrics metrics;

  // 5. routes
  api::Router router;
  api::ApiServices services{*store, auth, audit, metrics, options, secrets};
  api::RegisterSystemRoutes(router, services);
  api::RegisterAuthRoutes(router, services);
  api::RegisterAdminRoutes(router, services);
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

  // 7. first-start administrator
  auto bootstrap = auth.BootstrapAdmin();
  if (!bootstrap.ok()) {
    server.Stop();
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

  Housekeeping housekeeping(*store, options.auth);

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");

  // Teardown, in reverse order.
  housekeeping.Stop();
  server.Stop();
  audit.Record({.tenant_id = std::string(store::kDefaultTenant), .user = "-", .source_ip = "local",
                .action = "system.stop", .outcome = "success", .detail = "signal " + std::to_string(sig)});
  if (auto st = store->Flush(); !st.ok()) spdlog::error("flushing the state store: {}", st.error().ToString());
  std::printf("medsoc stopped\n");
  return 0;
}

}  // namespace medsoc::app
