#include "triage/simulate.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace medsoc::triage {
namespace {

// xoshiro256** seeded by splitmix64: portable and reproducible across standard libraries (the
// std:: distributions are not).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    for (auto& s : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      s = z ^ (z >> 31);
    }
  }
  std::uint64_t Next() {
    const std::uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in [lo, hi].
  std::int64_t Int(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(Next() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  bool Chance(double p) { return static_cast<double>(Next() >> 11) * 0x1.0p-53 < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<std::size_t>(Int(0, static_cast<std::int64_t>(v.size()) - 1))];
  }

 private:
  static std::uint64_t Rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

struct RuleDef {
  SourceKind source;
  std::string id;
  std::string title;
  Level level;
  std::string tactic;
  std::string technique;
};

struct Gen {
  Rng rng;
  SimScenario sc;
  std::vector<const AssetInfo*> servers, workstations, devices, file_servers, pacs, dmz;
  std::vector<std::string> staff, admins, doctors;
  std::int64_t next_event = 0;

  explicit Gen(std::uint64_t seed) : rng(seed) {}

  core::Timestamp At(int day, double hour) const {
    return sc.start + core::Days(day) + static_cast<std::int64_t>(hour * 3600.0 * 1e9);
  }

  std::string ExternalIp() {
    static const char* kNets[] = {"203.0.113.", "198.51.100.", "45.142.212.", "185.220.101.", "61.177.172.",
                                  "222.186.30.", "121.4.56.",   "194.26.29."};
    return std::string(kNets[rng.Int(0, 7)]) + std::to_string(rng.Int(1, 254));
  }

  AlertInput& Emit(const RuleDef& r, core::Timestamp t) {
    AlertInput a;
    a.source = r.source;
    a.rule_id = r.id;
    a.rule_title = r.title;
    a.level = r.level;
    a.attack_tactic = r.tactic;
    a.attack_technique = r.technique;
    if (!r.tactic.empty()) a.tags.push_back("attack." + r.tactic);
    if (!r.technique.empty()) {
      std::string t = r.technique;
      for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      a.tags.push_back("attack." + t);
    }
    a.event_time = t;
    a.event_id = "sim-" + std::to_string(++next_event);
    sc.alerts.push_back(std::move(a));
    return sc.alerts.back();
  }
};

const std::string& Ip(const AssetInfo* a) { return a->ips.front(); }

void BuildHospital(Gen& g) {
  auto add = [&](std::string id, std::string ip, int crit, std::string zone, bool internet, std::string group) {
    g.sc.assets.Upsert({id, id, {std::move(ip)}, crit, std::move(zone), internet, std::move(group)});
  };
  add("his-db-01", "10.1.1.10", 5, "server", false, "server");
  add("his-app-01", "10.1.1.11", 5, "server", false, "server");
  add("emr-db-01", "10.1.1.12", 5, "server", false, "server");
  add("lis-01", "10.1.1.13", 4, "server", false, "server");
  add("pacs-01", "10.1.2.20", 5, "server", false, "server");
  add("pacs-02", "10.1.2.21", 5, "server", false, "server");
  add("fs-01", "10.1.3.30", 4, "server", false, "server");
  add("fs-02", "10.1.3.31", 4, "server", false, "server");
  add("dc-01", "10.1.0.5", 5, "server", false, "server");
  add("mail-01", "10.1.0.25", 4, "server", false, "server");
  add("backup-01", "10.1.3.40", 4, "server", false, "server");
  add("portal-web", "172.16.10.10", 3, "dmz", true, "dmz");
  add("vpn-gw", "172.16.10.1", 4, "dmz", true, "dmz");
  add("vuln-scanner", "10.0.0.50", 3, "management", false, "security");
  add("zabbix", "10.0.0.60", 3, "management", false, "monitoring");
  int n_ws = static_cast<int>(g.rng.Int(120, 180));
  for (int i = 1; i <= n_ws; ++i) {
    char id[32], ip[32];
    std::snprintf(id, sizeof id, "ws-%03d", i);
    std::snprintf(ip, sizeof ip, "10.20.%d.%d", i / 200, 10 + i % 200);
    add(id, ip, 2, "office", false, "workstation");
  }
  int n_dev = static_cast<int>(g.rng.Int(15, 30));
  for (int i = 1; i <= n_dev; ++i) {
    char id[32], ip[32];
    std::snprintf(id, sizeof id, "meddev-%02d", i);
    std::snprintf(ip, sizeof ip, "10.30.0.%d", 10 + i);
    add(id, ip, i % 3 == 0 ? 4 : 1, "medical-device", false, "medical-device");
  }
  for (const auto& a : g.sc.assets.all()) {
    if (a.asset_group == "server") g.servers.push_back(&a);
    if (a.asset_group == "workstation") g.workstations.push_back(&a);
    if (a.asset_group == "medical-device") g.devices.push_back(&a);
    if (a.id.rfind("fs-", 0) == 0) g.file_servers.push_back(&a);
    if (a.id.rfind("pacs-", 0) == 0) g.pacs.push_back(&a);
    if (a.zone == "dmz") g.dmz.push_back(&a);
  }
  for (int i = 1; i <= 60; ++i) g.staff.push_back("nurse" + std::to_string(i));
  for (int i = 1; i <= 40; ++i) g.doctors.push_back("dr" + std::to_string(i));
  for (int i = 1; i <= 5; ++i) g.admins.push_back("itadmin" + std::to_string(i));

  // The hospital's exceptions, as its security officer would set them up.
  auto& p = g.sc.policy;
  p.allow.push_back({"al-scanner", "default", "vuln_scanner", "ip", "10.0.0.50/31", "Nessus 扫描器", "secadmin", {}, {}});
  p.allow.push_back({"al-zabbix", "default", "monitoring", "ip", "10.0.0.60", "Zabbix 监控", "secadmin", {}, {}});
  p.allow.push_back({"al-backup", "default", "backup", "user", "svc_backup", "夜间备份作业", "secadmin", {}, {}});
  MaintenanceWindow w;
  w.id = "mw-patch";
  w.tenant_id = "default";
  w.name = "服务器每周补丁窗口";
  w.asset_group = "server";
  w.starts_at = g.sc.start;
  w.weekdays = 1 << 3;  // Thursday
  w.start_minute = 22 * 60;
  w.duration_minutes = 240;
  p.windows.push_back(w);
}

void GenerateNoise(Gen& g) {
  const std::vector<RuleDef> scan_rules = {
      {SourceKind::kSuricata, "suricata:2010937", "ET SCAN Nessus User Agent", Level::kMedium, "reconnaissance", "T1595"},
      {SourceKind::kSuricata, "suricata:2101411", "GPL SNMP public access udp", Level::kLow, "reconnaissance", "T1595"},
      {SourceKind::kSuricata, "suricata:2002910", "ET SCAN Potential VNC Scan", Level::kLow, "reconnaissance", "T1046"},
      {SourceKind::kSuricata, "suricata:2001219", "ET SCAN Potential SSH Scan", Level::kLow, "reconnaissance", "T1046"},
      {SourceKind::kSuricata, "suricata:2024218", "ET EXPLOIT SMBv1 probe", Level::kHigh, "initial-access", "T1190"},
      {SourceKind::kSuricata, "suricata:2019284", "ET WEB_SERVER Shellshock probe", Level::kHigh, "initial-access", "T1190"},
      {SourceKind::kSuricata, "suricata:2016683", "ET WEB_SERVER SQL injection probe", Level::kMedium, "initial-access", "T1190"},
      {SourceKind::kFirewallIps, "fwips:30512", "IPS: MS-RPC endpoint enumeration", Level::kMedium, "discovery", "T1046"},
      {SourceKind::kFirewallIps, "fwips:41002", "IPS: TLS weak cipher probe", Level::kLow, "reconnaissance", "T1595"},
      {SourceKind::kFirewallIps, "fwips:41877", "IPS: Apache Struts OGNL probe", Level::kHigh, "initial-access", "T1190"},
  };
  const RuleDef cred_scan = {SourceKind::kSigma, "sigma:remote-service-install", "远程服务安装 Remote service installed (PSEXESVC)",
                             Level::kHigh, "lateral-movement", "T1021.002"};
  const RuleDef snmp = scan_rules[1];
  const std::vector<RuleDef> backup_rules = {
      {SourceKind::kSigma, "sigma:vss-create", "卷影副本创建 Shadow copy created via vssadmin", Level::kMedium, "defense-evasion", "T1006"},
      {SourceKind::kSigma, "sigma:mass-read", "非交互账号大量读取文件 Mass file read by service account", Level::kLow, "collection", "T1005"},
  };
  const std::vector<RuleDef> flap_rules = {
      {SourceKind::kSigma, "sigma:dev-auth-fail", "设备反复认证失败 Repeated authentication failure", Level::kLow, "credential-access", "T1110"},
      {SourceKind::kSuricata, "suricata:2200074", "SURICATA duplicate IP address detected", Level::kLow, "", ""},
      {SourceKind::kSigma, "sigma:ntp-unsync", "时间不同步 NTP source unreachable", Level::kInformational, "", ""},
  };
  const std::vector<RuleDef> inbound_rules = {
      {SourceKind::kFirewallIps, "fwips:ssh-bf", "IPS: SSH brute force", Level::kMedium, "credential-access", "T1110.001"},
      {SourceKind::kFirewallIps, "fwips:rdp-bf", "IPS: RDP brute force", Level::kMedium, "credential-access", "T1110.001"},
      {SourceKind::kWaf, "waf:942100", "WAF: SQL injection attempt", Level::kMedium, "initial-access", "T1190"},
      {SourceKind::kWaf, "waf:913100", "WAF: scanner user agent", Level::kLow, "reconnaissance", "T1595.002"},
      {SourceKind::kWaf, "waf:930120", "WAF: path traversal attempt", Level::kMedium, "initial-access", "T1190"},
      {SourceKind::kFirewallIps, "fwips:vpn-bf", "IPS: SSL VPN credential stuffing", Level::kMedium, "credential-access", "T1110.004"},
  };
  const std::vector<RuleDef> ws_fp = {
      {SourceKind::kSigma, "sigma:ps-bypass", "PowerShell 执行策略绕过 ExecutionPolicy Bypass", Level::kMedium, "execution", "T1059.001"},
      {SourceKind::kSigma, "sigma:certutil-dl", "Certutil 下载文件 Certutil download", Level::kMedium, "command-and-control", "T1105"},
      {SourceKind::kSigma, "sigma:schtask", "可疑计划任务 Suspicious scheduled task", Level::kMedium, "persistence", "T1053.005"},
      {SourceKind::kSigma, "sigma:rdp-enable", "远程桌面被启用 RDP enabled via registry", Level::kLow, "lateral-movement", "T1021.001"},
  };
  const RuleDef av_pup = {SourceKind::kAntivirus, "av:PUP.Optional.Bundler", "AV: PUP.Optional.Bundler", Level::kLow, "", ""};
  const RuleDef av_trojan = {SourceKind::kAntivirus, "av:Trojan.GenericKD", "AV: Trojan.GenericKD (quarantined)", Level::kMedium, "execution", "T1204.002"};
  const RuleDef server_fp = {SourceKind::kSigma, "sigma:new-service", "服务器新服务安装 New service installed on server", Level::kHigh, "persistence", "T1543.003"};
  const std::vector<RuleDef> patch_rules = {
      {SourceKind::kSigma, "sigma:new-service", "服务器新服务安装 New service installed on server", Level::kHigh, "persistence", "T1543.003"},
      {SourceKind::kSigma, "sigma:reboot", "非计划重启 Unexpected system restart", Level::kLow, "impact", "T1529"},
      {SourceKind::kSigma, "sigma:msi-install", "软件安装 Software installed via msiexec", Level::kMedium, "execution", "T1218.007"},
  };

  const int scan_weekday = static_cast<int>(g.rng.Int(0, 6));
  std::vector<const AssetInfo*> flapping;
  int n_flap = static_cast<int>(g.rng.Int(3, 6));
  for (int i = 0; i < n_flap; ++i) flapping.push_back(g.rng.Pick(g.devices));
  std::vector<const AssetInfo*> network_gear;  // polled by monitoring
  for (int i = 0; i < 12; ++i) network_gear.push_back(g.rng.Pick(g.servers));

  for (int day = 0; day < g.sc.days; ++day) {
    // Weekly vulnerability scan, 20:00 onwards.
    if ((day + scan_weekday) % 7 == 0) {
      for (const auto* host : g.servers) {
        for (int k = 0; k < 8; ++k) {
          auto& a = g.Emit(g.rng.Pick(scan_rules), g.At(day, 20.0 + g.rng.Int(0, 300) / 60.0));
          a.src_ip = "10.0.0.50";
          a.dst_ip = Ip(host);
        }
        auto& c = g.Emit(cred_scan, g.At(day, 20.0 + g.rng.Int(0, 300) / 60.0));
        c.host = host->name;
        c.src_ip = "10.0.0.51";
        c.user = "svc_nessus";
      }
      for (const auto* host : g.workstations) {
        if (!g.rng.Chance(0.7)) continue;
        int n = static_cast<int>(g.rng.Int(4, 12));
        for (int k = 0; k < n; ++k) {
          auto& a = g.Emit(g.rng.Pick(scan_rules), g.At(day, 20.0 + g.rng.Int(0, 360) / 60.0));
          a.src_ip = "10.0.0.50";
          a.dst_ip = Ip(host);
        }
      }
    }
    // Monitoring polls every 5 minutes.
    for (const auto* host : network_gear) {
      for (int m = 0; m < 24 * 60; m += 5) {
        if (!g.rng.Chance(0.25)) continue;
        auto& a = g.Emit(snmp, g.At(day, m / 60.0));
        a.src_ip = "10.0.0.60";
        a.dst_ip = Ip(host);
      }
    }
    // Nightly backups, 01:00-03:00.
    for (const auto* host : g.servers) {
      if (host->id.rfind("fs-", 0) != 0 && host->id.rfind("pacs-", 0) != 0 && host->id.find("db") == std::string::npos)
        continue;
      for (int m = 60; m < 180; m += 15) {
        const RuleDef& r = g.rng.Pick(backup_rules);
        auto& a = g.Emit(r, g.At(day, m / 60.0 + g.rng.Int(0, 10) / 60.0));
        a.host = host->name;
        a.user = "svc_backup";
        a.src_ip = Ip(host);
      }
    }
    // Flapping devices.
    for (const auto* dev : flapping) {
      const RuleDef& r = flap_rules[static_cast<std::size_t>(g.rng.Int(0, static_cast<std::int64_t>(flap_rules.size()) - 1))];
      for (int m = 0; m < 24 * 60; m += static_cast<int>(g.rng.Int(2, 10))) {
        auto& a = g.Emit(r, g.At(day, m / 60.0));
        a.host = dev->name;
        a.src_ip = Ip(dev);
      }
    }
    // Internet brute force and web scanning, mostly blocked.
    for (int h = 0; h < 24; ++h) {
      int n = static_cast<int>(g.rng.Int(5, 40));
      for (int k = 0; k < n; ++k) {
        const AssetInfo* target = g.rng.Pick(g.dmz);
        auto& a = g.Emit(g.rng.Pick(inbound_rules), g.At(day, h + g.rng.Int(0, 59) / 60.0));
        a.src_ip = g.ExternalIp();
        a.dst_ip = Ip(target);
        a.action = g.rng.Chance(0.995) ? SensorAction::kBlocked : SensorAction::kDetected;
      }
    }
    // Sporadic workstation false positives and antivirus detections in working hours.
    int n_fp = static_cast<int>(g.rng.Int(4, 14));
    for (int k = 0; k < n_fp; ++k) {
      const AssetInfo* ws = g.rng.Pick(g.workstations);
      bool admin = g.rng.Chance(0.5);
      auto& a = g.Emit(g.rng.Pick(ws_fp), g.At(day, 8 + g.rng.Int(0, 600) / 60.0));
      a.host = ws->name;
      a.user = admin ? g.rng.Pick(g.admins) : g.rng.Pick(g.staff);
    }
    int n_av = static_cast<int>(g.rng.Int(3, 12));
    for (int k = 0; k < n_av; ++k) {
      const AssetInfo* ws = g.rng.Pick(g.workstations);
      auto& a = g.Emit(g.rng.Chance(0.7) ? av_pup : av_trojan, g.At(day, 8 + g.rng.Int(0, 600) / 60.0));
      a.host = ws->name;
      a.user = g.rng.Pick(g.staff);
      a.action = SensorAction::kBlocked;
    }
    // A legitimate service install on a server every few days (an analyst closes it as benign).
    if (g.rng.Chance(0.3)) {
      const AssetInfo* host = g.rng.Pick(g.servers);
      auto& a = g.Emit(server_fp, g.At(day, 9 + g.rng.Int(0, 480) / 60.0));
      a.host = host->name;
      a.user = g.rng.Pick(g.admins);
    }
    // Patch night (Thursday 22:00 local, the maintenance window).
    std::int64_t local_days = (g.sc.start + core::Days(day) + core::Hours(8)).seconds() / 86400;
    if (((local_days % 7) + 7 + 3) % 7 == 3) {
      for (const auto* host : g.servers) {
        for (const auto& r : patch_rules) {
          auto& a = g.Emit(r, g.At(day, 22.2 + g.rng.Int(0, 200) / 60.0));
          a.host = host->name;
          a.user = g.rng.Pick(g.admins);
        }
      }
    }
  }
}

void PlantStory(Gen& g, const std::string& kind, int day) {
  SimStory story;
  story.kind = kind;
  const std::size_t first = g.sc.alerts.size();
  auto emit = [&](const RuleDef& r, core::Timestamp t) -> AlertInput& { return g.Emit(r, t); };
  if (kind == "phishing_to_pacs") {
    story.expected = Severity::kCritical;
    const AssetInfo* ws = g.rng.Pick(g.workstations);
    const AssetInfo* pacs = g.rng.Pick(g.pacs);
    std::string user = g.rng.Pick(g.staff), c2 = g.ExternalIp();
    core::Timestamp t = g.At(day, 9 + g.rng.Int(0, 420) / 60.0);
    auto& a1 = emit({SourceKind::kSigma, "sigma:office-child-ps", "Office 进程启动 PowerShell Office spawned PowerShell",
                     Level::kMedium, "execution", "T1204.002"}, t);
    a1.host = ws->name, a1.user = user;
    core::Timestamp b = t + core::Minutes(g.rng.Int(2, 20));
    for (int k = 0; k < 30; ++k) {
      auto& a = emit({SourceKind::kSuricata, "suricata:2027082", "ET MALWARE Cobalt Strike Beacon Observed", Level::kHigh,
                      "command-and-control", "T1071.001"}, b + core::Minutes(k * 4));
      a.src_ip = Ip(ws), a.dst_ip = c2, a.intel_hits = {c2};
    }
    core::Timestamp l = b + core::Hours(g.rng.Int(2, 6));
    auto& a3 = emit({SourceKind::kSigma, "sigma:lsass-access", "LSASS 内存读取 Credential dumping via LSASS access", Level::kHigh,
                     "credential-access", "T1003.001"}, l);
    a3.host = ws->name, a3.user = user;
    core::Timestamp m = l + core::Hours(g.rng.Int(1, 4));
    auto& a4 = emit({SourceKind::kSigma, "sigma:lateral-svc", "横向移动：远程服务创建 Remote service created from workstation",
                     Level::kHigh, "lateral-movement", "T1021.002"}, m);
    a4.host = pacs->name, a4.src_ip = Ip(ws), a4.user = user;
    core::Timestamp s = m + core::Minutes(g.rng.Int(30, 90));
    auto& a5 = emit({SourceKind::kSigma, "sigma:dicom-archive", "DICOM 影像批量打包 Archive of DICOM studies created", Level::kHigh,
                     "collection", "T1560.001"}, s);
    a5.host = pacs->name, a5.user = user;
    auto& a6 = emit({SourceKind::kFirewallIps, "fwips:large-out", "IPS: large outbound transfer to rare host", Level::kMedium,
                     "exfiltration", "T1041"}, s + core::Minutes(g.rng.Int(10, 60)));
    a6.src_ip = Ip(pacs), a6.dst_ip = c2, a6.intel_hits = {c2};
  } else if (kind == "insider_export") {
    story.expected = Severity::kHigh;
    const AssetInfo* ws = g.rng.Pick(g.workstations);
    std::string user = g.rng.Pick(g.doctors);
    core::Timestamp t = g.At(day, 20.5 + g.rng.Int(0, 90) / 60.0);
    for (int k = 0; k < 12; ++k) {
      auto& a = emit({SourceKind::kSigma, "sigma:his-bulk-query", "HIS 非工作时间批量查询患者记录 After-hours bulk patient query",
                      Level::kMedium, "collection", "T1213"}, t + core::Minutes(k * 3));
      a.host = "his-db-01", a.user = user, a.src_ip = Ip(ws);
    }
    auto& a2 = emit({SourceKind::kSigma, "sigma:bulk-export", "大量导出为 Excel Mass export to spreadsheet", Level::kMedium,
                     "collection", "T1119"}, t + core::Minutes(g.rng.Int(40, 60)));
    a2.host = ws->name, a2.user = user;
    auto& a3 = emit({SourceKind::kSigma, "sigma:usb-write", "U 盘大量写入 Large write to USB mass storage", Level::kMedium,
                     "exfiltration", "T1052.001"}, t + core::Minutes(g.rng.Int(65, 90)));
    a3.host = ws->name, a3.user = user;
    auto& a4 = emit({SourceKind::kFirewallIps, "fwips:cloud-upload", "IPS: upload to personal cloud storage", Level::kMedium,
                     "exfiltration", "T1567.002"}, t + core::Minutes(g.rng.Int(95, 120)));
    a4.src_ip = Ip(ws), a4.dst_ip = g.ExternalIp(), a4.user = user;
  } else if (kind == "ransomware_prep") {
    story.expected = Severity::kCritical;
    const AssetInfo* fs = g.rng.Pick(g.file_servers);
    std::string user = g.rng.Pick(g.admins);
    core::Timestamp t = g.At(day, g.rng.Int(0, 23) + g.rng.Int(0, 59) / 60.0);
    auto& a1 = emit({SourceKind::kAntivirus, "av:HackTool.Mimikatz", "AV: HackTool.Mimikatz (quarantined)", Level::kHigh,
                     "credential-access", "T1003"}, t);
    a1.host = fs->name, a1.user = user, a1.action = SensorAction::kBlocked;
    auto& a2 = emit({SourceKind::kSigma, "sigma:adfind", "域信息收集 AdFind discovery", Level::kMedium, "discovery", "T1018"},
                    t + core::Minutes(g.rng.Int(5, 60)));
    a2.host = fs->name, a2.user = user;
    auto& a3 = emit({SourceKind::kSigma, "sigma:vss-delete", "删除卷影副本 Shadow copies deleted", Level::kCritical, "impact",
                     "T1490"}, t + core::Minutes(g.rng.Int(70, 180)));
    a3.host = fs->name, a3.user = user;
    for (int k = 0; k < 20; ++k) {
      auto& a = emit({SourceKind::kSigma, "sigma:mass-rename", "文件批量重命名 Mass file rename with new extension", Level::kHigh,
                      "impact", "T1486"}, t + core::Minutes(185 + k));
      a.host = fs->name, a.user = user;
    }
  } else {  // web_to_shell
    story.expected = Severity::kHigh;
    const AssetInfo* web = g.sc.assets.ById("portal-web");
    std::string attacker = g.ExternalIp(), c2 = g.ExternalIp();
    core::Timestamp t = g.At(day, g.rng.Int(0, 23) + g.rng.Int(0, 59) / 60.0);
    for (int k = 0; k < 6; ++k) {
      auto& a = emit({SourceKind::kWaf, "waf:942100", "WAF: SQL injection attempt", Level::kMedium, "initial-access", "T1190"},
                     t + core::Minutes(k));
      a.src_ip = attacker, a.dst_ip = Ip(web), a.action = SensorAction::kDetected;
    }
    auto& a2 = emit({SourceKind::kSigma, "sigma:web-shell-spawn", "Web 服务进程启动命令行 Web server spawned a shell", Level::kHigh,
                     "persistence", "T1505.003"}, t + core::Minutes(g.rng.Int(10, 40)));
    a2.host = web->name, a2.user = "www-data";
    auto& a3 = emit({SourceKind::kSigma, "sigma:webshell-file", "Web 目录写入脚本文件 Script file written to web root", Level::kHigh,
                     "persistence", "T1505.003"}, t + core::Minutes(g.rng.Int(41, 60)));
    a3.host = web->name, a3.user = "www-data";
    auto& a4 = emit({SourceKind::kSuricata, "suricata:2030358", "ET MALWARE DMZ host to known C2", Level::kHigh,
                     "command-and-control", "T1071"}, t + core::Minutes(g.rng.Int(61, 120)));
    a4.src_ip = Ip(web), a4.dst_ip = c2, a4.intel_hits = {c2};
  }
  for (std::size_t i = first; i < g.sc.alerts.size(); ++i) story.alerts.push_back(i);
  g.sc.stories.push_back(std::move(story));
}

}  // namespace

SimScenario GenerateScenario(std::uint64_t seed, int days) {
  Gen g(seed);
  g.sc.days = std::max(1, days);
  // Day 1 is 2025-03-01, local midnight in China Standard Time.
  g.sc.start = core::Timestamp::FromSeconds(core::DaysFromCivil(2025, 3, 1) * 86400 - 8 * 3600);
  BuildHospital(g);
  GenerateNoise(g);
  const char* kinds[] = {"phishing_to_pacs", "insider_export", "ransomware_prep", "web_to_shell"};
  for (const char* kind : kinds) {
    int n = g.sc.days >= 7 ? static_cast<int>(g.rng.Int(1, 2)) : 1;
    for (int i = 0; i < n; ++i) PlantStory(g, kind, static_cast<int>(g.rng.Int(0, std::max(0, g.sc.days - 2))));
  }
  // Sort by time, remembering where each story's alerts went.
  std::vector<std::size_t> order(g.sc.alerts.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    return g.sc.alerts[x].event_time < g.sc.alerts[y].event_time;
  });
  std::vector<std::size_t> where(order.size());
  std::vector<AlertInput> sorted;
  sorted.reserve(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    where[order[i]] = i;
    sorted.push_back(std::move(g.sc.alerts[order[i]]));
  }
  g.sc.alerts = std::move(sorted);
  for (auto& s : g.sc.stories)
    for (auto& idx : s.alerts) idx = where[idx];
  return std::move(g.sc);
}

SimReport RunSimulation(std::uint64_t seed, int days, const TriageOptions& options) {
  SimScenario sc = GenerateScenario(seed, days);
  Engine engine(options, &sc.assets, &sc.policy);
  std::vector<std::string> alert_ids(sc.alerts.size());
  std::vector<core::Timestamp> created_at_input(sc.alerts.size());
  for (std::size_t i = 0; i < sc.alerts.size(); ++i) {
    ProcessResult r = engine.Process(sc.alerts[i]);
    alert_ids[i] = r.alert_id;
  }
  SimReport rep;
  rep.seed = seed;
  rep.days = sc.days;
  for (const auto& [day, per_source] : engine.counters()) {
    for (int s = 0; s < kSourceKinds; ++s) {
      rep.by_source[s].alerts_in += per_source[s].alerts_in;
      rep.by_source[s].alert_records += per_source[s].alert_records;
      rep.by_source[s].suppressed += per_source[s].suppressed;
      rep.by_source[s].incidents += per_source[s].incidents;
      rep.alerts_in += per_source[s].alerts_in;
      rep.alert_records += per_source[s].alert_records;
      rep.suppressed += per_source[s].suppressed;
    }
  }
  for (const auto& id : engine.incident_order()) {
    const Incident* inc = engine.FindIncident(id);
    if (!inc || !inc->merged_into.empty()) continue;
    ++rep.incidents_out;
    rep.largest_incident_alerts = std::max(rep.largest_incident_alerts, inc->alert_ids.size());
  }
  rep.reduction_pct = rep.alerts_in == 0 ? 0 : 100.0 * (1.0 - static_cast<double>(rep.incidents_out) / rep.alerts_in);
  for (const auto& story : sc.stories) {
    SimStoryResult sr;
    sr.kind = story.kind;
    sr.expected = story.expected;
    sr.alerts = story.alerts.size();
    std::set<std::string> incidents;
    bool all_in = true;
    for (std::size_t idx : story.alerts) {
      const AlertRecord* rec = engine.FindAlert(alert_ids[idx]);
      if (!rec || rec->incident_id.empty()) {
        all_in = false;
        continue;
      }
      incidents.insert(rec->incident_id);
    }
    sr.incidents_touched = incidents.size();
    if (const AlertRecord* first = engine.FindAlert(alert_ids[story.alerts.front()]); first && !first->incident_id.empty()) {
      sr.incident_id = first->incident_id;
      if (const Incident* inc = engine.FindIncident(first->incident_id)) {
        sr.severity = std::string(SeverityName(inc->severity));
        sr.delay_seconds = (inc->created_at.ns - sc.alerts[story.alerts.front()].event_time.ns) / core::kNanosPerSecond;
        sr.found = all_in && incidents.size() == 1 && inc->severity >= story.expected;
      }
    }
    if (sr.found) ++rep.stories_found;
    rep.stories.push_back(std::move(sr));
  }
  return rep;
}

std::string FormatSimReport(const SimReport& r) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "triage simulation: seed=%llu days=%d\n", static_cast<unsigned long long>(r.seed), r.days);
  out += line;
  out += "source        alerts_in  records  suppressed  incidents\n";
  for (int s = 0; s < kSourceKinds; ++s) {
    const auto& c = r.by_source[s];
    std::snprintf(line, sizeof line, "%-12s %10lld %8lld %11lld %10lld\n",
                  std::string(SourceKindName(static_cast<SourceKind>(s))).c_str(), static_cast<long long>(c.alerts_in),
                  static_cast<long long>(c.alert_records), static_cast<long long>(c.suppressed),
                  static_cast<long long>(c.incidents));
    out += line;
  }
  std::snprintf(line, sizeof line, "alert records after dedup: %lld; suppressed alerts: %lld; largest incident: %zu alerts\n",
                static_cast<long long>(r.alert_records), static_cast<long long>(r.suppressed), r.largest_incident_alerts);
  out += line;
  for (const auto& s : r.stories) {
    std::snprintf(line, sizeof line, "story %-17s expected>=%-8s %s incident=%s severity=%s alerts=%zu incidents=%zu delay=%llds\n",
                  s.kind.c_str(), std::string(SeverityName(s.expected)).c_str(), s.found ? "FOUND " : "MISSED",
                  s.incident_id.empty() ? "-" : s.incident_id.c_str(), s.severity.empty() ? "-" : s.severity.c_str(),
                  s.alerts, s.incidents_touched, static_cast<long long>(s.delay_seconds));
    out += line;
  }
  std::snprintf(line, sizeof line, "alerts_in=%lld\nincidents_out=%lld\nreduction=%.2f%%\nstories_planted=%zu\nstories_found=%d\n",
                static_cast<long long>(r.alerts_in), static_cast<long long>(r.incidents_out), r.reduction_pct,
                r.stories.size(), r.stories_found);
  out += line;
  return out;
}

}  // namespace medsoc::triage
