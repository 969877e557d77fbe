// SqliteEventStore: the embedded EventStore. One SQLite database per UTC day under
// <data_dir>/events/YYYY-MM-DD.db, so that retention and the size limit drop whole files.
//
// Partition schema (PartitionSchema in the .cpp; user_version 2):
//   events(tenant_id, id, time, ingest_time, source, <18 normalized columns, see sqlite_query.h>,
//          parse_error, raw_bytes, zflags, doc)
//     doc        the full event JSON (event/json.h, including "raw"); zstd-compressed when zflags&1
//     raw_bytes  the raw message bytes, only when they are not valid UTF-8 (doc then has U+FFFD)
//   indexes: (tenant_id, time) and (tenant_id, X, time) for X in event_code, host_name, user_name,
//            source_ip, destination_ip
//   events_fts: FTS5, contentless, columns (message, raw), tokenizer "medsoc" (tokenizer.h)
//   meta(key, value): the partition's zstd dictionary once compressed
//   hot: the unindexed tail (version 2): the same columns as events plus fts_message, fts_raw
// Version 1 partitions (no hot table) are migrated when first opened by adding the empty table.
//
// Deferred indexing (settings.deferred_indexing, the default): Write inserts into `hot`, which has
// only a time index (appended near its end), so a batch costs about half a plain INSERT more. The indexer (a thread of the store, and
// Write itself when the tail exceeds max_tail_rows) moves the oldest index_batch_rows tail rows into
// `events` and their texts into events_fts in ONE transaction (INSERT ... SELECT ... ORDER BY
// rowid; DELETE FROM hot), when a tail reaches index_batch_rows or after index_idle_ms without
// writes. Large transactions make the five field indexes and FTS5 far cheaper per row than 1,000-row
// commits (each index page is dirtied once per chunk instead of once per batch; FTS5 flushes one
// segment per chunk). Rows keep their rowid when they move, and the move is atomic, so every query
// (one statement per partition: events UNION ALL hot, the tail arm scanned with the same condition,
// full-text terms answered by medsoc_fts_match over the row's texts) sees each row exactly once,
// before and after indexing. A clean close indexes the tails the store wrote; a crash leaves the
// tail in `hot` and the indexer (started by the next process's first Write) indexes it.
// Ids are time-ordered (ULID layout whose 48-bit millisecond part is the stored event time), so
// Get(id) opens exactly one partition and finds the row through the time index.
//
// Event time and partitions: an event is filed under the day of its time. An event whose time is
// older than the retention window or more than one day ahead of its ingest time (a device with a
// wrong clock, an unparsable year) is filed and searched at its ingest time instead, keeps its own
// time in the JSON, and is flagged "time_clamped":true. Otherwise it would be dropped by retention
// on arrival or hide in a partition nobody searches.
//
// Durability: Write commits one transaction per partition touched (normally one: a batch rarely
// spans midnight), all opened before the first insert and committed in order. With
// sync_full (the default) each commit fsyncs the WAL, so an acknowledged batch survives both a
// process crash and a power loss. With sync_full = false (synchronous=NORMAL) an acknowledged batch
// survives a process crash (the WAL is in the OS page cache) but a power loss or kernel panic may
// lose the last commits before the next checkpoint; the database itself is never corrupted. A
// batch spanning two days that crashes between the two commits keeps the first day's part; the
// caller's retry then stores those events twice (the only case of a duplicate).
//
// Compression (CompressOld): each row's doc is compressed with zstd using a dictionary trained on
// a sample of that partition's events, then the file is VACUUMed. Columns, indexes and the FTS
// index stay as they are, so every query works unchanged on compressed partitions; reading a
// compressed doc costs one dictionary decompression of that row (a few microseconds). The
// alternative, compressing the whole file (VACUUM INTO + zstd) gains a better ratio but would
// force a query to decompress a whole day to a temporary file first; per-row compression with a
// dictionary keeps random access at the cost of a lower ratio, and leaves the indexes (a third to
// a half of the file) uncompressed.
//
// Concurrency: readers use pooled connections (one query per connection at a time, several
// queries in parallel); the writer has its own connections, serialized by a mutex; maintenance
// uses its own. SQLite's WAL lets readers, including `medsoc search` in another process, run
// while the server writes. A dropped partition's file is unlinked; queries already reading it
// finish on the open file.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/options.h"
#include "store/events/event_store.h"
#include "store/events/sqlite_query.h"

namespace medsoc::store::events {

struct SqliteEventStoreSettings {
  bool sync_full = true;         // fsync every batch commit (power-loss durable); see above
  int busy_timeout_ms = 5000;
  std::size_t max_idle_readers = 16;  // pooled read connections kept open (LRU)
  std::size_t max_writers = 4;        // partitions kept open for writing (LRU)
  std::size_t writer_cache_kib = 32 * 1024;  // SQLite page cache per open writer (the hot day)
  bool deferred_indexing = true;      // see above; false: indexes and FTS updated by every Write
  std::size_t index_batch_rows = 20000;  // tail rows indexed per transaction
  int index_idle_ms = 500;            // index a smaller tail after this long without writes
  std::size_t max_tail_rows = 100000;  // Write indexes inline beyond this (bounds query scans)
  bool background_indexer = true;     // false: only Write's bound and FlushIndex (tests)
  bool index_on_close = true;         // the destructor indexes the tails this store wrote
  // A query with a full-text term ANDed to the rest starts from the FTS index when the index has at
  // most this many rows for the term in a partition (else: time index order, FTS probe per row).
  // Negative: never.
  int fts_drive_max_rows = 20000;
};

class SqliteEventStore final : public EventStore {
 public:
  // Opens (creating <data_dir>/events, mode 0700, when missing) the store. Partitions are opened
  // lazily.
  static Result<std::unique_ptr<SqliteEventStore>> Open(const std::string& data_dir, const EventStoreOptions& options,
                                                        const SqliteEventStoreSettings& settings = {});
  ~SqliteEventStore() override;

  Status Write(const event::Batch& batch) override;
  Result<SearchPage> Search(const TenantScope& scope, const EventQuery& query) override;
  Result<std::int64_t> Count(const TenantScope& scope, const EventQuery& query) override;
  Result<std::vector<HistogramBucket>> Histogram(const TenantScope& scope, const EventQuery& query,
                                                 std::int64_t interval_ns) override;
  Result<StoredEvent> Get(const TenantScope& scope, const std::string& id) override;
  Status Export(const TenantScope& scope, const EventQuery& query,
                const std::function<bool(const StoredEvent&)>& sink) override;
  Result<MaintenanceReport> ApplyRetention(core::Timestamp now) override;
  Result<MaintenanceReport> EnforceSizeLimit(core::Timestamp now) override;
  Result<MaintenanceReport> CompressOld(core::Timestamp now) override;
  Result<MaintenanceReport> RunMaintenance(core::Timestamp now) override;
  Result<std::vector<PartitionInfo>> Partitions() override;

  // Indexes every tail now (what the background indexer does over time), including tails that an
  // earlier process left behind.
  Status FlushIndex();
  // Failures of the background indexer so far (they are retried; queries stay correct meanwhile).
  std::uint64_t indexer_errors() const { return indexer_errors_.load(std::memory_order_relaxed); }

  const std::string& dir() const { return dir_; }
  // The file of the partition for `day` (days since the epoch).
  std::string PartitionPath(std::int64_t day) const;

  struct Conn;  // one open partition (sqlite_event_store.cpp)

 private:
  SqliteEventStore(std::string dir, const EventStoreOptions& options, const SqliteEventStoreSettings& settings);

  struct Plan;
  Result<Plan> Prepare(const TenantScope& scope, const EventQuery& query) const;
  // Runs `fn` for each partition of the plan's window, newest first, until it returns false.
  Status ForEachPartition(const Plan& plan, const std::function<Result<bool>(Conn&, std::int64_t day)>& fn);

  Result<std::unique_ptr<Conn>> OpenConn(std::int64_t day, bool create);
  Result<std::unique_ptr<Conn>> CheckoutReader(std::int64_t day);
  void ReturnReader(std::unique_ptr<Conn> conn);
  Result<Conn*> Writer(std::int64_t day);  // REQUIRES: write_mu_ held
  std::vector<std::int64_t> ListDays() const;
  // Closes every pooled handle of `day` and deletes its files. REQUIRES: maint_mu_ held.
  Status DropPartition(std::int64_t day);
  Result<bool> CompressPartition(std::int64_t day);
  // Moves up to max_rows of the oldest tail rows of `conn` into events and events_fts, in one
  // transaction; returns how many moved. REQUIRES: write_mu_ held, conn is a writer.
  Result<std::int64_t> IndexTail(Conn& conn, std::int64_t max_rows);
  // Indexes open writers' tails that are full or idle (all: every tail). Takes write_mu_.
  Status IndexPending(bool all);
  // Indexes tails found in partitions on disk (left by a crash).
  Status IndexLeftovers();
  void IndexerLoop();

  const std::string dir_;
  const EventStoreOptions options_;
  const SqliteEventStoreSettings settings_;

  std::mutex write_mu_;  // serializes Write; guards writers_ and rng_
  std::list<std::unique_ptr<Conn>> writers_;  // most recently used first
  std::mt19937_64 rng_;

  std::mutex read_mu_;  // guards readers_ and epochs_
  std::list<std::unique_ptr<Conn>> readers_;  // idle, most recently returned first
  std::map<std::int64_t, std::uint64_t> epochs_;  // bumped when a partition is dropped or rewritten

  std::mutex maint_mu_;  // one maintenance run at a time

  std::mutex indexer_mu_;  // guards stop_, pending_
  std::condition_variable indexer_cv_;
  bool stop_ = false;
  bool pending_ = true;  // writes since the indexer last looked
  std::atomic<std::uint64_t> indexer_errors_{0};
  std::thread indexer_;  // started by the first Write (under indexer_mu_), joined first
};

// The day (days since the epoch, UTC) of `t`, and its file name "YYYY-MM-DD".
std::int64_t DayOf(core::Timestamp t);
std::string DayName(std::int64_t day);

}  // namespace medsoc::store::events
