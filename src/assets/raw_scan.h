// The privileged half of the discovery scanner: host discovery by ARP on local segments, ICMP
// echo and TCP SYN / ACK pings, and TCP SYN ("half-open") port scanning, over raw sockets. It
// needs CAP_NET_RAW; scanner.cpp uses it when the scan type asks for it (or `auto` finds the
// capability) and falls back to connect() otherwise. IPv4 only.
//
// How it works: one thread, no socket per probe. Probes go out through a raw IPPROTO_TCP socket
// (the kernel adds the IP header and routes), a raw ICMP socket and, for targets on a directly
// attached Ethernet segment, a SOCK_DGRAM packet socket for ARP. All TCP probes leave from one
// source port that a bound (never listening) TCP socket reserves, so no local connection can
// collide with it and the kernel answers every SYN-ACK with a RST (the target sees a half-open
// connection aborted). A classic BPF filter keeps the raw TCP socket to that port. A probe's
// sequence number is a keyed hash of (address, port, probe type): replies are matched without
// per-probe state on the wire and forged replies without the key are dropped.
//
// Per host: adaptive timeout srtt + 4 * rttvar from replies to first attempts (Karn), clamped to
// [min_timeout_ms, timeout_ms]; a probe without an answer is resent `retries` times. Rate limits:
// `rate` probes per second overall, `subnet_rate` per subnet of `subnet_prefix` bits, and fragile
// hosts one probe in flight at `fragile_rate`.
//
// Port states: SYN-ACK open; RST closed; ICMP unreachable from the host or silence filtered.
// Host states: any reply (ARP, echo reply, SYN-ACK, RST, an ICMP error from the host itself) is up;
// an ICMP host/network unreachable from a router before any reply marks the host unreachable.
//
// Thread-safety: a RawScanner is used by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/result.h"

namespace medsoc::assets {

struct RawHost {
  std::uint32_t ip = 0;   // host byte order
  bool fragile = false;
  // Results.
  bool up = false;
  std::string reason;     // what answered first: "arp", "icmp", "tcp"
  std::string mac;        // from an ARP reply, lower-case colon form
  bool unreachable = false;
  std::set<std::uint16_t> open;
  // Round-trip estimate, carried from discovery into the port scan.
  double srtt_us = 0, rttvar_us = 0;
  int samples = 0;
};

// Host discovery methods (a set of them; all by default).
enum RawPing : unsigned { kPingArp = 1, kPingIcmp = 2, kPingSyn = 4, kPingAck = 8, kPingAll = 15 };

struct RawScanOptions {
  int rate = 2000;            // probes per second overall; 0: unlimited
  int subnet_rate = 0;        // per subnet; 0: no separate limit
  int subnet_prefix = 24;
  int fragile_rate = 10;      // per fragile host, one probe in flight
  int max_in_flight = 4096;   // probes awaiting an answer
  int timeout_ms = 1500;
  int min_timeout_ms = 150;
  int retries = 1;
  unsigned pings = kPingAll;
  std::vector<std::uint16_t> syn_ping_ports = {443, 80, 22};  // discovery SYNs
  std::vector<std::uint16_t> ack_ping_ports = {80};           // discovery ACKs (RST proves a host)
  std::function<bool()> cancelled;
};

struct RawStats {
  std::uint64_t sent = 0;      // probes sent, resends included
  std::uint64_t replies = 0;   // replies matched to a probe of this scan
  std::uint64_t arp = 0;       // ARP requests among `sent`
};

// True when this process may open raw sockets (CAP_NET_RAW in its network namespace).
bool RawSocketsAvailable();

class RawScanner {
 public:
  // Opens the sockets. kPermissionDenied without CAP_NET_RAW.
  static Result<std::unique_ptr<RawScanner>> Open(const RawScanOptions& options);
  ~RawScanner();

  // Host discovery: sets up/reason/mac/unreachable of each host.
  void Discover(std::vector<RawHost>& hosts);
  // SYN scan of `ports` (TCP) on every host not known unreachable: fills `open`, sets `up`.
  void SynScan(std::vector<RawHost>& hosts, const std::vector<std::uint16_t>& ports);

  const RawStats& stats() const;

 private:
  struct Impl;
  explicit RawScanner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace medsoc::assets
