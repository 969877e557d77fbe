// The discovery scanner: host discovery, TCP connect and UDP port scanning, and service/version
// identification driven by the fingerprint database, all asynchronous on one epoll loop (no
// thread per connection: thousands of probes are in flight at once).
//
// A scan runs in phases over the targets that the policy admits (see scope.h):
//   1. discovery  connect scans (when more than 32 TCP ports are scanned): TCP connects to the
//                 most common of the scanned ports (never ports outside the scan), plus the
//                 kernel's ARP table for hosts on a local segment. SYN scans (raw_scan.h; when more
//                 than one host is scanned, or no ports): ARP requests on local Ethernet segments,
//                 ICMP echo, TCP SYN pings to the 3 most common scanned ports and an ACK ping to 80.
//                 Hosts that answer nothing are skipped.
//   2. ports      TCP connect() to every (host, port), or with raw sockets a SYN to every (host,
//                 port); open (SYN-ACK) / closed (RST) / filtered (no answer
//                 within the host's adaptive timeout, retried `retries` times). UDP: the port's
//                 probe payload from the database (or an empty datagram); an answer is open, an
//                 ICMP port unreachable is closed, silence is not reported.
//   3. identify   per open port a plan of probes (one connection each): a banner wait (null
//                 probe) unless the port is known to speak first-from-client, the probes listed for
//                 the port, a TLS handshake (then the probes again over TLS), and the fallback
//                 probes; the first hard match wins. Hosts of the fragile class (policy networks,
//                 ledger flags, fragile OUI vendors, or a fragile port such as DICOM 104 seen open)
//                 get only fragile_safe probes, one connection at a time, at fragile_rate.
//   4. enrich     MAC from the kernel neighbour table, vendor from the IEEE registry, reverse DNS,
//                 OS by vote of the identified services.
// Rate limits: `policy.rate` new probes per second overall, `policy.subnet_rate` per subnet.
// Adaptive timeouts: per host, srtt + 4 * rttvar of its connects, clamped to
// [min_timeout_ms, timeout_ms].
//
// Thread-safety: a Scanner may run one scan at a time per instance; the database is shared
// read-only. Cancellation: ScanOptions::cancelled is polled by the loop.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "assets/fingerprints.h"
#include "assets/ledger.h"
#include "assets/model.h"
#include "assets/oui.h"
#include "assets/protocols.h"
#include "assets/raw_scan.h"
#include "assets/scope.h"
#include "core/result.h"

namespace medsoc::assets {

// How ports are scanned and hosts discovered. kAuto: SYN when this process may open raw sockets
// (CAP_NET_RAW) and every target is IPv4, else connect. kSyn without the capability or with IPv6
// targets is an error (kPermissionDenied / kInvalidArgument).
enum class ScanType { kAuto, kConnect, kSyn };
Result<ScanType> ParseScanType(std::string_view text);  // "auto", "connect", "syn"
const char* ScanTypeName(ScanType type);

struct ScanOptions {
  PortList ports;                // both lists empty: host discovery only
  ScanType scan_type = ScanType::kAuto;
  unsigned pings = kPingAll;     // discovery methods of SYN scans (RawPing bits)
  ScanPolicy policy;
  int max_in_flight = 2048;    // sockets open at once (capped by RLIMIT_NOFILE)
  int timeout_ms = 1500;       // longest wait for a connect or a probe answer
  int min_timeout_ms = 150;    // adaptive timeouts never go below this
  int banner_wait_ms = 700;    // how long the null probe waits for a service to speak first
  int retries = 1;             // re-tries of a connect that timed out
  int host_parallelism = 6;    // identification connections per (non-fragile) host
  bool identify = true;        // service and version identification
  bool discovery = true;       // phase 1 (skipped for small port lists anyway)
  bool resolve = true;         // reverse DNS for hosts that are up
  bool tls_versions = true;    // which TLS versions a TLS service accepts (4 extra handshakes)
  ProbeParams params;
  std::set<std::string> fragile_hosts;  // known fragile devices (from the ledger)
  std::function<bool()> cancelled;      // polled; true stops the scan
};

struct HostResult {
  std::string ip;
  bool up = false;
  std::string reason;    // what showed it up: "tcp", "arp", "icmp", "udp"
  std::string mac;
  std::string vendor;
  std::string hostname;
  std::string os;
  std::string device;    // device type from fingerprints (printer, dicom node ...)
  bool fragile = false;
  std::vector<Service> services;
};

struct ScanStats {
  std::uint64_t hosts_targeted = 0;
  std::uint64_t hosts_up = 0;
  std::string method = "connect"; // how ports were scanned: "connect" or "syn"
  std::uint64_t connects = 0;     // TCP connection attempts
  std::uint64_t raw_probes = 0;   // SYN, ACK, ICMP and ARP probes sent over raw sockets
  std::uint64_t datagrams = 0;    // UDP probes sent
  std::uint64_t open_ports = 0;
  std::uint64_t identified = 0;   // services with a hard match
  double seconds = 0;
};

struct ScanReport {
  std::vector<HostResult> hosts;  // hosts that are up, in address order
  ScanStats stats;
  std::vector<std::string> warnings;
};

class Scanner {
 public:
  // `oui` may be null (no vendor names).
  Scanner(std::shared_ptr<const FingerprintDb> db, std::shared_ptr<const OuiDb> oui);
  // Loads the IEEE registries from `oui_dir` only when a scan finds a MAC address (most scans of
  // routed networks never do, and the registries are 4 MB of CSV).
  Scanner(std::shared_ptr<const FingerprintDb> db, std::string oui_dir);

  // Applies the policy, then scans. Errors: policy refusals (see ApplyPolicy), no sockets.
  Result<ScanReport> Run(TargetSet targets, const ScanOptions& options);

  // Identification of a single open port (tests, re-checks).
  Service IdentifyPort(const std::string& ip, std::uint16_t port, const ScanOptions& options, bool fragile = false);

 private:
  const OuiDb* Oui();

  std::shared_ptr<const FingerprintDb> db_;
  std::shared_ptr<const OuiDb> oui_;
  std::string oui_dir_;  // lazy loading when set
  bool oui_tried_ = false;
};

// The JSON output contract of `medsoc scan --format json`: an array with one object per host that
// is up: {ip, mac, vendor, hostname, os, device, fragile, up_reason, services: [{port, proto,
// service, product, version, cpe, tls, extra}]}; tls is null or {version, versions, cipher, subject, issuer, sans, not_before,
// not_after, sha256, self_signed}; extra holds protocol details (DICOM implementation UID ...).
std::string ReportJson(const ScanReport& report);
std::string ReportTable(const ScanReport& report);

// What the ledger stores of one scanned host.
Observation ToObservation(const HostResult& host);

}  // namespace medsoc::assets
