#include "assets/scan_service.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <thread>

namespace medsoc::assets {
namespace {

using store::TenantScope;

std::string FingerprintDir() {
  const char* src = std::getenv("MEDSOC_SOURCE_DIR");
  return std::string(src ? src : "../../..") + "/content/fingerprints";
}

// Today at hh:mm local time.
core::Timestamp LocalToday(int hh, int mm) {
  std::time_t now = std::time(nullptr);
  std::tm t{};
  localtime_r(&now, &t);
  t.tm_hour = hh;
  t.tm_min = mm;
  t.tm_sec = 0;
  t.tm_isdst = -1;
  return core::Timestamp::FromSeconds(static_cast<std::int64_t>(std::mktime(&t)));
}

// A loopback TCP port this test listens on (the only thing the scans touch).
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd_); }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

class ScanServiceTest : public ::testing::Test {
 protected:
  void TearDown() override { core::SetClockOffsetForTest(0); }
  // Moves core::Now() (used by the scan service and the ledger) to `t`.
  static void ClockAt(core::Timestamp t) {
    core::SetClockOffsetForTest(0);
    core::SetClockOffsetForTest(t.ns - core::Now().ns);
  }
  void SetUp() override {
    auto l = AssetLedger::Open(":memory:");
    ASSERT_TRUE(l.ok()) << l.error().ToString();
    ledger = std::move(*l);
  }
  std::unique_ptr<ScanService> Make(std::function<core::Timestamp()> clock, const std::string& windows) {
    ScanServiceOptions o;
    o.fingerprints_dir = FingerprintDir();
    o.oui_dir = "/nonexistent";
    o.scan_type = ScanType::kConnect;
    o.clock = std::move(clock);
    o.policy.windows.push_back(*ParseWindow(windows));
    auto s = ScanService::Create(*ledger, o);
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  TenantScope scope = TenantScope::Of("default");
  std::unique_ptr<AssetLedger> ledger;
  Listener listener;
};

TEST_F(ScanServiceTest, ScanInsideTheWindowRunsToTheEnd) {
  auto svc = Make([] { return LocalToday(10, 30); }, "daily 10:00-11:00");
  ASSERT_TRUE(svc);
  auto rec = svc->Start(scope, "tester", {.targets = "127.0.0.1", .ports = std::to_string(listener.port())});
  ASSERT_TRUE(rec.ok()) << rec.error().ToString();
  svc->WaitIdle();
  auto got = ledger->GetScan(scope, rec->id);
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ((*got)->status, "done") << (*got)->summary;
  EXPECT_EQ((*got)->services, 1);
}

TEST_F(ScanServiceTest, ScanOutsideEveryWindowIsRefused) {
  auto svc = Make([] { return LocalToday(12, 0); }, "daily 10:00-11:00");
  ASSERT_TRUE(svc);
  auto rec = svc->Start(scope, "tester", {.targets = "127.0.0.1", .ports = std::to_string(listener.port())});
  ASSERT_FALSE(rec.ok());
  EXPECT_EQ(rec.error().code(), ErrorCode::kFailedPrecondition);
}

TEST_F(ScanServiceTest, WindowEndingStopsARunningScan) {
  // Start() (on this thread) sees 10:59, inside; the scan's worker thread sees 11:00: the window
  // closed while the scan was queued or running.
  auto calls = std::make_shared<std::atomic<int>>(0);
  const auto test_thread = std::this_thread::get_id();
  auto svc = Make([calls, test_thread] {
    if (std::this_thread::get_id() == test_thread) return LocalToday(10, 59);
    calls->fetch_add(1);
    return LocalToday(11, 0);
  }, "daily 10:00-11:00");
  ASSERT_TRUE(svc);
  auto rec = svc->Start(scope, "tester", {.targets = "127.0.0.1", .ports = std::to_string(listener.port())});
  ASSERT_TRUE(rec.ok()) << rec.error().ToString();
  svc->WaitIdle();
  auto got = ledger->GetScan(scope, rec->id);
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ((*got)->status, "cancelled");
  EXPECT_NE((*got)->summary.find("maintenance window ended"), std::string::npos) << (*got)->summary;
  // Nothing of the stopped scan was merged into the ledger.
  EXPECT_EQ(*ledger->Count(scope), 0);
  EXPECT_GE(calls->load(), 1);
}

}  // namespace
}  // namespace medsoc::assets

namespace medsoc::assets {
namespace {

TEST_F(ScanServiceTest, TenantCronScheduleRunsAtItsTimeInsideTheWindow) {
  // The clock (shared by the ledger's scan records) is under the test's control; the scheduler
  // looks every second.
  ClockAt(LocalToday(10, 20));
  ScanServiceOptions o;
  o.fingerprints_dir = FingerprintDir();
  o.oui_dir = "/nonexistent";
  o.scan_type = ScanType::kConnect;
  o.schedule_check_seconds = 1;
  o.policy.windows.push_back(*ParseWindow("daily 10:00-11:00"));
  auto created = ScanService::Create(*ledger, o);
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  auto& svc = *created;

  // Bad schedules are refused with the reason.
  EXPECT_FALSE(svc->PutSchedule(scope, {.name = "config", .targets = "127.0.0.1", .cron = "* * * * *"}).ok());
  EXPECT_FALSE(svc->PutSchedule(scope, {.name = "x", .targets = "127.0.0.1", .cron = "61 * * * *"}).ok());
  EXPECT_FALSE(svc->PutSchedule(scope, {.name = "x", .targets = "127.0.0.1", .interval_minutes = 1}).ok());
  auto outside = svc->PutSchedule(scope, {.name = "x", .targets = "8.8.8.8", .cron = "* * * * *"});
  ASSERT_FALSE(outside.ok());
  EXPECT_EQ(outside.error().code(), ErrorCode::kPermissionDenied);

  const std::string port = std::to_string(listener.port());
  auto put = svc->PutSchedule(scope, {.name = "pacs-nightly", .targets = "127.0.0.1", .ports = port, .cron = "30 10 * * *"});
  ASSERT_TRUE(put.ok()) << put.error().ToString();
  auto runs = [&] {
    int n = 0;
    auto scans = ledger->ListScans(scope, 100);
    for (const auto& r : *scans) n += r.started_by == "schedule:pacs-nightly";
    return n;
  };
  auto list = svc->ListSchedules(scope);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].next_run, LocalToday(10, 30));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_EQ(runs(), 0);  // 10:20: not due yet

  ClockAt(LocalToday(10, 31));
  for (int i = 0; i < 300 && runs() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(runs(), 1);
  svc->WaitIdle();
  auto scans = ledger->ListScans(scope, 100);
  EXPECT_EQ((*scans)[0].kind, "scheduled");
  EXPECT_EQ((*scans)[0].status, "done") << (*scans)[0].summary;
  list = svc->ListSchedules(scope);
  EXPECT_EQ((*list)[0].last_status, "done");
  EXPECT_EQ((*list)[0].next_run, LocalToday(10, 30) + core::Days(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_EQ(runs(), 1);  // not again until tomorrow

  // Another tenant neither sees nor runs it.
  EXPECT_TRUE(svc->ListSchedules(TenantScope::Of("other"))->empty());
  ASSERT_TRUE(svc->DeleteSchedule(scope, "pacs-nightly").ok());
  EXPECT_EQ(svc->DeleteSchedule(scope, "pacs-nightly").error().code(), ErrorCode::kNotFound);
}

TEST_F(ScanServiceTest, DueScheduleWaitsForTheMaintenanceWindow) {
  ClockAt(LocalToday(9, 0));
  ScanServiceOptions o;
  o.fingerprints_dir = FingerprintDir();
  o.oui_dir = "/nonexistent";
  o.scan_type = ScanType::kConnect;
  o.schedule_check_seconds = 1;
  o.policy.windows.push_back(*ParseWindow("daily 10:00-11:00"));
  auto svc = ScanService::Create(*ledger, o);
  ASSERT_TRUE(svc.ok());
  // An interval schedule that never ran is due at once, but 09:00 is outside the window.
  ASSERT_TRUE((*svc)->PutSchedule(scope, {.name = "ext", .targets = "127.0.0.1", .ports = std::to_string(listener.port()),
                                          .interval_minutes = 60, .external = true}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_TRUE(ledger->ListScans(scope, 100)->empty());
  ClockAt(LocalToday(10, 0));
  for (int i = 0; i < 300 && ledger->ListScans(scope, 100)->empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  (*svc)->WaitIdle();
  auto scans = ledger->ListScans(scope, 100);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  scans = ledger->ListScans(scope, 100);
  ASSERT_EQ(scans->size(), 1u);  // next run an hour later
  EXPECT_EQ((*scans)[0].kind, "external");
  EXPECT_EQ((*scans)[0].status, "done");
  // The external scan fed the exposure ledger.
  auto exposures = ledger->ListExposures(scope);
  ASSERT_EQ(exposures->size(), 1u);
  EXPECT_EQ((*exposures)[0].public_port, listener.port());
  EXPECT_EQ((*exposures)[0].source, "scan");
}

}  // namespace
}  // namespace medsoc::assets
