// Scan targets, ports and the safety policy.
//
// Targets (comma or whitespace separated, or one per line in a file):
//   10.0.0.5            one address (IPv4 or IPv6)
//   10.0.0.0/24         an IPv4 network (every address; /31 and /32 included)
//   10.0.0.1-10.0.0.50  an IPv4 range;  10.0.0.1-50  the same, short form
//   # comment           in files, to the end of the line
// Ports: "22,80,443,8000-8100", "all" (1-65535), "top100"/"top1000" (ranked in the fingerprint
// database), with "T:" and "U:" switching between TCP and UDP ("T:22,80,U:53,161").
//
// Policy (the safety net for hospital networks):
//   allow          networks a scan may touch; empty allows any target (the CLI's operator decides)
//   exclude        networks never touched (removed from every scan)
//   fragile        networks of fragile devices (medical devices, PLCs, printers): light probes only,
//                  one connection at a time, fragile_rate
//   rate           new probes per second, whole scan; subnet_rate per subnet of subnet_prefix bits
//   windows        maintenance windows in local time ("Mon-Fri 22:00-06:00", "daily 01:00-05:00");
//                  empty: any time. A scan outside every window is refused.
//   max_hosts      a scan larger than this is refused (a typo like /8 would touch 16M addresses)
//
// Thread-safety: value types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/time.h"

namespace medsoc::assets {

class FingerprintDb;

struct Ipv4Range {
  std::uint32_t first = 0;
  std::uint32_t last = 0;
  bool Contains(std::uint32_t a) const { return a >= first && a <= last; }
};

std::string Ipv4ToString(std::uint32_t a);
bool ParseIpv4(std::string_view text, std::uint32_t& out);
Result<Ipv4Range> ParseNetwork(std::string_view text);  // "10.0.0.0/8" or one address

class TargetSet {
 public:
  // Parses a target list; with allow_files, a spec naming an existing file reads it (errors carry
  // file:line). Requests from the API pass allow_files = false.
  static Result<TargetSet> Parse(std::string_view spec, bool allow_files = true);
  static Result<TargetSet> ParseFile(const std::string& path);

  // Every address, in order, without duplicates.
  std::vector<std::string> Addresses() const;
  std::uint64_t size() const;
  bool Contains(const std::string& ip) const;
  // Drops the addresses inside `nets`; returns how many were dropped.
  std::uint64_t Exclude(const std::vector<Ipv4Range>& nets);

  const std::vector<Ipv4Range>& v4() const { return v4_; }
  const std::vector<std::string>& v6() const { return v6_; }
  // The targets as given, for the scan record.
  const std::vector<std::string>& items() const { return items_; }

 private:
  Status AddItem(std::string_view item);
  void Normalize();
  std::vector<Ipv4Range> v4_;  // sorted, merged
  std::vector<std::string> v6_;
  std::vector<std::string> items_;
};

struct PortList {
  std::vector<std::uint16_t> tcp;
  std::vector<std::uint16_t> udp;
  std::string spec;  // as given
};
Result<PortList> ParsePortSpec(std::string_view spec, const FingerprintDb& db);

struct MaintenanceWindow {
  std::uint8_t days = 0x7f;  // bit 0 Monday ... bit 6 Sunday
  int start_minute = 0;      // minutes after local midnight
  int end_minute = 0;        // may be below start: the window runs past midnight
  std::string text;
};
Result<MaintenanceWindow> ParseWindow(std::string_view text);
// True when local time `t` falls in the window (a window past midnight belongs to its start day).
bool InWindow(const MaintenanceWindow& w, core::Timestamp t);
// True when `windows` is empty (no restriction) or `t` falls in one of them.
bool InAnyWindow(const std::vector<MaintenanceWindow>& windows, core::Timestamp t);

struct ScanPolicy {
  std::vector<Ipv4Range> allow;
  std::vector<Ipv4Range> exclude;
  std::vector<Ipv4Range> fragile;
  std::vector<MaintenanceWindow> windows;
  int rate = 2000;          // probes (connection attempts, datagrams) per second
  int subnet_rate = 0;      // per subnet; 0: no separate limit
  int subnet_prefix = 24;
  int fragile_rate = 10;    // per fragile host
  std::uint64_t max_hosts = 65536;
};

// Applies the policy to `targets`: drops exclusions, refuses targets outside the allow list
// (kPermissionDenied naming the first one), refuses scans outside every maintenance window
// (kFailedPrecondition) and scans larger than max_hosts (kResourceExhausted).
Status ApplyPolicy(TargetSet& targets, const ScanPolicy& policy, core::Timestamp now);

bool InNets(const std::vector<Ipv4Range>& nets, const std::string& ip);

}  // namespace medsoc::assets
