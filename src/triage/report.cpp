#include "triage/report.h"

#include <algorithm>
#include <map>

namespace medsoc::triage {
namespace {

using nlohmann::json;

json Time(core::Timestamp t) { return t.ns == 0 ? json(nullptr) : json(core::FormatRfc3339(t, 0)); }

// Advice per tactic: what a hospital's security team hardens after seeing it.
std::string_view AdviceFor(std::string_view tactic) {
  static constexpr std::pair<std::string_view, std::string_view> kAdvice[] = {
      {"initial-access", "修补对外暴露系统漏洞，开启 WAF 阻断模式，邮件网关启用附件沙箱；Patch internet-facing systems, WAF in blocking mode, sandbox mail attachments."},
      {"execution", "启用应用程序白名单与 PowerShell 受限语言模式，禁用 Office 宏；Application allow-listing, constrained PowerShell, block Office macros."},
      {"persistence", "核查计划任务、服务与 Web 目录，启用文件完整性监控；Review scheduled tasks, services and web roots; file integrity monitoring."},
      {"privilege-escalation", "及时安装系统补丁，收敛本地管理员权限；Patch promptly, remove local administrator rights."},
      {"defense-evasion", "保护安全软件与日志不被关闭，集中留存日志不少于 180 天；Protect security tools and logs; keep central logs >= 180 days."},
      {"credential-access", "重置涉事账号口令，启用 LSA 保护与多因素认证；Reset affected credentials, enable LSA protection and MFA."},
      {"discovery", "限制域信息查询权限，监测异常枚举行为；Restrict directory enumeration, monitor discovery tooling."},
      {"lateral-movement", "按等保要求划分安全域，限制工作站到服务器的 SMB/RDP 访问；Segment per MLPS zones, restrict workstation-to-server SMB/RDP."},
      {"collection", "对患者数据访问实施最小权限与批量查询审计；Least privilege and bulk-query auditing on patient data."},
      {"command-and-control", "出口流量白名单，接入威胁情报阻断已知 C2；Egress allow-listing, block known C2 via threat intelligence."},
      {"exfiltration", "部署数据防泄漏，禁用未授权 USB 存储与个人网盘；DLP, block unauthorised USB storage and personal cloud storage."},
      {"impact", "离线备份并定期恢复演练，保护卷影副本；Offline backups with restore drills, protect shadow copies."},
      {"reconnaissance", "减少对外暴露面，限制扫描来源；Reduce exposure, rate-limit scanning sources."},
  };
  for (const auto& [k, v] : kAdvice)
    if (k == tactic) return v;
  return {};
}

}  // namespace

json BuildIncidentReport(const IncidentView& v, const std::vector<AlertRecord>& alerts,
                         const std::vector<TimelineRow>& timeline, const std::vector<Comment>& comments,
                         const std::vector<AssetInfo>& assets, const std::vector<SlaClock>& sla) {
  const Incident& inc = v.incident;
  char number[32];
  std::snprintf(number, sizeof number, "INC-%06lld", static_cast<long long>(v.number));
  json summary = {{"title", inc.title},
                  {"severity", SeverityName(inc.severity)},
                  {"severity_zh", SeverityNameZh(inc.severity)},
                  {"status", IncidentStatusName(inc.status)},
                  {"status_zh", IncidentStatusNameZh(inc.status)},
                  {"raised_by", inc.raised_by},
                  {"owner", inc.owner},
                  {"first_seen", Time(inc.first_seen)},
                  {"last_seen", Time(inc.last_seen)},
                  {"detected_at", Time(inc.created_at)},
                  {"alert_count", alerts.size()},
                  {"event_count", inc.event_count},
                  {"verdict", inc.verdict ? json(VerdictName(*inc.verdict)) : json(nullptr)}};
  json tl = json::array();
  for (const auto& t : timeline)
    tl.push_back({{"at", Time(t.at)}, {"actor", t.actor}, {"kind", t.kind}, {"detail", t.detail}});

  json affected_assets = json::array(), accounts = json::array(), observables = json::array();
  for (const auto& key : inc.entity_keys) {
    auto colon = key.find(':');
    std::string kind = key.substr(0, colon), value = key.substr(colon + 1);
    if (kind == "asset") {
      auto it = std::find_if(assets.begin(), assets.end(), [&](const AssetInfo& a) { return a.id == value; });
      if (it != assets.end())
        affected_assets.push_back({{"id", it->id}, {"name", it->name}, {"criticality", it->criticality},
                                   {"zone", it->zone}, {"internet_facing", it->internet_facing}, {"ips", it->ips}});
      else
        affected_assets.push_back({{"id", value}});
    } else if (kind == "user") {
      accounts.push_back(value);
    } else {
      observables.push_back({{"kind", kind}, {"value", value}});
    }
  }
  // ATT&CK chain in order of first appearance.
  std::vector<AlertRecord> sorted = alerts;
  std::sort(sorted.begin(), sorted.end(), [](const AlertRecord& a, const AlertRecord& b) { return a.first_seen < b.first_seen; });
  json chain = json::array();
  std::map<std::string, std::size_t> chain_index;
  json alert_rows = json::array();
  for (const auto& a : sorted) {
    if (!a.attack_tactic.empty()) {
      auto [it, fresh] = chain_index.emplace(a.attack_tactic, chain.size());
      if (fresh)
        chain.push_back({{"tactic", a.attack_tactic}, {"tactic_zh", TacticNameZh(a.attack_tactic)},
                         {"first_seen", Time(a.first_seen)}, {"techniques", json::array()}});
      auto& techs = chain[it->second]["techniques"];
      if (!a.attack_technique.empty() && std::find(techs.begin(), techs.end(), a.attack_technique) == techs.end())
        techs.push_back(a.attack_technique);
    }
    for (const auto& hit : a.intel_hits) observables.push_back({{"kind", "intel"}, {"value", hit}});
    alert_rows.push_back({{"id", a.id}, {"rule", a.rule_title}, {"rule_id", a.rule_id}, {"source", SourceKindName(a.source)},
                          {"level", LevelName(a.level)}, {"score", a.score}, {"count", a.count},
                          {"first_seen", Time(a.first_seen)}, {"last_seen", Time(a.last_seen)}, {"host", a.host},
                          {"user", a.user}, {"src_ip", a.src_ip}, {"dst_ip", a.dst_ip}});
  }
  json actions = json::array();
  for (const auto& c : comments)
    actions.push_back({{"at", Time(c.created_at)}, {"by", c.author}, {"text", c.body}});
  json clocks = json::array();
  for (const auto& c : sla)
    clocks.push_back({{"clock", c.name}, {"target_minutes", c.target_minutes}, {"met_at", Time(c.met_at)},
                      {"elapsed_minutes", c.elapsed_ns / core::Minutes(1)}, {"breached", c.breached}});
  json advice = json::array();
  for (const auto& t : inc.tactics)
    if (auto a = AdviceFor(t); !a.empty()) advice.push_back({{"tactic", t}, {"tactic_zh", TacticNameZh(t)}, {"advice", a}});

  return {{"report_title", "安全事件应急响应与处置报告"},
          {"report_title_en", "Security Incident Response and Disposal Report"},
          {"generated_at", Time(core::Now())},
          {"incident", {{"number", number}, {"id", inc.id}, {"tenant", inc.tenant_id}}},
          {"summary", summary},
          {"timeline", tl},
          {"impact", {{"assets", affected_assets}, {"accounts", accounts}, {"assessment", v.impact}}},
          {"analysis", {{"attack_chain", chain}, {"alerts", alert_rows}, {"observables", observables},
                        {"root_cause", v.root_cause}}},
          {"disposal", {{"acknowledged_at", Time(v.acknowledged_at)}, {"investigating_at", Time(v.investigating_at)},
                        {"onsite_at", Time(v.onsite_at)}, {"contained_at", Time(v.contained_at)},
                        {"resolved_at", Time(v.resolved_at)}, {"closed_at", Time(v.closed_at)},
                        {"escalation_tier", v.escalation_tier}, {"sla", clocks}, {"actions", actions}}},
          {"hardening_advice", advice},
          {"review", v.review}};
}

}  // namespace medsoc::triage
