// `medsoc scan` and `medsoc assets ...`: one-shot asset commands. They open the ledger on the state
// database (WAL mode allows it while `medsoc serve` runs) and record state changes in the audit
// trail as the local operator.
#include "app/assets_cmd.h"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "assets/fingerprints.h"
#include "assets/ledger.h"
#include "assets/oui.h"
#include "assets/scanner.h"
#include "assets/table_io.h"
#include "auth/audit.h"
#include "core/time.h"

namespace medsoc::app {
namespace {

using Json = nlohmann::json;

int Fail(const Error& e) {
  std::fprintf(stderr, "medsoc: %s\n", e.ToString().c_str());
  return 1;
}

std::string OperatorName() {
  const passwd* pw = getpwuid(geteuid());
  return std::string("cli:") + (pw ? pw->pw_name : std::to_string(geteuid()));
}

std::atomic<bool> g_interrupted{false};


struct LedgerTools {
  Options options;
  std::unique_ptr<store::StateStore> store;
  std::unique_ptr<auth::AuditTrail> audit;
  std::unique_ptr<assets::AssetLedger> ledger;
  void Audit(const std::string& tenant, const std::string& action, const std::string& target,
             const std::string& outcome, const std::string& detail) {
    audit->Record({.tenant_id = tenant, .user = OperatorName(), .role = "operator", .source_ip = "local",
                   .action = action, .target = target, .outcome = outcome, .detail = detail});
  }
};

Result<LedgerTools> OpenLedger(const GlobalFlags& flags) {
  LedgerTools t;
  MEDSOC_ASSIGN_OR_RETURN(t.options, LoadOptions(flags));
  MEDSOC_ASSIGN_OR_RETURN(t.store, OpenStateStore(t.options));
  t.audit = std::make_unique<auth::AuditTrail>(*t.store);
  MEDSOC_ASSIGN_OR_RETURN(t.ledger, assets::AssetLedger::Open(t.options.data_dir + "/state.db",
                                                              t.options.store.busy_timeout_ms));
  return t;
}

// "a,b c" -> {"a", "b", "c"}
std::vector<std::string> SplitList(const std::string& list) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : list + ",") {
    if (c == ',' || c == ' ') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  return out;
}

Result<std::vector<assets::Ipv4Range>> ParseNets(const std::string& list) {
  std::vector<assets::Ipv4Range> out;
  std::string cur;
  for (char c : list + ",") {
    if (c == ',' || c == ' ') {
      if (!cur.empty()) {
        MEDSOC_ASSIGN_OR_RETURN(auto r, assets::ParseNetwork(cur));
        out.push_back(r);
      }
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  return out;
}

Json AssetJson(const assets::Asset& a) {
  Json attrs = Json::object();
  for (const auto& [k, v] : a.attrs) {
    const auto* spec = assets::FindAttribute(k);
    Json value = spec && spec->type == assets::AttrType::kList ? Json(assets::ListFromJson(v.value)) : Json(v.value);
    attrs[k] = {{"value", value}, {"source", assets::SourceName(v.source)},
                {"at", core::FormatRfc3339(v.at)}, {"by", v.by}};
  }
  Json services = Json::array();
  for (const auto& s : a.services)
    services.push_back({{"port", s.port}, {"proto", s.proto}, {"state", s.open ? "open" : "closed"},
                        {"service", s.service}, {"product", s.product}, {"version", s.version}, {"cpe", s.cpe},
                        {"source", assets::SourceName(s.source)}, {"tls", s.tls ? Json(s.tls->subject) : Json(nullptr)},
                        {"last_seen", core::FormatRfc3339(s.last_seen)}});
  return {{"id", a.id}, {"status", assets::StatusName(a.status)},
          {"first_seen", a.first_seen.ns ? Json(core::FormatRfc3339(a.first_seen)) : Json(nullptr)},
          {"last_seen", a.last_seen.ns ? Json(core::FormatRfc3339(a.last_seen)) : Json(nullptr)},
          {"attributes", attrs}, {"services", services}};
}

Result<assets::Asset> FindAsset(assets::AssetLedger& ledger, const store::TenantScope& scope, const std::string& key) {
  MEDSOC_ASSIGN_OR_RETURN(auto a, ledger.Get(scope, key));
  if (!a && (assets::NormalizeIp(key) || assets::NormalizeMac(key))) {
    MEDSOC_ASSIGN_OR_RETURN(a, ledger.FindByAddress(scope, key));
  }
  if (!a) return Error(ErrorCode::kNotFound, "no asset '" + key + "'");
  return std::move(*a);
}

}  // namespace

std::string FingerprintDir(const GlobalFlags& flags, const std::string& flag) {
  if (!flag.empty()) return flag;
  auto options = LoadOptions(flags);  // a broken config file is reported by the command that needs it
  return ResolveContentDir(options.ok() ? *options : Options{}) + "/fingerprints";
}

Result<assets::ScanServiceOptions> ServerScanOptions(const Options& options, const std::string& content_dir) {
  const auto& a = options.assets;
  assets::ScanServiceOptions base;
  base.fingerprints_dir = content_dir + "/fingerprints";
  base.snmp_community = a.scan.snmp_community;
  return assets::MakeScanServiceOptions({.allow = a.scan.allow, .exclude = a.scan.exclude, .fragile = a.scan.fragile,
                                         .windows = a.scan.windows, .rate = a.scan.rate, .type = a.scan.type,
                                         .default_ports = a.scan.default_ports,
                                         .schedule_targets = a.schedule.targets, .schedule_ports = a.schedule.ports,
                                         .schedule_tenant = a.schedule.tenant,
                                         .schedule_interval_minutes = a.schedule.interval_minutes},
                                        std::move(base));
}

int RunScan(const GlobalFlags& flags, const ScanFlags& f) {
  ::signal(SIGPIPE, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_interrupted.store(true); };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  std::vector<Error> load_errors;
  const std::string dir = FingerprintDir(flags, f.fingerprints);
  auto db = assets::FingerprintDb::LoadDir(dir, load_errors);
  if (!db.ok()) return Fail(db.error());
  for (const auto& e : load_errors) std::fprintf(stderr, "medsoc: fingerprints: %s\n", e.ToString().c_str());

  auto targets = assets::TargetSet::Parse(f.targets);
  if (!targets.ok()) return Fail(targets.error());
  // "none": host discovery only.
  auto ports = f.ports == "none" ? Result<assets::PortList>(assets::PortList{.spec = "none"})
                                 : assets::ParsePortSpec(f.ports, **db);
  if (!ports.ok()) return Fail(ports.error());
  auto scan_type = assets::ParseScanType(f.scan_type);
  if (!scan_type.ok()) return Fail(scan_type.error());
  unsigned pings = 0;
  for (const auto& m : SplitList(f.ping)) {
    if (m == "arp") pings |= assets::kPingArp;
    else if (m == "icmp") pings |= assets::kPingIcmp;
    else if (m == "syn") pings |= assets::kPingSyn;
    else if (m == "ack") pings |= assets::kPingAck;
    else return Fail(Error(ErrorCode::kInvalidArgument, "--ping '" + m + "': expected arp, icmp, syn or ack"));
  }
  assets::ScanOptions opt;
  opt.ports = *ports;
  opt.scan_type = *scan_type;
  opt.pings = pings;
  opt.policy.rate = f.rate;
  opt.timeout_ms = f.timeout_ms;
  opt.resolve = !f.no_resolve;
  opt.identify = !f.no_identify;
  opt.discovery = !f.no_discovery;
  opt.params.snmp_community = f.snmp_community;
  opt.params.dicom_called_ae = f.dicom_ae;
  opt.cancelled = [] { return g_interrupted.load(); };
  auto exclude = ParseNets(f.exclude);
  if (!exclude.ok()) return Fail(exclude.error());
  opt.policy.exclude = *exclude;
  auto fragile = ParseNets(f.fragile);
  if (!fragile.ok()) return Fail(fragile.error());
  opt.policy.fragile = *fragile;

  std::optional<LedgerTools> tools;
  std::optional<assets::ScanRecord> record;
  const auto scope = store::TenantScope::Of(f.tenant);
  if (f.save) {
    auto t = OpenLedger(flags);
    if (!t.ok()) return Fail(t.error());
    tools = std::move(*t);
    // Devices the ledger knows as fragile get light probes.
    auto known = tools->ledger->List(scope, {.limit = 10000});
    if (known.ok())
      for (const auto& a : *known) {
        const std::string kind = a.Get("kind");
        const bool fragile_kind = kind == "printer" || kind == "imaging_modality" || kind == "patient_monitor" ||
                                  kind == "dicom_node" || kind == "medical_device" || kind == "plc";
        if (fragile_kind || a.Get("fragile") == "yes")
          for (const auto& ip : a.GetList("ips")) opt.fragile_hosts.insert(ip);
      }
    Json scope_json = {{"targets", targets->items()}, {"ports", f.ports}, {"rate", f.rate},
                       {"exclude", f.exclude}, {"fragile", f.fragile}};
    auto r = tools->ledger->BeginScan(scope, OperatorName(), "manual", scope_json.dump());
    if (!r.ok()) return Fail(r.error());
    record = *r;
    tools->Audit(f.tenant, "scan.start", "scan:" + r->id, "success", scope_json.dump());
  }

  assets::Scanner scanner(*db, std::string("/usr/share/ieee-data"));  // vendors loaded when a MAC is seen
  auto report = scanner.Run(*targets, opt);
  if (!report.ok()) {
    if (record) {
      record->status = "failed";
      record->summary = report.error().message();
      (void)tools->ledger->FinishScan(scope, *record);
      tools->Audit(f.tenant, "scan.finish", "scan:" + record->id, "failure", report.error().message());
    }
    return Fail(report.error());
  }
  for (const auto& w : report->warnings) std::fprintf(stderr, "medsoc: scan: %s\n", w.c_str());
  if (f.format == "json") {
    std::fputs(assets::ReportJson(*report).c_str(), stdout);
  } else {
    std::fputs(assets::ReportTable(*report).c_str(), stdout);
  }
  if (record) {
    std::vector<std::string> covered;
    for (auto p : opt.ports.tcp) covered.push_back(std::to_string(p) + "/tcp");
    for (auto p : opt.ports.udp) covered.push_back(std::to_string(p) + "/udp");
    std::vector<std::string> seen;
    int changes = 0;
    for (const auto& h : report->hosts) {
      auto out = tools->ledger->Observe(scope, assets::ToObservation(h),
                                        {.source = assets::Source::kScan, .actor = "scan:" + record->id,
                                         .scan_id = record->id, .covered_ports = covered});
      if (!out.ok()) {
        std::fprintf(stderr, "medsoc: ledger: %s: %s\n", h.ip.c_str(), out.error().ToString().c_str());
        continue;
      }
      changes += out->changes;
      seen.push_back(h.ip);
    }
    auto gone = tools->ledger->MarkUnseen(scope, [&](const std::string& ip) { return targets->Contains(ip); }, seen,
                                          record->id);
    record->status = g_interrupted.load() ? "cancelled" : "done";
    record->hosts_up = static_cast<std::int64_t>(report->stats.hosts_up);
    record->services = static_cast<std::int64_t>(report->stats.open_ports);
    record->summary = std::to_string(changes) + " changes, " + std::to_string(gone.ok() ? *gone : 0) + " gone";
    if (auto st = tools->ledger->FinishScan(scope, *record); !st.ok()) return Fail(st.error());
    tools->Audit(f.tenant, "scan.finish", "scan:" + record->id, "success", record->summary);
    std::fprintf(stderr, "scan %s recorded: %s\n", record->id.c_str(), record->summary.c_str());
  }
  return 0;
}

int RunAssetsList(const GlobalFlags& flags, const AssetsFlags& a) {
  auto t = OpenLedger(flags);
  if (!t.ok()) return Fail(t.error());
  const auto scope = store::TenantScope::Of(a.tenant);
  assets::AssetQuery q{.kind = a.kind, .zone = a.zone, .business_system = a.business_system, .status = a.status,
                       .text = a.text, .limit = 10000};
  auto list = t->ledger->List(scope, q);
  if (!list.ok()) return Fail(list.error());
  if (a.format == "json") {
    Json items = Json::array();
    for (const auto& x : *list) items.push_back(AssetJson(x));
    std::cout << items.dump(2) << "\n";
  } else if (a.format == "csv") {
    std::cout << assets::AssetsToCsv(*list);
  } else {
    std::printf("%-26s  %-16s  %-24s  %-14s  %-10s  %s\n", "ID", "IP", "NAME", "KIND", "STATUS", "OS");
    for (const auto& x : *list) {
      auto ips = x.GetList("ips");
      std::printf("%-26s  %-16s  %-24s  %-14s  %-10s  %s\n", x.id.c_str(), ips.empty() ? "-" : ips[0].c_str(),
                  x.Get("name").c_str(), x.Get("kind").c_str(), std::string(assets::StatusName(x.status)).c_str(),
                  x.Get("os").c_str());
    }
    std::printf("%zu assets\n", list->size());
  }
  return 0;
}

int RunAssetsShow(const GlobalFlags& flags, const AssetsFlags& a) {
  auto t = OpenLedger(flags);
  if (!t.ok()) return Fail(t.error());
  auto asset = FindAsset(*t->ledger, store::TenantScope::Of(a.tenant), a.id);
  if (!asset.ok()) return Fail(asset.error());
  std::cout << AssetJson(*asset).dump(2) << "\n";
  return 0;
}

int RunAssetsHistory(const GlobalFlags& flags, const AssetsFlags& a) {
  auto t = OpenLedger(flags);
  if (!t.ok()) return Fail(t.error());
  const auto scope = store::TenantScope::Of(a.tenant);
  auto asset = FindAsset(*t->ledger, scope, a.id);
  if (!asset.ok()) return Fail(asset.error());
  auto h = t->ledger->History(scope, asset->id, 1000);
  if (!h.ok()) return Fail(h.error());
  for (const auto& e : *h)
    std::printf("%s  %-7s %-24s %s -> %s  (%s%s)\n", core::FormatRfc3339(e.at, 0).c_str(), e.source.c_str(),
                e.attribute.c_str(), e.old_value.c_str(), e.new_value.c_str(), e.actor.c_str(),
                e.note.empty() ? "" : ("; " + e.note).c_str());
  return 0;
}

int RunAssetsImport(const GlobalFlags& flags, const AssetsFlags& a) {
  auto parsed = assets::ReadImportFile(a.file);
  if (!parsed.ok()) return Fail(parsed.error());
  auto t = OpenLedger(flags);
  if (!t.ok()) return Fail(t.error());
  auto report = t->ledger->Import(store::TenantScope::Of(a.tenant), parsed->rows, OperatorName(), a.file);
  if (!report.ok()) return Fail(report.error());
  std::vector<Error> errors = parsed->errors;
  errors.insert(errors.end(), report->errors.begin(), report->errors.end());
  for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.ToString().c_str());
  std::string summary = std::to_string(report->created) + " created, " + std::to_string(report->updated) +
                        " updated, " + std::to_string(report->unchanged) + " unchanged, " +
                        std::to_string(errors.size()) + " problems";
  t->Audit(a.tenant, "assets.import", "file:" + a.file, errors.empty() ? "success" : "partial", summary);
  std::printf("%s: %s\n", a.file.c_str(), summary.c_str());
  return errors.empty() ? 0 : 3;
}

int RunAssetsExport(const GlobalFlags& flags, const AssetsFlags& a) {
  auto t = OpenLedger(flags);
  if (!t.ok()) return Fail(t.error());
  const auto scope = store::TenantScope::Of(a.tenant);
  auto list = t->ledger->List(scope, {.kind = a.kind, .zone = a.zone, .business_system = a.business_system,
                                      .status = a.status, .text = a.text, .limit = 10000});
  if (!list.ok()) return Fail(list.error());
  std::string format = a.format;
  if (format == "table") format = a.file.size() > 5 && a.file.substr(a.file.size() - 5) == ".xlsx" ? "xlsx" : "csv";
  std::string bytes;
  if (format == "xlsx") {
    auto systems = t->ledger->ListBusinessSystems(scope);
    if (!systems.ok()) return Fail(systems.error());
    auto x = assets::AssetsToXlsx(*list, *systems);
    if (!x.ok()) return Fail(x.error());
    bytes = std::move(*x);
  } else if (format == "csv") {
    bytes = assets::AssetsToCsv(*list);
  } else {
    return Fail(Error(ErrorCode::kInvalidArgument, "export format must be csv or xlsx"));
  }
  if (a.file.empty() || a.file == "-") {
    std::fwrite(bytes.data(), 1, bytes.size(), stdout);
  } else {
    std::ofstream out(a.file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return Fail(Error(ErrorCode::kIo, "cannot write " + a.file));
    std::fprintf(stderr, "%zu assets written to %s\n", list->size(), a.file.c_str());
  }
  t->Audit(a.tenant, "assets.export", "file:" + (a.file.empty() ? std::string("-") : a.file), "success",
           std::to_string(list->size()) + " assets as " + format);
  return 0;
}

struct AssetCommands::State {
  GlobalFlags& g;
  ScanFlags scan_flags;
  AssetsFlags af;
  CLI::App* scan = nullptr;
  CLI::App* list = nullptr;
  CLI::App* show = nullptr;
  CLI::App* history = nullptr;
  CLI::App* import = nullptr;
  CLI::App* export_ = nullptr;
};

AssetCommands::AssetCommands(CLI::App& cli, GlobalFlags& g, const std::function<void(CLI::App*)>& add_globals)
    : s_(std::make_unique<State>(State{g})) {
  auto& f = s_->scan_flags;
  auto* scan = cli.add_subcommand("scan", "discover hosts and identify services (资产探测)");
  add_globals(scan);
  scan->add_option("--targets", f.targets, "CIDR, range (10.0.0.1-50), address list, or a file of them")->required();
  scan->add_option("--ports", f.ports, "ports: 22,80,8000-8100, topN, all; T:/U: for TCP/UDP (default top1000)");
  scan->add_option("--rate", f.rate, "new probes per second (0: unlimited; default 5000)");
  scan->add_option("--format", f.format, "table or json")->check(CLI::IsMember({"table", "json"}));
  scan->add_option("--timeout-ms", f.timeout_ms, "longest wait for a connect or an answer (default 1500)");
  scan->add_option("--exclude", f.exclude, "networks never to touch (CIDR, comma separated)");
  scan->add_option("--fragile", f.fragile, "networks of fragile devices: light probes only (CIDR, comma separated)");
  scan->add_option("--fingerprints", f.fingerprints, "fingerprint directory (default: content/fingerprints)");
  scan->add_option("--snmp-community", f.snmp_community, "SNMP community for sysDescr (none: no SNMP probe)");
  scan->add_option("--dicom-called-ae", f.dicom_ae, "AE title asked for in DICOM associations (default ANY-SCP)");
  scan->add_flag("-n,--no-resolve", f.no_resolve, "no reverse DNS");
  scan->add_flag("--no-identify", f.no_identify, "ports only, no service identification");
  scan->add_flag("--no-discovery", f.no_discovery, "scan every target without host discovery first");
  scan->add_option("--scan-type", f.scan_type,
                   "auto (SYN with raw sockets when privileged, else connect), connect or syn (default auto)")
      ->check(CLI::IsMember({"auto", "connect", "syn"}));
  scan->add_option("--ping", f.ping, "discovery methods of SYN scans: arp,icmp,syn,ack (default all)");
  scan->add_flag("--save", f.save, "record the scan and its results in the asset ledger");
  scan->add_option("--tenant", f.tenant, "tenant for --save (default: default)");
  s_->scan = scan;

  auto& af = s_->af;
  auto* assets = cli.add_subcommand("assets", "asset ledger (资产台账)");
  assets->require_subcommand(1);
  auto common = [&](CLI::App* sub) {
    add_globals(sub);
    sub->add_option("--tenant", af.tenant, "tenant (default: default)");
  };
  auto filters = [&](CLI::App* sub) {
    sub->add_option("--kind", af.kind, "asset kind, e.g. server, dicom_node, printer");
    sub->add_option("--zone", af.zone, "internet, dmz, intranet, medical, management");
    sub->add_option("--business-system", af.business_system, "business system name, e.g. HIS, PACS");
    sub->add_option("--status", af.status, "active, offline, retired (default: all but retired)");
    sub->add_option("--search", af.text, "substring of name, hostname, IP or MAC");
  };
  s_->list = assets->add_subcommand("list", "list assets");
  common(s_->list);
  filters(s_->list);
  s_->list->add_option("--format", af.format, "table, json or csv")->check(CLI::IsMember({"table", "json", "csv"}));
  s_->show = assets->add_subcommand("show", "one asset with every attribute's source (JSON)");
  common(s_->show);
  s_->show->add_option("ASSET", af.id, "asset id, IP or MAC address")->required();
  s_->history = assets->add_subcommand("history", "the change history of one asset");
  common(s_->history);
  s_->history->add_option("ASSET", af.id, "asset id, IP or MAC address")->required();
  s_->import = assets->add_subcommand("import", "import a ledger spreadsheet (.csv or .xlsx, Chinese headers)");
  common(s_->import);
  s_->import->add_option("FILE", af.file, "CSV or XLSX file")->required();
  s_->export_ = assets->add_subcommand("export", "export the ledger as CSV or XLSX (Chinese headers)");
  common(s_->export_);
  filters(s_->export_);
  s_->export_->add_option("-o,--output", af.file, "output file (.csv or .xlsx); default: standard output");
  s_->export_->add_option("--format", af.format, "csv or xlsx (default: from the file name)");
}

AssetCommands::~AssetCommands() = default;

std::optional<int> AssetCommands::Run() {
  if (s_->scan->parsed()) return RunScan(s_->g, s_->scan_flags);
  if (s_->list->parsed()) return RunAssetsList(s_->g, s_->af);
  if (s_->show->parsed()) return RunAssetsShow(s_->g, s_->af);
  if (s_->history->parsed()) return RunAssetsHistory(s_->g, s_->af);
  if (s_->import->parsed()) return RunAssetsImport(s_->g, s_->af);
  if (s_->export_->parsed()) return RunAssetsExport(s_->g, s_->af);
  return std::nullopt;
}

}  // namespace medsoc::app
