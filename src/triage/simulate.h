// The triage evaluation: a reproducible month of a hospital's alert traffic with labelled attack
// stories planted in it, run through the Engine, and scored.
//
// The generated hospital (sizes drawn from the seed): HIS/EMR/LIS/PACS servers, file servers, a
// domain controller, an internet-facing portal and VPN gateway, ~150 workstations, medical-device
// gateways; a vulnerability scanner, a monitoring server and a backup account, allow-listed as a
// hospital would; a weekly server maintenance window.
//
// Noise, per day: the weekly vulnerability scan (thousands of IDS alerts, plus credentialed-scan
// service installs), monitoring polls, nightly backup jobs (shadow copies, mass reads), flapping
// misconfigured devices (auth failures, NTP, duplicate addresses every few minutes), routine
// brute force and web scanning from the internet (mostly blocked), patch-night changes, and the
// sporadic false positives analysts know (admin PowerShell, certutil, PUPs on workstations, a
// legitimate service install on a server).
//
// Stories (each planted 1-2 times at random times, on random victims):
//   phishing_to_pacs   macro -> beacon (C2 with threat-intel hit) -> LSASS access -> lateral
//                      movement to a PACS server -> DICOM archive staging -> exfiltration. critical
//   insider_export     a clinician's after-hours bulk patient-record queries, export, USB copy,
//                      upload to personal cloud storage; no single alert is high.        high
//   ransomware_prep    hack tool on a file server, discovery, shadow-copy deletion, mass renames.
//                                                                                         critical
//   web_to_shell       SQL injection that got through the WAF, web server spawning a shell, web
//                      shell written, C2 from the DMZ.                                     high
// A story is found when one incident contains all its alerts and has at least its severity.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "triage/engine.h"

namespace medsoc::triage {

struct SimStory {
  std::string kind;                 // phishing_to_pacs, insider_export, ransomware_prep, web_to_shell
  Severity expected = Severity::kHigh;
  std::vector<std::size_t> alerts;  // indices into SimScenario::alerts
};

struct SimScenario {
  AssetTable assets;
  Policy policy;
  std::vector<AlertInput> alerts;   // sorted by event time
  std::vector<SimStory> stories;
  core::Timestamp start;            // local midnight of day 1
  int days = 30;
};

// Deterministic for a given (seed, days). REQUIRES: days >= 1.
SimScenario GenerateScenario(std::uint64_t seed, int days);

struct SimStoryResult {
  std::string kind;
  Severity expected = Severity::kHigh;
  bool found = false;
  std::string incident_id;          // the incident holding the story's first alert
  std::string severity;             // that incident's severity ("" when none)
  std::size_t alerts = 0;
  std::size_t incidents_touched = 0;  // distinct incidents its alerts ended in (1 when found)
  std::int64_t delay_seconds = -1;  // first story alert -> incident creation
};

struct SimReport {
  std::uint64_t seed = 0;
  int days = 0;
  std::int64_t alerts_in = 0;
  std::int64_t alert_records = 0;   // after dedup
  std::int64_t suppressed = 0;
  std::int64_t incidents_out = 0;   // excluding incidents merged into others
  double reduction_pct = 0;         // 100 * (1 - incidents_out / alerts_in)
  std::array<NoiseCounters, kSourceKinds> by_source{};
  std::vector<SimStoryResult> stories;
  int stories_found = 0;
  std::size_t largest_incident_alerts = 0;
};

SimReport RunSimulation(std::uint64_t seed, int days, const TriageOptions& options = {});

// Human-readable report; the last five lines are alerts_in=, incidents_out=, reduction=%,
// stories_planted=, stories_found=.
std::string FormatSimReport(const SimReport& report);

}  // namespace medsoc::triage
