#include "assets/scan_service.h"

#include <netdb.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "assets/cron.h"

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
  s->scheduler_ = std::thread([p = s.get()] { p->Scheduler(); });  // config and tenant schedules
  return s;
}

ScanService::~ScanService() { Stop(); }

core::Timestamp ScanService::Clock() const { return options_.clock ? options_.clock() : core::Now(); }

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
  MEDSOC_TRY(ApplyPolicy(targets, options_.policy, Clock()));
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
  opt.policy.windows.clear();  // checked by Start() and, while the scan runs, by `cancelled` below
  opt.scan_type = job.scan_type;
  opt.params.snmp_community = options_.snmp_community;
  // Maintenance windows hold for the whole scan: checked at most once a second while it runs.
  auto window_closed = std::make_shared<std::atomic<bool>>(false);
  auto next_check = std::make_shared<std::chrono::steady_clock::time_point>();
  opt.cancelled = [this, flag = job.cancel, window_closed, next_check] {
    if (flag->load()) return true;
    if (options_.policy.windows.empty()) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now < *next_check) return false;
    *next_check = now + std::chrono::seconds(1);
    if (InAnyWindow(options_.policy.windows, Clock())) return false;
    window_closed->store(true);
    flag->store(true);
    return true;
  };
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
  if (!report.ok() || window_closed->load()) {
    r.status = job.cancel->load() ? "cancelled" : "failed";
    r.summary = window_closed->load() ? "maintenance window ended; stopped before completion"
                                      : report.error().message();
    (void)ledger_.FinishScan(scope, r);
    return;
  }
  int changes = 0;
  // Domain inventory: certificate names and reverse-DNS names of what the scan found.
  std::map<std::string, std::string> asset_of;  // ip -> asset id (internal scans)
  auto harvest_domains = [&] {
    std::vector<Domain> names;
    for (const auto& h : report->hosts) {
      const std::string asset = asset_of.count(h.ip) ? asset_of[h.ip] : "";
      if (!h.hostname.empty()) names.push_back({.name = h.hostname, .source = "dns", .addresses = {h.ip}, .asset_id = asset});
      for (const auto& s : h.services)
        if (s.tls)
          for (const auto& san : s.tls->sans)
            names.push_back({.name = san, .source = "certificate", .addresses = {h.ip}, .asset_id = asset});
    }
    if (names.empty()) return;
    if (auto added = ledger_.ObserveDomains(scope, names); !added.ok())
      spdlog::warn("scan {}: domains: {}", r.id, added.error().ToString());
  };
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
        asset_of[h.ip] = out->asset_id;
      } else {
        spdlog::warn("scan {}: ledger: {}: {}", r.id, h.ip, out.error().ToString());
      }
    }
    if (!job.cancel->load()) {
      auto gone = ledger_.MarkUnseen(scope, [&](const std::string& ip) { return job.targets.Contains(ip); }, seen, r.id);
      if (gone.ok()) changes += *gone;
    }
  }
  harvest_domains();
  r.status = job.cancel->load() ? "cancelled" : "done";
  r.hosts_up = static_cast<std::int64_t>(report->stats.hosts_up);
  r.services = static_cast<std::int64_t>(report->stats.open_ports);
  r.summary = std::to_string(changes) + " changes; " + std::to_string(report->stats.identified) + " services identified in " +
              std::to_string(static_cast<int>(report->stats.seconds)) + " s";
  if (auto st = ledger_.FinishScan(scope, r); !st.ok()) spdlog::warn("scan {}: {}", r.id, st.error().ToString());
}

namespace {

nlohmann::json ScheduleToJson(const ScheduledScan& s) {
  return {{"targets", s.targets}, {"ports", s.ports},     {"interval_minutes", s.interval_minutes},
          {"cron", s.cron},       {"external", s.external}, {"rate", s.rate},
          {"enabled", s.enabled}, {"created_at", s.created_at.ns}};
}

std::optional<ScheduledScan> ScheduleFromJson(const std::string& tenant, const std::string& name, const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  try {
    ScheduledScan s;
    s.name = name;
    s.tenant = tenant;
    s.targets = j.value("targets", "");
    s.ports = j.value("ports", "");
    s.interval_minutes = j.value("interval_minutes", 1440);
    s.cron = j.value("cron", "");
    s.external = j.value("external", false);
    s.rate = j.value("rate", 0);
    s.enabled = j.value("enabled", true);
    s.created_at = {j.value("created_at", std::int64_t{0})};
    return s;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

bool ValidScheduleName(const std::string& name) {
  if (name.empty() || name.size() > 64 || name == "config") return false;
  for (unsigned char c : name)
    if (!std::isalnum(c) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

}  // namespace

Result<ScheduledScan> ScanService::PutSchedule(const store::TenantScope& scope, ScheduledScan s) {
  if (!ValidScheduleName(s.name))
    return Error(ErrorCode::kInvalidArgument, "schedule name '" + s.name + "': 1-64 of A-Z a-z 0-9 _ . - and not 'config'");
  s.tenant = scope.tenant_id();
  MEDSOC_ASSIGN_OR_RETURN(auto targets, TargetSet::Parse(s.targets, /*allow_files=*/false));
  if (targets.items().empty()) return Error(ErrorCode::kInvalidArgument, "no targets");
  if (s.ports.empty()) s.ports = options_.default_ports;
  MEDSOC_ASSIGN_OR_RETURN(auto ports, ParsePortSpec(s.ports, *db_));
  (void)ports;
  ScanPolicy policy = options_.policy;
  policy.windows.clear();  // the windows decide when it runs, not whether it may exist
  MEDSOC_TRY(ApplyPolicy(targets, policy, Clock()));
  if (!s.cron.empty()) {
    MEDSOC_ASSIGN_OR_RETURN(auto c, ParseCron(s.cron));
    if (!NextFire(c, Clock())) return Error(ErrorCode::kInvalidArgument, "cron expression '" + s.cron + "' never fires");
  } else if (s.interval_minutes < 5 || s.interval_minutes > 525600) {
    return Error(ErrorCode::kInvalidArgument, "interval_minutes must be 5-525600 (or give a cron expression)");
  }
  if (s.rate < 0) return Error(ErrorCode::kInvalidArgument, "rate must not be negative");
  // Keep the creation time of an existing schedule (a cron schedule's first run counts from it).
  s.created_at = Clock();
  if (auto stored = ledger_.ListScheduleJson(scope); stored.ok())
    for (const auto& [name, json] : *stored)
      if (name == s.name)
        if (auto old = ScheduleFromJson(s.tenant, name, json)) s.created_at = old->created_at;
  MEDSOC_TRY(ledger_.PutScheduleJson(scope, s.name, ScheduleToJson(s).dump()));
  {
    std::lock_guard lock(mu_);
    wake_scheduler_ = true;
  }
  cv_.notify_all();
  return s;
}

Status ScanService::DeleteSchedule(const store::TenantScope& scope, const std::string& name) {
  return ledger_.DeleteSchedule(scope, name);
}

core::Timestamp ScanService::LastRun(const store::TenantScope& scope, const std::string& name, bool* running,
                                     std::string* status) {
  core::Timestamp last{0};
  if (running) *running = false;
  auto scans = ledger_.ListScans(scope, 1000);
  if (!scans.ok()) return last;
  for (const auto& r : *scans)
    if (r.started_by == "schedule:" + name) {
      if (r.started_at > last) {
        last = r.started_at;
        if (status) *status = r.status;
      }
      if (running && r.status == "running") *running = true;
    }
  return last;
}

std::optional<core::Timestamp> ScanService::NextRun(const ScheduledScan& s, core::Timestamp last) const {
  if (!s.enabled) return std::nullopt;
  if (!s.cron.empty()) {
    auto c = ParseCron(s.cron);
    if (!c.ok()) return std::nullopt;
    return NextFire(*c, std::max(last, s.created_at));
  }
  if (last.ns == 0) return s.created_at.ns != 0 ? s.created_at : core::Timestamp{0};
  return last + core::Minutes(s.interval_minutes);
}

Result<std::vector<ScheduleStatus>> ScanService::ListSchedules(const store::TenantScope& scope) {
  std::vector<ScheduleStatus> out;
  for (const auto& s : options_.schedules)
    if (s.tenant == scope.tenant_id()) out.push_back({.schedule = s, .from_config = true});
  MEDSOC_ASSIGN_OR_RETURN(auto stored, ledger_.ListScheduleJson(scope));
  for (const auto& [name, json] : stored)
    if (auto s = ScheduleFromJson(scope.tenant_id(), name, json)) out.push_back({.schedule = *s});
  for (auto& st : out) {
    st.last_run = LastRun(scope, st.schedule.name, nullptr, &st.last_status);
    st.next_run = NextRun(st.schedule, st.last_run);
  }
  return out;
}

Result<std::vector<Domain>> ScanService::ResolveDomains(const store::TenantScope& scope) {
  MEDSOC_ASSIGN_OR_RETURN(auto domains, ledger_.ListDomains(scope));
  int resolved = 0;
  for (auto& d : domains) {
    if (d.name.empty() || d.name[0] == '*' || ++resolved > 1000) continue;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::vector<std::string> addresses;
    if (getaddrinfo(d.name.c_str(), nullptr, &hints, &res) == 0) {
      for (addrinfo* a = res; a; a = a->ai_next) {
        char buf[INET6_ADDRSTRLEN] = {};
        const void* src = a->ai_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                                                  : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
        if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) && inet_ntop(a->ai_family, src, buf, sizeof buf) &&
            std::find(addresses.begin(), addresses.end(), buf) == addresses.end())
          addresses.emplace_back(buf);
      }
      freeaddrinfo(res);
    }
    std::string asset_id;
    for (const auto& a : addresses)
      if (auto found = ledger_.FindByAddress(scope, a); found.ok() && *found) {
        asset_id = (*found)->id;
        break;
      }
    d.addresses = addresses;  // what the name points at now (empty: it no longer resolves)
    d.asset_id = asset_id;
    MEDSOC_TRY(ledger_.PutDomain(scope, d));
  }
  return ledger_.ListDomains(scope);
}

std::vector<ScheduledScan> ScanService::AllSchedules() {
  std::vector<ScheduledScan> all = options_.schedules;
  auto stored = ledger_.AllScheduleJson();
  if (!stored.ok()) {
    spdlog::warn("scan schedules: {}", stored.error().ToString());
    return all;
  }
  for (const auto& row : *stored) {
    auto s = ScheduleFromJson(row.tenant, row.name, row.json);
    if (!s) {
      spdlog::warn("scan schedule {}/{}: unreadable, skipped", row.tenant, row.name);
      continue;
    }
    all.push_back(std::move(*s));
  }
  return all;
}

void ScanService::Scheduler() {
  // Checks at start-up (a schedule that never ran, or is overdue, starts at once), then every
  // schedule_check_seconds, and whenever a schedule is stored.
  for (bool first = true;; first = false) {
    {
      std::unique_lock lock(mu_);
      if (!first)
        cv_.wait_for(lock, std::chrono::seconds(std::max(1, options_.schedule_check_seconds)),
                     [this] { return stop_ || wake_scheduler_; });
      wake_scheduler_ = false;
      if (stop_) return;
    }
    const core::Timestamp now = Clock();
    for (const auto& s : AllSchedules()) {
      const auto scope = store::TenantScope::Of(s.tenant);
      bool running = false;
      const core::Timestamp last = LastRun(scope, s.name, &running, nullptr);
      if (running) continue;
      auto due = NextRun(s, last);
      if (!due || now < *due) continue;
      auto started = Start(scope, "schedule:" + s.name,
                           {.targets = s.targets, .ports = s.ports, .rate = s.rate,
                            .kind = s.external ? "external" : "scheduled"});
      if (!started.ok()) {
        // Outside the maintenance window is the normal case; anything else deserves a warning.
        if (started.error().code() != ErrorCode::kFailedPrecondition)
          spdlog::warn("scheduled scan {}/{}: {}", s.tenant, s.name, started.error().ToString());
      } else {
        spdlog::info("scheduled scan {}/{} started: {}", s.tenant, s.name, started->id);
      }
    }
  }
}

}  // namespace medsoc::assets
