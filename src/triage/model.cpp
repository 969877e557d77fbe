#include "triage/model.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cstring>

namespace medsoc::triage {
namespace {

template <typename E, std::size_t N>
std::optional<E> ParseName(std::string_view s, const std::array<std::string_view, N>& names) {
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == s) return static_cast<E>(i);
  return std::nullopt;
}

constexpr std::array<std::string_view, 5> kSourceNames = {"sigma", "suricata", "waf", "firewall_ips", "antivirus"};
constexpr std::array<std::string_view, 5> kLevelNames = {"informational", "low", "medium", "high", "critical"};
constexpr std::array<std::string_view, 4> kSeverityNames = {"low", "medium", "high", "critical"};
constexpr std::array<std::string_view, 4> kSeverityNamesZh = {"低", "中", "高", "严重"};
constexpr std::array<std::string_view, 6> kStatusNames = {"new",      "acknowledged", "investigating",
                                                          "contained", "resolved",     "closed"};
constexpr std::array<std::string_view, 6> kStatusNamesZh = {"新建", "已确认", "调查中", "已遏制", "已解决", "已关闭"};
constexpr std::array<std::string_view, 4> kAlertStatusNames = {"open", "suppressed", "in_incident", "closed"};
constexpr std::array<std::string_view, 3> kVerdictNames = {"true_positive", "false_positive", "benign_true_positive"};
constexpr std::array<std::string_view, 4> kSuppressionNames = {"none", "allowlist", "rule", "maintenance"};
constexpr std::array<std::string_view, 4> kEntityKindNames = {"asset", "host", "user", "ip"};

// Parses an address into 16 bytes (IPv4 as ::ffff:a.b.c.d); returns the bit offset of the v4 part.
bool ParseAddr(std::string_view text, std::array<unsigned char, 16>& out, bool& v4) {
  char buf[64];
  if (text.empty() || text.size() >= sizeof buf) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = 0;
  unsigned char tmp[16];
  if (inet_pton(AF_INET, buf, tmp) == 1) {
    out.fill(0);
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, tmp, 4);
    v4 = true;
    return true;
  }
  if (inet_pton(AF_INET6, buf, tmp) == 1) {
    std::memcpy(out.data(), tmp, 16);
    v4 = false;
    return true;
  }
  return false;
}

}  // namespace

std::string_view SourceKindName(SourceKind k) { return kSourceNames[static_cast<int>(k)]; }
std::optional<SourceKind> ParseSourceKind(std::string_view s) { return ParseName<SourceKind>(s, kSourceNames); }
std::string_view LevelName(Level l) { return kLevelNames[static_cast<int>(l)]; }
std::optional<Level> ParseLevel(std::string_view s) { return ParseName<Level>(s, kLevelNames); }
std::string_view SeverityName(Severity s) { return kSeverityNames[static_cast<int>(s)]; }
std::string_view SeverityNameZh(Severity s) { return kSeverityNamesZh[static_cast<int>(s)]; }
std::optional<Severity> ParseSeverity(std::string_view s) { return ParseName<Severity>(s, kSeverityNames); }
std::string_view IncidentStatusName(IncidentStatus s) { return kStatusNames[static_cast<int>(s)]; }
std::string_view IncidentStatusNameZh(IncidentStatus s) { return kStatusNamesZh[static_cast<int>(s)]; }
std::optional<IncidentStatus> ParseIncidentStatus(std::string_view s) {
  return ParseName<IncidentStatus>(s, kStatusNames);
}
std::string_view AlertStatusName(AlertStatus s) { return kAlertStatusNames[static_cast<int>(s)]; }
std::optional<AlertStatus> ParseAlertStatus(std::string_view s) { return ParseName<AlertStatus>(s, kAlertStatusNames); }
std::string_view VerdictName(VerdictKind v) { return kVerdictNames[static_cast<int>(v)]; }
std::optional<VerdictKind> ParseVerdict(std::string_view s) { return ParseName<VerdictKind>(s, kVerdictNames); }
std::string_view SuppressionKindName(SuppressionKind k) { return kSuppressionNames[static_cast<int>(k)]; }
std::string_view EntityKindName(EntityKind k) { return kEntityKindNames[static_cast<int>(k)]; }

std::string Entity::Key() const {
  std::string key(EntityKindName(kind));
  key += ':';
  key += value;
  return key;
}

bool IsAllowedTransition(IncidentStatus from, IncidentStatus to) {
  if (from == to) return false;
  if (IsOpen(from)) return to > from;  // forward, possibly skipping steps
  if (from == IncidentStatus::kResolved) return to == IncidentStatus::kClosed || to == IncidentStatus::kAcknowledged;
  return to == IncidentStatus::kAcknowledged;  // closed -> reopen
}

Severity SeverityForScore(double score) {
  if (score >= 85) return Severity::kCritical;
  if (score >= 60) return Severity::kHigh;
  if (score >= 35) return Severity::kMedium;
  return Severity::kLow;
}

bool IpInCidr(std::string_view ip, std::string_view cidr) {
  std::string_view net = cidr;
  int prefix = -1;
  if (auto slash = cidr.find('/'); slash != std::string_view::npos) {
    net = cidr.substr(0, slash);
    std::string_view p = cidr.substr(slash + 1);
    int v = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (ec != std::errc() || ptr != p.data() + p.size()) return false;
    prefix = v;
  }
  std::array<unsigned char, 16> a{}, b{};
  bool a4 = false, b4 = false;
  if (!ParseAddr(ip, a, a4) || !ParseAddr(net, b, b4) || a4 != b4) return false;
  int bits = prefix < 0 ? 128 : (b4 ? prefix + 96 : prefix);
  if (prefix > (b4 ? 32 : 128)) return false;
  for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    unsigned char mask = bits >= 8 ? 0xff : static_cast<unsigned char>(0xff << (8 - bits));
    if ((a[i] & mask) != (b[i] & mask)) return false;
  }
  return true;
}

bool IsInternalIp(std::string_view ip) {
  static constexpr std::string_view kInternal[] = {"10.0.0.0/8",     "172.16.0.0/12", "192.168.0.0/16",
                                                   "127.0.0.0/8",    "169.254.0.0/16", "100.64.0.0/10",
                                                   "fc00::/7",       "fe80::/10",      "::1/128"};
  for (auto c : kInternal)
    if (IpInCidr(ip, c)) return true;
  return false;
}

}  // namespace medsoc::triage
