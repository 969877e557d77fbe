#include "app/triage_assets.h"

#include <algorithm>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "core/strings.h"

namespace medsoc::app {

triage::AssetInfo TriageAssetFromLedger(const assets::Asset& asset) {
  triage::AssetInfo a;
  a.id = asset.id;
  a.name = asset.Get("hostname");
  if (a.name.empty()) a.name = asset.Get("name");
  a.ips = asset.GetList("ips");
  a.criticality = 0;
  for (const char* level : {"confidentiality", "integrity", "availability"}) {
    const std::string v = asset.Get(level);
    if (v.size() == 1 && v[0] >= '1' && v[0] <= '5') a.criticality = std::max(a.criticality, v[0] - '0');
  }
  a.zone = asset.Get("zone");
  a.internet_facing = a.zone == "internet" || a.zone == "dmz";
  a.asset_group = asset.Get("business_system");
  return a;
}

triage::AssetLookup MakeLedgerAssetLookup(assets::AssetLedger& ledger) {
  return [&ledger](const std::string& tenant, const std::string& host,
                   const std::string& ip) -> std::optional<triage::AssetInfo> {
    const store::TenantScope scope = store::TenantScope::Of(tenant);
    if (!ip.empty()) {
      auto found = ledger.FindByAddress(scope, ip);
      if (!found.ok()) {
        spdlog::warn("triage: asset ledger lookup of {}: {}", ip, found.error().ToString());
        return std::nullopt;
      }
      if (!*found || (*found)->status == assets::AssetStatus::kRetired) return std::nullopt;
      return TriageAssetFromLedger(**found);
    }
    if (host.empty()) return std::nullopt;
    assets::AssetQuery q;
    q.text = host;
    q.limit = 50;
    auto list = ledger.List(scope, q);
    if (!list.ok()) {
      spdlog::warn("triage: asset ledger lookup of {}: {}", host, list.error().ToString());
      return std::nullopt;
    }
    for (const auto& a : *list)
      if (core::EqualsIgnoreCase(a.Get("hostname"), host) || core::EqualsIgnoreCase(a.Get("name"), host))
        return TriageAssetFromLedger(a);
    return std::nullopt;
  };
}

}  // namespace medsoc::app
