// SqliteEventStore: the embedded EventStore. One SQLite database per UTC day under
// <data_dir>/events/YYYY-MM-DD.db, so that retention and the size limit drop whole files.
//
// Partition schema (PartitionSchema in the .cpp; user_version 3):
//   blocks(id, tenant_id, min_time, max_time, count, level, data): one row per event block
//     (block.h): up to 2,048 events of one tenant written by one Write, as one zstd frame holding
//     each event's id, times, source, the 18 normalized columns (sqlite_query.h), parse error, raw
//     bytes when not valid UTF-8, the full event JSON (event/json.h, including "raw") and the two
//     texts free text searches (message, and raw when it differs). level 2: recompressed.
//   index: blocks(tenant_id, max_time)
//   block_terms: FTS5, contentless, detail=none, one document per block: its distinct words of
//     message and raw (tokenizer "medsoc", tokenizer.h) and "T=value" (T: a one-character field
//     tag) for the source and each normalized column (block.h FieldTerm)
//   meta(key, value): 'terms_version', the term rules block_terms was made with (block.h)
// Partitions of schema 1 and 2 (one row per event with five field indexes and an FTS5 row each)
// are converted to blocks in one transaction when first opened. A partition whose terms_version
// is not the current one (written by an older medsoc) has its block_terms rebuilt from its blocks
// in one transaction when first opened, since queries compile their block conditions with the
// current rules.
//
// Why blocks: with one row per event, each event cost a b-tree insert in the table, in five
// indexes and in the FTS5 index, at random positions: nine tenths of the store's CPU and most of its
// writes (measured by bench/store_events_bench and bench/syslog_e2e.sh). A block costs one row and
// one FTS5 document, so the per-event cost is encoding and zstd (about a microsecond).
//
// Queries: the query compiles (sqlite_query.h) to a row condition over medsoc_block(b.data), the
// table-valued function that decodes a block, and to an FTS5 expression over block_terms that every
// block holding a match satisfies (its terms and field values). A search reads the candidate blocks
// of the tenant and window newest first (by their newest event) and stops once the page is full and
// the next block's newest event is older than the page's oldest. Count and Histogram of the empty
// query add up the row counts of blocks wholly inside the window (or one bucket) without decoding.
// Ids are time-ordered (ULID layout whose 48-bit millisecond part is the stored event time), so
// Get(id) opens exactly one partition and decodes only the blocks whose time range covers it.
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
// caller's retry then stores those events twice (the only case of a duplicate). Every Write is
// searchable (and indexed) when it returns: there is no tail to index later.
//
// Compression (CompressOld): blocks are written at zstd level 1 (settings.zstd_level) and
// recompressed at level 9 once their day is older than compress_after_days; the term index is
// merged into one segment ('optimize') and the file VACUUMed. Queries work the same on both.
//
// Compaction (CompactBlocks, every minute from the server; in RunMaintenance after retention): every
// Write makes at least one block per day and tenant, so trickle ingest (single HTTP events, a
// quiet tail, a slow syslog sender) makes many tiny blocks, each a row, an FTS5 document and a
// decode per query. Per partition and tenant, blocks of fewer than block_rows / 4 events are merged
// in id order into blocks of up to block_rows events (rows and ids unchanged, the level kept),
// decoded and encoded outside the write mutex, then swapped on the writer connection under it, at
// most 16,384 events per transaction (queries see one snapshot per partition). The
// replaced blocks' FTS5 documents are deleted by recomputing their terms, so only partitions whose
// meta 'terms_version' is kBlockTermsVersion (block.h) are compacted. A partition whose newest
// block id has not moved since its last pass is skipped with one query.
//
// Concurrency: readers use pooled connections (one query per connection at a time, several
// queries in parallel); the writer has its own connections, serialized by a mutex; maintenance
// uses its own. SQLite's WAL lets readers, including `medsoc search` in another process, run
// while the server writes. A dropped partition's file is unlinked; queries already reading it
// finish on the open file.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <algorithm>
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
#include "store/events/block.h"
#include "store/events/event_store.h"
#include "store/events/sqlite_query.h"

namespace medsoc::store::events {

struct SqliteEventStoreSettings {
  bool sync_full = true;         // fsync every batch commit (power-loss durable); see above
  int busy_timeout_ms = 5000;
  std::size_t max_idle_readers = 16;  // pooled read connections kept open (LRU)
  std::size_t max_writers = 4;        // partitions kept open for writing (LRU)
  std::size_t writer_cache_kib = 16 * 1024;  // SQLite page cache per open writer (the hot day)
  std::size_t block_rows = kMaxBlockRows;    // events per block (at most kMaxBlockRows)
  int zstd_level = 1;                        // of blocks as written
  // Threads that encode a Write's blocks (the caller's plus encode_threads - 1 helpers).
  std::size_t encode_threads = std::max(1u, std::thread::hardware_concurrency());
  bool use_term_index = true;  // false: queries decode every block of their window (tests compare)
};

class SqliteEventStore final : public EventStore {
 public:
  // Opens (creating <data_dir>/events, mode 0700, when missing) the store. Partitions are opened
  // lazily.
  static Result<std::unique_ptr<SqliteEventStore>> Open(const std::string& data_dir, const EventStoreOptions& options,
                                                        const SqliteEventStoreSettings& settings = {});
  ~SqliteEventStore() override;

  Status Write(const event::Batch& batch) override;
  // Places and encodes the batch's blocks (the CPU-heavy part of Write) on the calling thread;
  // WritePrepared then only inserts and commits them. Prepare may run on several threads at once.
  std::shared_ptr<const event::PreparedBatch> Prepare(const event::Batch& batch) override;
  Status WritePrepared(const event::Batch& batch, const event::PreparedBatch* prepared) override;
  // Group commit: the blocks of up to 16 batches in one transaction per partition (one fsync).
  std::size_t write_group_limit() const override { return 16; }
  Status WriteGroup(std::span<const event::PreparedWrite> writes) override;
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
  Result<MaintenanceReport> CompactBlocks(core::Timestamp now) override;
  Result<MaintenanceReport> RunMaintenance(core::Timestamp now) override;
  Result<std::vector<PartitionInfo>> Partitions() override;

  const std::string& dir() const { return dir_; }
  // The file of the partition for `day` (days since the epoch).
  std::string PartitionPath(std::int64_t day) const;

  struct Conn;      // one open partition (sqlite_event_store.cpp)
  struct BlockJob;  // one block of a Write, encoded (sqlite_event_store.cpp)

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
  // Stores encoded blocks: one transaction per partition, all committed or none. REQUIRES: write_mu_.
  Status InsertBlocks(std::vector<const BlockJob*> jobs);
  std::vector<std::int64_t> ListDays() const;
  // Closes every pooled handle of `day` and deletes its files. REQUIRES: maint_mu_ held.
  Status DropPartition(std::int64_t day);
  Result<bool> CompressPartition(std::int64_t day);
  // Compacts one partition into `report`. REQUIRES: maint_mu_ held.
  Status CompactPartition(std::int64_t day, MaintenanceReport& report);

  const std::string dir_;
  const EventStoreOptions options_;
  const SqliteEventStoreSettings settings_;

  std::mutex write_mu_;  // serializes Write; guards writers_, rng_ and encoders_
  std::list<std::unique_ptr<Conn>> writers_;  // most recently used first
  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<BlockWriter>> encoders_;  // one per encoding thread, reused by Write

  std::mutex spare_mu_;  // guards spare_writers_
  std::vector<std::unique_ptr<BlockWriter>> spare_writers_;  // for Prepare, one per concurrent caller

  std::mutex read_mu_;  // guards readers_ and epochs_
  std::list<std::unique_ptr<Conn>> readers_;  // idle, most recently returned first
  std::map<std::int64_t, std::uint64_t> epochs_;  // bumped when a partition is dropped or rewritten

  std::mutex maint_mu_;  // one maintenance run at a time
  // Per day, the newest block id after its last compaction pass (guarded by maint_mu_).
  std::map<std::int64_t, std::int64_t> compacted_;
};

// The day (days since the epoch, UTC) of `t`, and its file name "YYYY-MM-DD".
std::int64_t DayOf(core::Timestamp t);
std::string DayName(std::int64_t day);

}  // namespace medsoc::store::events
