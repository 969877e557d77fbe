// EventStore: where events are kept for search, and the maintenance that bounds them (retention,
// the emergency size limit, compression). The embedded default is SqliteEventStore
// (sqlite_event_store.h); a ClickHouse implementation can take the same interface later.
//
// Tenant isolation is enforced here, not in the routes: every read takes a TenantScope and every
// statement the implementation runs binds the scope's tenant id; Write files each event under its
// envelope's tenant_id (an event without one belongs to store::kDefaultTenant). An event of tenant
// B is never returned to a scope of tenant A, not even by its id.
//
// Queries use the language of query.h. Results come newest first (event time descending), paged by
// an opaque cursor: the next page starts strictly after the last event of the previous one, so
// events stored meanwhile never shift or repeat what a reader has already seen.
//
// Thread-safety: all methods may be called concurrently from any thread; Write calls are
// serialized internally (the pipeline calls it from one thread).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/time.h"
#include "event/sink.h"
#include "store/tenant.h"

namespace medsoc::store::events {

// A search over one time window. The window is [from, to); a zero `to` means "now + 1 day" (events
// slightly in the future from skewed clocks stay visible), a zero `from` means 24 hours before the
// given `to`, or before now when `to` is zero too (the last 24 hours).
// Time conditions inside the query text narrow the window further.
struct EventQuery {
  std::string query;          // query.h language; empty: every event in the window
  core::Timestamp from{};
  core::Timestamp to{};
  int limit = 100;            // page size, 1..kMaxPageSize
  std::string cursor;         // from a previous page's next_cursor; empty: first page
  core::Timestamp now{};      // for relative times ("now-1h"); zero: core::Now()
};

inline constexpr int kMaxPageSize = 10000;

// One stored event as the API shows it.
struct StoredEvent {
  std::string id;             // 26-character time-ordered id (its time is the event time)
  core::Timestamp time{};
  std::string tenant_id;
  // The event as one JSON object (event/json.h shape) with "id" as its first key.
  std::string json;
  // The raw message bytes exactly as received, when they were not valid UTF-8 (the JSON then holds
  // them with U+FFFD replacements); empty otherwise.
  std::string raw_bytes;
};

struct SearchPage {
  std::vector<StoredEvent> items;
  std::string next_cursor;    // empty when there are no more results
};

struct HistogramBucket {
  core::Timestamp start{};    // bucket covers [start, start + interval)
  std::int64_t count = 0;
};

// A partition dropped by retention or the size limit; the caller records each in the audit trail.
struct DroppedPartition {
  std::string day;            // YYYY-MM-DD (UTC)
  std::uint64_t bytes = 0;    // on disk, including its WAL
  std::int64_t events = 0;
  std::string reason;         // "retention" or "size_limit"
};

struct PartitionInfo {
  std::string day;
  std::uint64_t bytes = 0;
  std::int64_t events = 0;
  bool compressed = false;    // every row's event JSON is zstd-compressed
};

struct MaintenanceReport {
  std::vector<DroppedPartition> dropped;
  std::vector<std::string> compressed;   // days compressed by this run
  std::uint64_t bytes_before = 0;
  std::uint64_t bytes_after = 0;
  // Set when the size limit could not be met without dropping today's partition (which is never
  // dropped): the operator must add disk or lower the intake.
  bool size_limit_unmet = false;
  // Compaction (CompactBlocks): small blocks replaced, and the blocks written in their place.
  std::uint64_t blocks_merged = 0;
  std::uint64_t blocks_written = 0;
};

class EventStore : public event::EventSink {
 public:
  ~EventStore() override = default;

  // event::EventSink. Durable when it returns (see the implementation for the power-loss contract).
  Status Write(const event::Batch& batch) override = 0;

  // A page of events matching `query`, newest first. Errors: kInvalidArgument for a bad query (with
  // the column in Error::pos()) or cursor; kResourceExhausted when the query ran past its timeout.
  virtual Result<SearchPage> Search(const TenantScope& scope, const EventQuery& query) = 0;

  // How many events match (cursor and limit ignored).
  virtual Result<std::int64_t> Count(const TenantScope& scope, const EventQuery& query) = 0;

  // Matching events counted per `interval_ns` bucket, aligned to multiples of the interval since
  // the epoch; every bucket of the window is present (zero counts included), oldest first.
  // REQUIRES: interval_ns > 0. Errors: kInvalidArgument when the window would need more than
  // kMaxHistogramBuckets buckets.
  virtual Result<std::vector<HistogramBucket>> Histogram(const TenantScope& scope, const EventQuery& query,
                                                         std::int64_t interval_ns) = 0;

  // One event by id within the scope's tenant; kNotFound otherwise (also for another tenant's id).
  virtual Result<StoredEvent> Get(const TenantScope& scope, const std::string& id) = 0;

  // Streams every matching event (newest first, cursor and limit ignored) to `sink` until it
  // returns false. Memory stays bounded whatever the result size.
  virtual Status Export(const TenantScope& scope, const EventQuery& query,
                        const std::function<bool(const StoredEvent&)>& sink) = 0;

  // ---- Maintenance (called periodically by the server; each is safe alongside reads and writes)
  // Drops whole day partitions that lie entirely before now - retention_days.
  virtual Result<MaintenanceReport> ApplyRetention(core::Timestamp now) = 0;
  // While the partitions take more than max_bytes (0: no limit), drops the oldest, never today's.
  virtual Result<MaintenanceReport> EnforceSizeLimit(core::Timestamp now) = 0;
  // Compresses partitions whose day ended more than compress_after_days ago.
  virtual Result<MaintenanceReport> CompressOld(core::Timestamp now) = 0;
  // Merges small blocks (many small writes) into full ones; cheap when there is nothing to do, so
  // the server calls it every minute. The default does nothing.
  virtual Result<MaintenanceReport> CompactBlocks(core::Timestamp /*now*/) { return MaintenanceReport{}; }
  // Retention, then compaction, then compression, then the size limit (compression may already
  // meet it), in one report.
  virtual Result<MaintenanceReport> RunMaintenance(core::Timestamp now) = 0;

  virtual Result<std::vector<PartitionInfo>> Partitions() = 0;
};

inline constexpr int kMaxHistogramBuckets = 10000;

}  // namespace medsoc::store::events
