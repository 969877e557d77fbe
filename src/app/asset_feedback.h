// Closes the loop between the asset ledger and the event pipeline (issue "Change and exposure"):
//
//  - Sightings: a pipeline stage collects the internal addresses that events mention (source.ip,
//    destination.ip, host.ip, client.ip, server.ip) per tenant; a worker hands them to
//    AssetLedger::NoteAddressesSeen every few seconds, which records each address no asset has as
//    an "unknown_in_logs" change (at most once per address per day) — the 脱缰资产 the ledger lacks.
//  - Changes as events: every ledger change (new asset, gone, service opened/closed, version
//    changed, unknown in logs, new exposure) becomes one event (event.dataset "assets.change",
//    assets::ChangeEventJson) submitted to the pipeline, so rules, triage and search see it.
//
// Internal means RFC 1918, 100.64.0.0/10 (carrier-grade NAT, common in hospital WANs) and IPv6
// unique-local fc00::/7; loopback, link-local, multicast and public addresses are not asset
// candidates (public ones belong to the exposure ledger). Events of dataset assets.change are not
// read back, so a change cannot feed itself.
//
// Thread-safety: the stage runs on parse workers and the listener on the ledger's callers; both
// only append to mutex-guarded queues. The worker thread does the ledger and pipeline calls.
// Bounded: at most kMaxPendingAddresses addresses and kMaxPendingChanges change events wait; more
// are dropped and counted (dropped_addresses(), dropped_changes()), never silently.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "assets/ledger.h"
#include "event/value.h"
#include "ingest/pipeline.h"

namespace medsoc::app {

// True for addresses that may belong to the hospital's own assets (see the header comment).
bool IsInternalAddress(const event::IpAddress& ip);

class AssetFeedback {
 public:
  static constexpr std::size_t kMaxPendingAddresses = 100'000;
  static constexpr std::size_t kMaxPendingChanges = 10'000;
  // One submit carries up to this many change events of one tenant (NDJSON lines) or bytes.
  static constexpr std::size_t kMaxLinesPerSubmit = 1000;
  static constexpr std::size_t kMaxBytesPerSubmit = 4u << 20;
  static constexpr std::chrono::minutes kRecheckAfter{10};

  // Submits change events of `tenant` (NDJSON: one event per line, each line ending in '\n') into
  // the pipeline as one batch; returns false when the pipeline refused it (the events are retried
  // on the next round, up to the bound).
  using SubmitFn = std::function<bool(const std::string& tenant, const std::string& ndjson)>;

  // `flush_interval`: how often pending sightings and changes are handed on.
  AssetFeedback(assets::AssetLedger& ledger, SubmitFn submit,
                std::chrono::milliseconds flush_interval = std::chrono::seconds(5));
  ~AssetFeedback();  // Stop()
  AssetFeedback(const AssetFeedback&) = delete;
  AssetFeedback& operator=(const AssetFeedback&) = delete;

  // The pipeline stage (one instance per parse worker).
  ingest::StageFactory Stage();
  // For AssetLedger::SetChangeListener.
  assets::ChangeListener Listener();

  void Start();
  // Hands on everything pending, then joins the worker. Idempotent.
  void Stop();
  // Hands on everything pending now, on the calling thread (tests; Stop).
  void Flush();

  void NoteAddresses(const std::string& tenant, const std::set<std::string>& ips);

  std::uint64_t dropped_addresses() const { return dropped_addresses_.load(); }
  std::uint64_t dropped_changes() const { return dropped_changes_.load(); }
  std::uint64_t unknown_recorded() const { return unknown_recorded_.load(); }
  std::uint64_t changes_submitted() const { return changes_submitted_.load(); }

 private:
  void Run();

  assets::AssetLedger& ledger_;
  SubmitFn submit_;
  std::chrono::milliseconds interval_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::map<std::string, std::set<std::string>> pending_ips_;  // tenant -> addresses
  std::size_t pending_ip_count_ = 0;
  std::deque<std::pair<std::string, std::string>> pending_changes_;  // tenant, JSON line
  // Addresses handed to the ledger recently (tenant + '|' + ip -> when): not looked up again for
  // kRecheckAfter, so a busy address costs one ledger lookup per period, not one per flush.
  std::map<std::string, std::chrono::steady_clock::time_point> recent_;
  std::mutex flush_mu_;  // one Flush at a time
  std::thread worker_;

  std::atomic<std::uint64_t> dropped_addresses_{0}, dropped_changes_{0}, unknown_recorded_{0},
      changes_submitted_{0};
};

}  // namespace medsoc::app
