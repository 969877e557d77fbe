#include "triage/policy.h"

#include <algorithm>
#include <cctype>

namespace medsoc::triage {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool Active(core::Timestamp expires_at, core::Timestamp at) { return expires_at.ns == 0 || at < expires_at; }

bool IsIpField(std::string_view f) { return f == "src_ip" || f == "dst_ip"; }

std::string_view FieldValue(const AlertInput& a, const AssetInfo* asset, std::string_view field) {
  if (field == "host") return a.host;
  if (field == "user") return a.user;
  if (field == "src_ip") return a.src_ip;
  if (field == "dst_ip") return a.dst_ip;
  if (field == "asset_id") return !a.asset_id.empty() ? std::string_view(a.asset_id)
                                                      : (asset ? std::string_view(asset->id) : std::string_view());
  for (const auto& [k, v] : a.matched_fields)
    if (k == field) return v;
  return {};
}

}  // namespace

void AssetTable::Upsert(AssetInfo asset) {
  std::size_t index;
  if (auto it = by_id_.find(asset.id); it != by_id_.end()) {
    index = it->second;
    assets_[index] = std::move(asset);
  } else {
    index = assets_.size();
    by_id_[asset.id] = index;
    assets_.push_back(std::move(asset));
  }
  const AssetInfo& a = assets_[index];
  if (!a.name.empty()) by_host_[Lower(a.name)] = index;
  for (const auto& ip : a.ips) by_ip_[ip] = index;
}

const AssetInfo* AssetTable::ById(const std::string& id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &assets_[it->second];
}
const AssetInfo* AssetTable::ByHost(std::string_view host) const {
  if (host.empty()) return nullptr;
  auto it = by_host_.find(Lower(host));
  return it == by_host_.end() ? nullptr : &assets_[it->second];
}
const AssetInfo* AssetTable::ByIp(std::string_view ip) const {
  if (ip.empty()) return nullptr;
  auto it = by_ip_.find(std::string(ip));
  return it == by_ip_.end() ? nullptr : &assets_[it->second];
}

bool WindowCovers(const MaintenanceWindow& w, const AssetInfo* asset, core::Timestamp at) {
  if (asset == nullptr) return false;
  bool covered = std::find(w.asset_ids.begin(), w.asset_ids.end(), asset->id) != w.asset_ids.end() ||
                 (!w.asset_group.empty() && w.asset_group == asset->asset_group);
  if (!covered) return false;
  if (at < w.starts_at || (w.ends_at.ns != 0 && at >= w.ends_at)) return false;
  if (w.weekdays == 0) return true;
  // Weekly: find the local day and minute; the window may run past midnight, so also check
  // whether yesterday's window is still open.
  std::int64_t local = at.seconds() + static_cast<std::int64_t>(w.utc_offset_minutes) * 60;
  std::int64_t day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
  int minute = static_cast<int>((local - day * 86400) / 60);
  for (int back = 0; back <= 1; ++back) {
    std::int64_t d = day - back;
    int weekday = static_cast<int>(((d % 7) + 7 + 3) % 7);  // 1970-01-01 was a Thursday (3, Monday = 0)
    if ((w.weekdays & (1 << weekday)) == 0) continue;
    int since_start = minute + back * 1440 - w.start_minute;
    if (since_start >= 0 && since_start < w.duration_minutes) return true;
  }
  return false;
}

bool SuppressionMatches(const Suppression& s, const AlertInput& alert, const AssetInfo* asset, core::Timestamp at) {
  if (s.status != "active" || !Active(s.expires_at, at)) return false;
  if (!s.rule_id.empty() && s.rule_id != alert.rule_id) return false;
  if (!s.asset_group.empty() && (asset == nullptr || asset->asset_group != s.asset_group)) return false;
  for (const auto& c : s.conditions) {
    std::string_view v = FieldValue(alert, asset, c.field);
    if (v.empty()) return false;
    bool any = false;
    for (const auto& want : c.values) {
      if (IsIpField(c.field) ? IpInCidr(v, want) : (v == want)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

PolicyMatch Policy::Match(const AlertInput& alert, const AssetInfo* asset, core::Timestamp at) const {
  const bool guarded = alert.level == Level::kCritical || !alert.intel_hits.empty();
  if (!guarded) {
    for (const auto& e : allow) {
      if (!Active(e.expires_at, at)) continue;
      bool hit = false;
      if (e.kind == "ip") hit = !alert.src_ip.empty() && IpInCidr(alert.src_ip, e.value);
      else if (e.kind == "user") hit = !alert.user.empty() && Lower(alert.user) == Lower(e.value);
      else if (e.kind == "host") hit = !alert.host.empty() && Lower(alert.host) == Lower(e.value);
      if (hit) return {SuppressionKind::kAllowList, e.id};
    }
  }
  for (const auto& s : suppressions)
    if (SuppressionMatches(s, alert, asset, at)) return {SuppressionKind::kRule, s.id};
  if (!guarded) {
    for (const auto& w : windows)
      if (WindowCovers(w, asset, at)) return {SuppressionKind::kMaintenance, w.id};
  }
  return {};
}

}  // namespace medsoc::triage
