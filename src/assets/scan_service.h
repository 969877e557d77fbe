// ScanService: scans started from the server (the API or the schedule), run in the background,
// recorded in the ledger with who started them and their scope, and merged into the ledger.
//
// Scheduled scans: from the configuration (assets.schedule.*, name "config") and per tenant from
// the API (stored in the ledger). Each runs when `interval_minutes` have passed since its last run,
// or, with a cron expression, at the first fire time after its last run (found in the scans table
// by started_by "schedule:<name>", so restarts do not reset it), and the policy's maintenance
// windows allow it: a run due outside every window starts when the next window opens. External scans (kind "external") feed the internet
// exposure ledger: every open public address:port not yet in it becomes a new_exposure change.
//
// Maintenance windows are honoured for the whole scan, not only at its start: a running or queued
// scan is stopped (status cancelled, summary "maintenance window ended") as soon as the policy's
// windows no longer include the current time, so no probe reaches a fragile network outside them.
//
// Domain inventory: every scan adds the DNS names of the certificates it saw (subjectAltName) and
// the reverse-DNS names of the hosts, with their addresses and assets (AssetLedger::ObserveDomains).
//
// Thread-safety: all methods are safe from any thread. Scans run one at a time per service
// (max_concurrent) on worker threads; Stop() cancels running scans and joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "assets/fingerprints.h"
#include "assets/ledger.h"
#include "assets/oui.h"
#include "assets/scanner.h"
#include "assets/scope.h"

namespace medsoc::assets {

struct ScheduledScan {
  std::string name;                  // unique; recorded as started_by "schedule:<name>"
  std::string tenant = "default";
  std::string targets;               // target spec (see scope.h)
  std::string ports = "top1000";
  int interval_minutes = 1440;       // how often
  bool external = false;             // an internet-side scan of public addresses (exposure ledger)
  int rate = 0;                      // probes per second; 0: the policy's rate (never above it)
  std::string cron;                  // non-empty: runs at these times (cron.h) instead of by interval
  bool enabled = true;
  core::Timestamp created_at;        // a cron schedule's first run is its first fire time after this
};

// A schedule with what the scheduler knows of it.
struct ScheduleStatus {
  ScheduledScan schedule;
  bool from_config = false;          // assets.schedule.* (not editable through the API)
  core::Timestamp last_run;          // 0: never
  std::string last_status;
  std::optional<core::Timestamp> next_run;  // nullopt: disabled or never
};

struct ScanServiceOptions {
  std::string fingerprints_dir = "content/fingerprints";
  std::string oui_dir = "/usr/share/ieee-data";
  ScanPolicy policy;                 // applies to every server-side scan; an empty allow-list
                                     // becomes the private ranges (RFC 1918, 100.64/10, loopback,
                                     // link-local): public targets need explicit configuration
  std::string default_ports = "top1000";
  ScanType scan_type = ScanType::kAuto;  // SYN with raw sockets when privileged (see scanner.h)
  std::string snmp_community;        // empty: no SNMP probes
  int max_concurrent = 1;
  std::vector<ScheduledScan> schedules;
  int schedule_check_seconds = 30;
  // The clock for maintenance windows and schedules; empty: core::Now (tests inject their own).
  std::function<core::Timestamp()> clock;
};

struct ScanRequest {
  std::string targets;
  std::string ports;                 // empty: default_ports
  int rate = 0;                      // 0: the policy's rate; never above it
  std::string kind = "manual";       // manual, scheduled, external
};

// The `assets.scan` and `assets.schedule` keys of medsoc.yaml as text (see docs/configuration.md),
// checked and turned into service options: CIDR lists comma separated, maintenance windows
// separated by ';', the schedule's targets as a target spec (empty: no scheduled scan).
struct ScanConfig {
  std::string allow, exclude, fragile, windows;
  int rate = 2000;
  std::string type = "auto";
  std::string default_ports = "top1000";
  std::string schedule_targets, schedule_ports = "top1000", schedule_tenant = "default";
  int schedule_interval_minutes = 1440;
};
// Errors (kInvalidArgument) name the key and the bad value.
Result<ScanServiceOptions> MakeScanServiceOptions(const ScanConfig& config, ScanServiceOptions base = {});

class ScanService {
 public:
  // Loads the fingerprint database (problems are logged, the rest loads) and starts the
  // scheduler. kNotFound when the fingerprint directory is missing.
  static Result<std::unique_ptr<ScanService>> Create(AssetLedger& ledger, ScanServiceOptions options);
  ~ScanService();

  // Validates the request against the policy and queues it. The record is returned at once
  // (status running); the scan itself runs in the background.
  Result<ScanRecord> Start(const store::TenantScope& scope, const std::string& started_by, const ScanRequest& request);
  // Cancels a queued or running scan of this tenant.
  Status Cancel(const store::TenantScope& scope, const std::string& scan_id);
  // Tenant schedules (the API): the name is 1-64 of [A-Za-z0-9_.-] and not "config"; targets and
  // ports must parse and lie inside the policy's allow-list; either a cron expression or
  // interval_minutes >= 5. Stored in the ledger (kept across restarts); the scheduler looks at
  // once. Errors: kInvalidArgument, kPermissionDenied (outside the allow-list).
  Result<ScheduledScan> PutSchedule(const store::TenantScope& scope, ScheduledScan schedule);
  Result<std::vector<ScheduleStatus>> ListSchedules(const store::TenantScope& scope);
  Status DeleteSchedule(const store::TenantScope& scope, const std::string& name);
  // Resolves every name of the tenant's domain inventory (A and AAAA through the system
  // resolver; wildcards skipped; at most 1000 names) and records the addresses it points at now
  // and the asset that has one of them. Returns the inventory afterwards.
  Result<std::vector<Domain>> ResolveDomains(const store::TenantScope& scope);

  // When `s` is due next, given its last run (0: never); nullopt when disabled or never.
  std::optional<core::Timestamp> NextRun(const ScheduledScan& s, core::Timestamp last) const;

  // Waits until no scan is queued or running (tests).
  void WaitIdle();
  void Stop();

  const FingerprintDb& fingerprints() const { return *db_; }

 private:
  ScanService(AssetLedger& ledger, ScanServiceOptions options) : ledger_(ledger), options_(std::move(options)) {}
  struct Job {
    std::string tenant;
    ScanRecord record;
    TargetSet targets;
    PortList ports;
    int rate = 0;
    ScanType scan_type = ScanType::kAuto;
    std::shared_ptr<std::atomic<bool>> cancel;
  };
  void Worker();
  void Scheduler();
  void Execute(Job& job);
  core::Timestamp Clock() const;
  // The config schedules plus every tenant's stored ones.
  std::vector<ScheduledScan> AllSchedules();
  // started_at and status of the last run of schedule `name` in `scope` (0 when none); sets
  // `running` when one is still running.
  core::Timestamp LastRun(const store::TenantScope& scope, const std::string& name, bool* running, std::string* status);

  AssetLedger& ledger_;
  ScanServiceOptions options_;
  std::shared_ptr<const FingerprintDb> db_;
  std::shared_ptr<const OuiDb> oui_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> running_;  // scan id -> cancel flag
  int busy_ = 0;
  bool stop_ = false;
  bool wake_scheduler_ = false;
  std::vector<std::thread> workers_;
  std::thread scheduler_;
};

}  // namespace medsoc::assets
