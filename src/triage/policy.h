// The inputs triage consults for every alert besides the alert itself: the asset directory
// (criticality, zone, exposure, group) and the analyst's exceptions (allow-lists, suppression
// rules, maintenance windows).
//
// Order of the exception checks, and why:
//   1. allow-list  (a known scanner, backup account, monitoring system: the whole source is benign)
//   2. suppression rule (a specific rule on specific values, with reason, author and expiry)
//   3. maintenance window (planned work on the asset)
// Guard rails an experienced analyst expects: allow-lists and maintenance windows never suppress a
// critical alert or one with a threat-intelligence hit (a compromised scanner is still an attacker),
// and maintenance-window alerts are kept as context: they join an incident on the same entity.
// Suppression rules are explicit, reviewed decisions and apply to any level.
//
// Thread-safety: AssetTable and Policy are plain values; build them, then read them from one thread
// or under the owner's lock.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "triage/model.h"

namespace medsoc::triage {

// A minimal asset directory: id, name, addresses, criticality, zone, exposure, group. Lookups are by
// id, by host name (case-insensitive) and by address.
class AssetTable {
 public:
  void Upsert(AssetInfo asset);
  const AssetInfo* ById(const std::string& id) const;
  const AssetInfo* ByHost(std::string_view host) const;
  const AssetInfo* ByIp(std::string_view ip) const;
  const std::vector<AssetInfo>& all() const { return assets_; }
  std::size_t size() const { return assets_.size(); }

 private:
  std::vector<AssetInfo> assets_;
  std::unordered_map<std::string, std::size_t> by_id_, by_host_, by_ip_;
};

struct PolicyMatch {
  SuppressionKind kind = SuppressionKind::kNone;
  std::string id;  // of the allow-list entry, suppression rule or window
};

class Policy {
 public:
  std::vector<AllowEntry> allow;
  std::vector<Suppression> suppressions;  // only status "active" ones apply
  std::vector<MaintenanceWindow> windows;

  // The first exception that applies to `alert` at its event time (see the file comment), or kNone.
  // `asset` is the alert's resolved primary asset, or null.
  PolicyMatch Match(const AlertInput& alert, const AssetInfo* asset, core::Timestamp at) const;
};

// True when the window covers `asset` (by id or group) at time `at`.
bool WindowCovers(const MaintenanceWindow& w, const AssetInfo* asset, core::Timestamp at);
// True when every condition of the rule holds for the alert.
bool SuppressionMatches(const Suppression& s, const AlertInput& alert, const AssetInfo* asset, core::Timestamp at);

}  // namespace medsoc::triage
