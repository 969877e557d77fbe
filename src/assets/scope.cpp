#include "assets/scope.h"

#include <arpa/inet.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <set>
#include <sys/stat.h>

#include "assets/fingerprints.h"
#include "assets/model.h"

namespace medsoc::assets {
namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

std::string Ipv4ToString(std::uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." + std::to_string((a >> 8) & 255) + "." +
         std::to_string(a & 255);
}

bool ParseIpv4(std::string_view text, std::uint32_t& out) {
  std::string s(text);
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return false;
  out = ntohl(a.s_addr);
  return true;
}

Result<Ipv4Range> ParseNetwork(std::string_view text) {
  std::string t = Trim(text);
  auto slash = t.find('/');
  std::uint32_t a = 0;
  if (!ParseIpv4(t.substr(0, slash), a)) return Error(ErrorCode::kInvalidArgument, "'" + t + "' is not an IPv4 network");
  if (slash == std::string::npos) return Ipv4Range{a, a};
  std::string p = t.substr(slash + 1);
  if (p.empty() || p.size() > 2 || p.find_first_not_of("0123456789") != std::string::npos || std::stoi(p) > 32)
    return Error(ErrorCode::kInvalidArgument, "'" + t + "': prefix length must be 0-32");
  int prefix = std::stoi(p);
  std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
  return Ipv4Range{a & mask, (a & mask) | ~mask};
}

Status TargetSet::AddItem(std::string_view raw) {
  std::string item = Trim(raw);
  if (item.empty()) return Ok();
  items_.push_back(item);
  auto dash = item.find('-');
  if (item.find('/') != std::string::npos) {
    MEDSOC_ASSIGN_OR_RETURN(auto r, ParseNetwork(item));
    v4_.push_back(r);
    return Ok();
  }
  if (dash != std::string::npos) {
    std::string a = item.substr(0, dash), b = item.substr(dash + 1);
    std::uint32_t first = 0, last = 0;
    if (!ParseIpv4(a, first)) return Error(ErrorCode::kInvalidArgument, "'" + item + "' is not an address range");
    if (b.find('.') == std::string::npos) {
      if (b.empty() || b.size() > 3 || b.find_first_not_of("0123456789") != std::string::npos || std::stoi(b) > 255)
        return Error(ErrorCode::kInvalidArgument, "'" + item + "': the short form ends in 0-255");
      last = (first & 0xffffff00u) | static_cast<std::uint32_t>(std::stoi(b));
    } else if (!ParseIpv4(b, last)) {
      return Error(ErrorCode::kInvalidArgument, "'" + item + "' is not an address range");
    }
    if (last < first) return Error(ErrorCode::kInvalidArgument, "'" + item + "': the range is reversed");
    v4_.push_back({first, last});
    return Ok();
  }
  std::uint32_t a = 0;
  if (ParseIpv4(item, a)) {
    v4_.push_back({a, a});
    return Ok();
  }
  if (auto v6 = NormalizeIp(item)) {
    if (std::find(v6_.begin(), v6_.end(), *v6) == v6_.end()) v6_.push_back(*v6);
    return Ok();
  }
  return Error(ErrorCode::kInvalidArgument, "'" + item + "' is not an address, network (CIDR) or range");
}

void TargetSet::Normalize() {
  std::sort(v4_.begin(), v4_.end(), [](const Ipv4Range& a, const Ipv4Range& b) { return a.first < b.first; });
  std::vector<Ipv4Range> merged;
  for (const auto& r : v4_) {
    if (!merged.empty() && static_cast<std::uint64_t>(r.first) <= static_cast<std::uint64_t>(merged.back().last) + 1) {
      merged.back().last = std::max(merged.back().last, r.last);
    } else {
      merged.push_back(r);
    }
  }
  v4_ = std::move(merged);
}

Result<TargetSet> TargetSet::ParseFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error(ErrorCode::kNotFound, "cannot read target file " + path);
  TargetSet t;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    std::string cur;
    for (char c : line + " ") {
      if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
        if (auto st = t.AddItem(cur); !st.ok()) return Error(st.error().code(), st.error().message(), SourcePos{path, n, 0});
        cur.clear();
      } else {
        cur.push_back(c);
      }
    }
  }
  t.Normalize();
  return t;
}

Result<TargetSet> TargetSet::Parse(std::string_view spec, bool allow_files) {
  std::string s = Trim(spec);
  struct stat st {};
  if (allow_files && !s.empty() && s.find(',') == std::string::npos && ::stat(s.c_str(), &st) == 0 && S_ISREG(st.st_mode))
    return ParseFile(s);
  TargetSet t;
  std::string cur;
  for (char c : s + " ") {
    if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
      MEDSOC_TRY(t.AddItem(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  t.Normalize();
  if (t.v4_.empty() && t.v6_.empty()) return Error(ErrorCode::kInvalidArgument, "no targets");
  return t;
}

std::vector<std::string> TargetSet::Addresses() const {
  std::vector<std::string> out;
  for (const auto& r : v4_)
    for (std::uint64_t a = r.first; a <= r.last; ++a) out.push_back(Ipv4ToString(static_cast<std::uint32_t>(a)));
  out.insert(out.end(), v6_.begin(), v6_.end());
  return out;
}

std::uint64_t TargetSet::size() const {
  std::uint64_t n = v6_.size();
  for (const auto& r : v4_) n += static_cast<std::uint64_t>(r.last) - r.first + 1;
  return n;
}

bool TargetSet::Contains(const std::string& ip) const {
  std::uint32_t a = 0;
  if (ParseIpv4(ip, a)) {
    for (const auto& r : v4_)
      if (r.Contains(a)) return true;
    return false;
  }
  auto n = NormalizeIp(ip);
  return n && std::find(v6_.begin(), v6_.end(), *n) != v6_.end();
}

std::uint64_t TargetSet::Exclude(const std::vector<Ipv4Range>& nets) {
  std::uint64_t before = size();
  for (const auto& x : nets) {
    std::vector<Ipv4Range> out;
    for (const auto& r : v4_) {
      if (x.last < r.first || x.first > r.last) {
        out.push_back(r);
        continue;
      }
      if (x.first > r.first) out.push_back({r.first, x.first - 1});
      if (x.last < r.last) out.push_back({x.last + 1, r.last});
    }
    v4_ = std::move(out);
  }
  return before - size();
}

bool InNets(const std::vector<Ipv4Range>& nets, const std::string& ip) {
  std::uint32_t a = 0;
  if (!ParseIpv4(ip, a)) return false;
  for (const auto& r : nets)
    if (r.Contains(a)) return true;
  return false;
}

Result<PortList> ParsePortSpec(std::string_view spec, const FingerprintDb& db) {
  PortList out;
  out.spec = std::string(spec);
  bool udp = false;
  std::set<std::uint16_t> tcp_seen, udp_seen;
  auto add = [&](std::uint16_t p) {
    auto& seen = udp ? udp_seen : tcp_seen;
    auto& list = udp ? out.udp : out.tcp;
    if (seen.insert(p).second) list.push_back(p);
  };
  std::string s = Trim(spec);
  size_t start = 0;
  while (start <= s.size()) {
    auto comma = s.find(',', start);
    std::string item = Trim(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    start = comma == std::string::npos ? s.size() + 1 : comma + 1;
    if (item.size() >= 2 && (item[0] == 'T' || item[0] == 'U' || item[0] == 't' || item[0] == 'u') && item[1] == ':') {
      udp = item[0] == 'U' || item[0] == 'u';
      item = item.substr(2);
    }
    if (item.empty()) continue;
    if (item == "all" || item == "-") {
      for (int p = 1; p <= 65535; ++p) add(static_cast<std::uint16_t>(p));
      continue;
    }
    if (item.rfind("top", 0) == 0) {
      std::string n = item.substr(3);
      if (!n.empty() && (n[0] == '-' || n[0] == ':')) n = n.substr(1);
      if (n.empty() || n.size() > 5 || n.find_first_not_of("0123456789") != std::string::npos)
        return Error(ErrorCode::kInvalidArgument, "'" + item + "': expected topN, e.g. top100");
      for (auto p : db.TopPorts(udp ? "udp" : "tcp", static_cast<size_t>(std::stoul(n)))) add(p);
      continue;
    }
    MEDSOC_ASSIGN_OR_RETURN(auto ranges, ParsePortRanges(item));
    for (const auto& r : ranges) {
      if (r.first == 0) return Error(ErrorCode::kInvalidArgument, "port 0 cannot be scanned");
      for (std::uint32_t p = r.first; p <= r.last; ++p) add(static_cast<std::uint16_t>(p));
    }
  }
  if (out.tcp.empty() && out.udp.empty()) return Error(ErrorCode::kInvalidArgument, "no ports in '" + out.spec + "'");
  return out;
}

Result<MaintenanceWindow> ParseWindow(std::string_view text) {
  MaintenanceWindow w;
  w.text = Trim(text);
  auto sp = w.text.rfind(' ');
  std::string days = sp == std::string::npos ? "daily" : Trim(w.text.substr(0, sp));
  std::string times = sp == std::string::npos ? w.text : w.text.substr(sp + 1);
  static const char* kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  auto day_index = [&](std::string d) -> int {
    for (auto& c : d) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (int i = 0; i < 7; ++i)
      if (d.rfind(kDays[i], 0) == 0 && d.size() >= 3) return i;
    return -1;
  };
  if (days == "daily" || days == "每天") {
    w.days = 0x7f;
  } else {
    w.days = 0;
    size_t start = 0;
    while (start <= days.size()) {
      auto comma = days.find(',', start);
      std::string part = Trim(days.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      start = comma == std::string::npos ? days.size() + 1 : comma + 1;
      auto dash = part.find('-');
      int a = day_index(part.substr(0, dash));
      int b = dash == std::string::npos ? a : day_index(part.substr(dash + 1));
      if (a < 0 || b < 0) return Error(ErrorCode::kInvalidArgument, "window '" + w.text + "': unknown day in '" + part + "'");
      for (int i = a;; i = (i + 1) % 7) {
        w.days |= static_cast<std::uint8_t>(1u << i);
        if (i == b) break;
      }
    }
  }
  auto minutes = [&](const std::string& hm) -> int {
    if (hm.size() != 5 || hm[2] != ':' || !std::isdigit(static_cast<unsigned char>(hm[0])) ||
        !std::isdigit(static_cast<unsigned char>(hm[1])) || !std::isdigit(static_cast<unsigned char>(hm[3])) ||
        !std::isdigit(static_cast<unsigned char>(hm[4])))
      return -1;
    int h = std::stoi(hm.substr(0, 2)), m = std::stoi(hm.substr(3));
    return h <= 24 && m < 60 && h * 60 + m <= 1440 ? h * 60 + m : -1;
  };
  auto dash = times.find('-');
  if (dash == std::string::npos) return Error(ErrorCode::kInvalidArgument, "window '" + w.text + "': expected HH:MM-HH:MM");
  w.start_minute = minutes(times.substr(0, dash));
  w.end_minute = minutes(times.substr(dash + 1));
  if (w.start_minute < 0 || w.end_minute < 0 || w.start_minute == w.end_minute)
    return Error(ErrorCode::kInvalidArgument, "window '" + w.text + "': expected HH:MM-HH:MM");
  return w;
}

bool InWindow(const MaintenanceWindow& w, core::Timestamp t) {
  std::time_t secs = static_cast<std::time_t>(t.seconds());
  std::tm local{};
  localtime_r(&secs, &local);
  int minute = local.tm_hour * 60 + local.tm_min;
  int today = (local.tm_wday + 6) % 7;  // Monday = 0
  int yesterday = (today + 6) % 7;
  if (w.start_minute < w.end_minute)
    return (w.days & (1u << today)) && minute >= w.start_minute && minute < w.end_minute;
  // Past midnight: the evening part belongs to today, the morning part to yesterday's window.
  return ((w.days & (1u << today)) && minute >= w.start_minute) ||
         ((w.days & (1u << yesterday)) && minute < w.end_minute);
}

bool InAnyWindow(const std::vector<MaintenanceWindow>& windows, core::Timestamp t) {
  if (windows.empty()) return true;
  for (const auto& w : windows)
    if (InWindow(w, t)) return true;
  return false;
}

Status ApplyPolicy(TargetSet& targets, const ScanPolicy& policy, core::Timestamp now) {
  targets.Exclude(policy.exclude);
  if (!policy.allow.empty()) {
    for (const auto& r : targets.v4()) {
      // Every address of r must be inside the union of the allow ranges.
      std::uint64_t a = r.first;
      while (a <= r.last) {
        bool covered = false;
        for (const auto& al : policy.allow)
          if (a >= al.first && a <= al.last) {
            a = static_cast<std::uint64_t>(al.last) + 1;
            covered = true;
            break;
          }
        if (!covered)
          return Error(ErrorCode::kPermissionDenied,
                       "target " + Ipv4ToString(static_cast<std::uint32_t>(a)) + " is outside the scan allow-list");
      }
    }
    if (!targets.v6().empty())
      return Error(ErrorCode::kPermissionDenied, "target " + targets.v6()[0] + " is outside the scan allow-list");
  }
  if (!policy.windows.empty()) {
    bool inside = false;
    for (const auto& w : policy.windows) inside = inside || InWindow(w, now);
    if (!inside) {
      std::string list;
      for (const auto& w : policy.windows) list += (list.empty() ? "" : ", ") + w.text;
      return Error(ErrorCode::kFailedPrecondition, "outside every maintenance window (" + list + ")");
    }
  }
  if (targets.size() == 0) return Error(ErrorCode::kInvalidArgument, "every target is excluded by the scan policy");
  if (targets.size() > policy.max_hosts)
    return Error(ErrorCode::kResourceExhausted, "the scan covers " + std::to_string(targets.size()) +
                                                    " addresses, more than max_hosts (" +
                                                    std::to_string(policy.max_hosts) + ")");
  return Ok();
}

}  // namespace medsoc::assets
