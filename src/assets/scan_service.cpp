#include "assets/scan_service.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace medsoc::assets {

namespace {

Result<std::vector<Ipv4Range>> ParseNetList(const std::string& key, const std::string& list) {
  std::vector<Ipv4Range> out;
  std::string cur;
  for (char c : list + ",") {
    if (c == ',' || c == ' ') {
      if (!cur.empty()) {
        auto r = ParseNetwork(cur);
        if (!r.ok()) return Error(ErrorCode::kInvalidArgument, key + ": " + r.error().message());
        out.push_back(*r);
      }
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  return out;
}

}  // namespace

Result<ScanServiceOptions> MakeScanServiceOptions(const ScanConfig& c, ScanServiceOptions o) {
  MEDSOC_ASSIGN_OR_RETURN(o.policy.allow, ParseNetList("assets.scan.allow", c.allow));
  MEDSOC_ASSIGN_OR_RETURN(o.policy.exclude, ParseNetList("assets.scan.exclude", c.exclude));
  MEDSOC_ASSIGN_OR_RETURN(o.policy.fragile, ParseNetList("assets.scan.fragile", c.fragile));
  std::string cur;
  for (char ch : c.windows + ";") {
    if (ch != ';') {
      cur.push_back(ch);
      continue;
    }
    const auto b = cur.find_first_not_of(' '), e = cur.find_last_not_of(' ');
    if (b != std::string::npos) {
      auto w = ParseWindow(cur.substr(b, e - b + 1));
      if (!w.ok()) return Error(ErrorCode::kInvalidArgument, "assets.scan.windows: " + w.error().message());
      o.policy.windows.push_back(*w);
    }
    cur.clear();
  }
  o.policy.rate = c.rate;
  auto type = ParseScanType(c.type);
  if (!type.ok()) return Error(ErrorCode::kInvalidArgument, "assets.scan.type: " + type.error().message());
  o.scan_type = *type;
  if (!c.default_ports.empty()) o.default_ports = c.default_ports;
  if (!c.schedule_targets.empty()) {
    auto targets = TargetSet::Parse(c.schedule_targets, /*allow_files=*/false);
    if (!targets.ok()) return Error(ErrorCode::kInvalidArgument, "assets.schedule.targets: " + targets.error().message());
    o.schedules.push_back({.name = "config", .tenant = c.schedule_tenant, .targets = c.schedule_targets,
                           .ports = c.schedule_ports.empty() ? o.default_ports : c.schedule_ports,
                           .interval_minutes = c.schedule_interval_minutes});
  }
  return o;
}

Result<std::unique_ptr<ScanService>> ScanService::Create(AssetLedger& ledger, ScanServiceOptions options) {
  if (options.policy.allow.empty()) {
    // Server-side scans stay inside private address space unless the configuration says more:
    // a typo in a scan request must not send probes across the internet.
    for (const char* net : {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
                            "169.254.0.0/16"})
      options.policy.allow.push_back(*ParseNetwork(net));
  }
  std::unique_ptr<ScanService> s(new ScanService(ledger, std::move(options)));
  std::vector<Error> errors;
  MEDSOC_ASSIGN_OR_RETURN(s->db_, FingerprintDb::LoadDir(s->options_.fingerprints_dir, errors));
  for (const auto& e : errors) spdlog::warn("fingerprints: {}", e.ToString());
  if (auto oui = OuiDb::Load(s->options_.oui_dir); oui.ok()) {
    s->oui_ = std::make_shared<OuiDb>(std::move(*oui));  // loaded once for the server's lifetime
  } else {
    spdlog::warn("{}; MAC vendors will be empty", oui.error().ToString());
  }
  for (int i = 0; i < std::max(1, s->options_.max_concurrent); ++i) s->workers_.emplace_back([p = s.get()] { p->Worker(); });
  if (!s->options_.schedules.empty()) s->scheduler_ = std::thread([p = s.get()] { p->Scheduler(); });
  return s;
}

ScanService::~ScanService() { Stop(); }

void ScanService::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_ && workers_.empty()) return;
    stop_ = true;
    for (auto& [id, flag] : running_) flag->store(true);
  }
  cv_.notify_all();
  for (auto& w : workers_)
    if (w.joinable()) w.join();
  workers_.clear();
  if (scheduler_.joinable()) scheduler_.join();
  // Queued scans that never ran are recorded as cancelled.
  std::deque<Job> left;
  {
    std::lock_guard lock(mu_);
    left.swap(queue_);
  }
  for (auto& j : left) {
    j.record.status = "cancelled";
    j.record.summary = "server stopped before the scan ran";
    (void)ledger_.FinishScan(store::TenantScope::Of(j.tenant), j.record);
  }
}

Result<ScanRecord> ScanService::Start(const store::TenantScope& scope, const std::string& started_by,
                                      const ScanRequest& request) {
  MEDSOC_ASSIGN_OR_RETURN(auto targets, TargetSet::Parse(request.targets, /*allow_files=*/false));
  // Server-side scans never read target files from the server's disk on behalf of a client.
  if (targets.items().empty()) return Error(ErrorCode::kInvalidArgument, "no targets");
  MEDSOC_ASSIGN_OR_RETURN(auto ports, ParsePortSpec(request.ports.empty() ? options_.default_ports : request.ports, *db_));
  MEDSOC_TRY(ApplyPolicy(targets, options_.policy, core::Now()));
  const int rate = request.rate <= 0 ? options_.policy.rate
                                     : (options_.policy.rate > 0 ? std::min(request.rate, options_.policy.rate) : request.rate);
  nlohmann::json scope_json = {{"targets", targets.items()}, {"ports", ports.spec}, {"rate", rate},
                               {"addresses", targets.size()}};
  MEDSOC_ASSIGN_OR_RETURN(auto record, ledger_.BeginScan(scope, started_by, request.kind, scope_json.dump()));
  Job job{scope.tenant_id(), record, std::move(targets), std::move(ports), rate, options_.scan_type,
          std::make_shared<std::atomic<bool>>(false)};
  {
    std::lock_guard lock(mu_);
    if (stop_) return Error(ErrorCode::kUnavailable, "the scan service is stopping");
    running_[record.id] = job.cancel;
    queue_.push_back(std::move(job));
  }
  cv_.notify_all();
  return record;
}

Status ScanService::Cancel(const store::TenantScope& scope, const std::string& scan_id) {
  MEDSOC_ASSIGN_OR_RETURN(auto rec, ledger_.GetScan(scope, scan_id));
  if (!rec) return Error(ErrorCode::kNotFound, "scan " + scan_id + " not found");
  std::lock_guard lock(mu_);
  auto it = running_.find(scan_id);
  if (it == running_.end()) return Error(ErrorCode::kFailedPrecondition, "scan " + scan_id + " is not running");
  it->second->store(true);
  return Ok();
}

void ScanService::WaitIdle() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return queue_.empty() && busy_ == 0; });
}

void ScanService::Worker() {
  while (true) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    Execute(job);
    {
      std::lock_guard lock(mu_);
      running_.erase(job.record.id);
      --busy_;
    }
    cv_.notify_all();
  }
}

void ScanService::Execute(Job& job) {
  const auto scope = store::TenantScope::Of(job.tenant);
  ScanOptions opt;
  opt.ports = job.ports;
  opt.policy = options_.policy;
  opt.policy.rate = job.rate;
  opt.scan_type = job.scan_type;
  opt.params.snmp_community = options_.snmp_community;
  opt.cancelled = [flag = job.cancel] { return flag->load(); };
  if (auto known = ledger_.List(scope, {.limit = 10000}); known.ok()) {
    for (const auto& a : *known) {
      const std::string kind = a.Get("kind");
      if (a.Get("fragile") == "yes" || kind == "printer" || kind == "imaging_modality" || kind == "patient_monitor" ||
          kind == "dicom_node" || kind == "medical_device" || kind == "plc")
        for (const auto& ip : a.GetList("ips")) opt.fragile_hosts.insert(ip);
    }
  }
  Scanner scanner(db_, oui_);
  auto report = scanner.Run(job.targets, opt);
  ScanRecord& r = job.record;
  if (!report.ok()) {
    r.status = job.cancel->load() ? "cancelled" : "failed";
    r.summary = report.error().message();
    (void)ledger_.FinishScan(scope, r);
    return;
  }
  int changes = 0;
  if (r.kind == "external") {
    std::vector<Exposure> seen;
    for (const auto& h : report->hosts)
      for (const auto& s : h.services)
        seen.push_back({.public_ip = h.ip, .public_port = s.port, .proto = s.proto, .service = s.service});
    auto fresh = ledger_.ObserveExternal(scope, seen, r.id);
    if (fresh.ok()) changes = static_cast<int>(fresh->size());
  } else {
    std::vector<std::string> covered;
    for (auto p : job.ports.tcp) covered.push_back(std::to_string(p) + "/tcp");
    for (auto p : job.ports.udp) covered.push_back(std::to_string(p) + "/udp");
    std::vector<std::string> seen;
    for (const auto& h : report->hosts) {
      auto out = ledger_.Observe(scope, ToObservation(h), {.source = Source::kScan, .actor = "scan:" + r.id,
                                                           .scan_id = r.id, .covered_ports = covered});
      if (out.ok()) {
        changes += out->changes;
        seen.push_back(h.ip);
      } else {
        spdlog::warn("scan {}: ledger: {}: {}", r.id, h.ip, out.error().ToString());
      }
    }
    if (!job.cancel->load()) {
      auto gone = ledger_.MarkUnseen(scope, [&](const std::string& ip) { return job.targets.Contains(ip); }, seen, r.id);
      if (gone.ok()) changes += *gone;
    }
  }
  r.status = job.cancel->load() ? "cancelled" : "done";
  r.hosts_up = static_cast<std::int64_t>(report->stats.hosts_up);
  r.services = static_cast<std::int64_t>(report->stats.open_ports);
  r.summary = std::to_string(changes) + " changes; " + std::to_string(report->stats.identified) + " services identified in " +
              std::to_string(static_cast<int>(report->stats.seconds)) + " s";
  if (auto st = ledger_.FinishScan(scope, r); !st.ok()) spdlog::warn("scan {}: {}", r.id, st.error().ToString());
}

void ScanService::Scheduler() {
  // Checks at start-up (a schedule that never ran, or is overdue, starts at once), then every
  // schedule_check_seconds.
  for (bool first = true;; first = false) {
    {
      std::unique_lock lock(mu_);
      if (!first)
        cv_.wait_for(lock, std::chrono::seconds(std::max(1, options_.schedule_check_seconds)), [this] { return stop_; });
      if (stop_) return;
    }
    const core::Timestamp now = core::Now();
    for (const auto& s : options_.schedules) {
      const auto scope = store::TenantScope::Of(s.tenant);
      auto scans = ledger_.ListScans(scope, 1000);
      if (!scans.ok()) continue;
      core::Timestamp last{0};
      bool running = false;
      for (const auto& r : *scans)
        if (r.started_by == "schedule:" + s.name) {
          last = std::max(last, r.started_at);
          running = running || r.status == "running";
        }
      if (running || (last.ns != 0 && now.ns - last.ns < core::Minutes(s.interval_minutes))) continue;
      auto started = Start(scope, "schedule:" + s.name,
                           {.targets = s.targets, .ports = s.ports, .rate = s.rate,
                            .kind = s.external ? "external" : "scheduled"});
      if (!started.ok()) {
        // Outside the maintenance window is the normal case; anything else deserves a warning.
        if (started.error().code() != ErrorCode::kFailedPrecondition)
          spdlog::warn("scheduled scan {}: {}", s.name, started.error().ToString());
      } else {
        spdlog::info("scheduled scan {} started: {}", s.name, started->id);
      }
    }
  }
}

}  // namespace medsoc::assets
