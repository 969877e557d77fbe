#include "store/events/sqlite_event_store.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>
#include <spdlog/spdlog.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "event/json.h"
#include "store/events/block.h"
#include "store/events/tokenizer.h"
#include "store/sqlite/db.h"

namespace medsoc::store::events {

using sqlite::Database;
using sqlite::Statement;
using sqlite::Transaction;

namespace {

// 1: events + indexes + FTS. 2: adds `hot`, an unindexed tail. 3: event blocks (block.h): one row
// per block in `blocks`, its terms in the FTS5 table block_terms. Partitions of version 1 and 2 are
// converted to 3 when first opened (MigrateRows).
constexpr int kSchemaVersion = 3;
constexpr int kArchiveLevel = 9;  // zstd level of blocks in compressed (old) partitions
constexpr int kCompressChunkBlocks = 64;

std::string PartitionSchema() {
  return "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB);\n"
         "CREATE TABLE IF NOT EXISTS blocks (\n"
         "  id INTEGER PRIMARY KEY,\n"
         "  tenant_id TEXT NOT NULL,\n"
         "  min_time INTEGER NOT NULL,\n"
         "  max_time INTEGER NOT NULL,\n"
         "  count INTEGER NOT NULL,\n"
         "  level INTEGER NOT NULL,\n"  // zstd level class: 1 as written, 2 recompressed (CompressOld)
         "  data BLOB NOT NULL\n"
         ");\n"
         "CREATE INDEX IF NOT EXISTS blocks_time ON blocks(tenant_id, max_time);\n"
         "CREATE VIRTUAL TABLE IF NOT EXISTS block_terms USING fts5(terms, content='', detail=none, columnsize=0, "
         "tokenize='medsoc_terms');\n"
         // Merge segments 16 at a time instead of 4: each term is rewritten about half as often
         // while a day fills (fewer, larger merges); CompressOld merges all into one at the end.
         "INSERT INTO block_terms (block_terms, rank) VALUES ('automerge', 16);\n"
         // The term rules the blocks are indexed with (compaction needs them; block.h). Also
         // written by MigrateRows, which indexes converted partitions with the current rules.
         "INSERT OR REPLACE INTO meta (key, value) VALUES ('terms_version', " +
         std::to_string(kBlockTermsVersion) + ");\n"
         "PRAGMA user_version = 3;\n";
}

// Version 1/2 row columns, as a block row (block.h order) reads them in MigrateRows.
std::string LegacyRowSelect(const char* table) {
  std::string cols = "SELECT tenant_id, id, time, ingest_time, source";
  for (const ColumnField& c : ColumnFields()) {
    cols += ", ";
    cols += c.column;
  }
  cols += ", parse_error, raw_bytes, 0, medsoc_doc(doc, zflags), "
          "json_extract(medsoc_doc(doc, zflags), '$.fields.message'), json_extract(medsoc_doc(doc, zflags), '$.raw')";
  return cols + " FROM " + table;
}

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

std::string MakeId(std::int64_t ms, std::uint64_t r1, std::uint64_t r2) {
  if (ms < 0) ms = 0;
  std::string id(26, '0');
  auto t = static_cast<std::uint64_t>(ms) & ((std::uint64_t{1} << 48) - 1);
  for (int i = 9; i >= 0; --i) {
    id[static_cast<std::size_t>(i)] = kCrockford[t & 31];
    t >>= 5;
  }
  // 80 random bits: 16 chars of 5 bits.
  for (int i = 0; i < 16; ++i) {
    std::uint64_t& src = i < 12 ? r1 : r2;
    id[static_cast<std::size_t>(10 + i)] = kCrockford[src & 31];
    src >>= 5;
  }
  return id;
}

// The millisecond part of an id, or -1 when it is not one of ours.
std::int64_t IdMillis(std::string_view id) {
  if (id.size() != 26) return -1;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 26; ++i) {
    const char* p = std::strchr(kCrockford, id[i]);
    if (id[i] == '\0' || p == nullptr) return -1;
    if (i < 10) v = (v << 5) | static_cast<std::uint64_t>(p - kCrockford);
  }
  if (v >> 48) return -1;
  return static_cast<std::int64_t>(v);
}

bool ValidUtf8(std::string_view s, std::string& scratch) {
  scratch.clear();
  return event::AppendJsonString(s, scratch);
}

std::uint64_t FileBytes(const std::string& path) {
  std::uint64_t total = 0;
  struct stat st {};
  for (const char* suffix : {"", "-wal"}) {
    if (::stat((path + suffix).c_str(), &st) == 0) total += static_cast<std::uint64_t>(st.st_size);
  }
  return total;
}

Status BindParam(Statement& st, int index, const SqlParam& p) {
  switch (p.kind) {
    case SqlParam::Kind::kInt: return st.BindInt64(index, p.i);
    case SqlParam::Kind::kDouble: return st.BindDouble(index, p.d);
    case SqlParam::Kind::kText: return st.BindText(index, p.s);
    case SqlParam::Kind::kBlob: return st.BindBlob(index, p.s);
  }
  return Ok();
}

// "time.ID": the page's last event (results are ordered by time, then id, both descending).
std::string MakeCursor(std::int64_t time, std::string_view id) { return std::to_string(time) + "." + std::string(id); }

bool ParseCursor(std::string_view c, std::int64_t& time, std::string& id) {
  const auto dot = c.find('.');
  if (dot == std::string_view::npos || dot == 0 || c.size() - dot - 1 != 26) return false;
  std::string_view t = c.substr(0, dot);
  const bool neg = t[0] == '-';
  if (neg) t.remove_prefix(1);
  if (t.empty() || t.size() > 19) return false;
  std::int64_t v = 0;
  for (char ch : t) {
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + (ch - '0');
  }
  time = neg ? -v : v;
  id = std::string(c.substr(dot + 1));
  return IdMillis(id) >= 0;
}

}  // namespace

std::int64_t DayOf(core::Timestamp t) {
  const std::int64_t d = core::Days(1);
  return t.ns >= 0 ? t.ns / d : -((-t.ns + d - 1) / d);
}

std::string DayName(std::int64_t day) {
  std::int64_t y = 0;
  unsigned m = 0, d = 0;
  core::CivilFromDays(day, y, m, d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  return buf;
}

// ---- Conn: one open partition ------------------------------------------------------------------------

struct SqliteEventStore::Conn {
  ~Conn() {
    db.reset();  // close the connection (and its functions) before the codec state goes
    ZSTD_freeDDict(ddict);
    ZSTD_freeDCtx(dctx);
  }

  // medsoc_doc(doc, zflags): the event JSON, decompressed when zflags & 1.
  static void DocFn(sqlite3_context* ctx, int, sqlite3_value** argv) {
    auto* self = static_cast<Conn*>(sqlite3_user_data(ctx));
    if ((sqlite3_value_int64(argv[1]) & 1) == 0) return sqlite3_result_value(ctx, argv[0]);
    const void* src = sqlite3_value_blob(argv[0]);
    const auto n = static_cast<std::size_t>(sqlite3_value_bytes(argv[0]));
    if (!self->LoadDict()) return sqlite3_result_error(ctx, "event partition dictionary unavailable", -1);
    const unsigned long long size = ZSTD_getFrameContentSize(src, n);
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (64u << 20))
      return sqlite3_result_error(ctx, "corrupt compressed event", -1);
    self->buf.resize(static_cast<std::size_t>(size));
    const std::size_t got =
        self->ddict != nullptr
            ? ZSTD_decompress_usingDDict(self->dctx, self->buf.data(), self->buf.size(), src, n, self->ddict)
            : ZSTD_decompressDCtx(self->dctx, self->buf.data(), self->buf.size(), src, n);
    if (ZSTD_isError(got) || got != size) return sqlite3_result_error(ctx, "corrupt compressed event", -1);
    sqlite3_result_text64(ctx, self->buf.data(), got, SQLITE_TRANSIENT, SQLITE_UTF8);
  }

  // Loads the partition's dictionary (once; a partition's dictionary never changes). Runs inside
  // the caller's read transaction, so it sees the dictionary of the rows it is reading.
  bool LoadDict() {
    if (dict_loaded) return true;
    auto st = db->Prepare("SELECT value FROM meta WHERE key = 'zstd_dict'");
    if (!st.ok()) return false;
    auto row = (*st)->Step();
    if (!row.ok()) return false;
    if (*row) {
      const std::string dict = (*st)->ColumnBlob(0);
      ddict = ZSTD_createDDict(dict.data(), dict.size());
      if (ddict == nullptr) return false;
      dict_loaded = true;
    }
    // No dictionary (yet): plain zstd; asked again next time, as compression may add one.
    return true;
  }

  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  ZSTD_DDict* ddict = nullptr;
  bool dict_loaded = false;
  std::string buf;
  std::int64_t day = 0;
  std::uint64_t epoch = 0;
  std::chrono::steady_clock::time_point deadline{};
  std::unique_ptr<Database> db;  // last: destroyed first
};

namespace {
int ProgressHandler(void* arg) {
  auto* deadline = static_cast<std::chrono::steady_clock::time_point*>(arg);
  return std::chrono::steady_clock::now() > *deadline ? 1 : 0;
}

// A block row's cell from column `i` of a statement (the legacy row migration).
Cell CellOf(sqlite3_stmt* st, int i) {
  switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER: return Cell::Int(sqlite3_column_int64(st, i));
    case SQLITE_FLOAT: return Cell::Int(static_cast<std::int64_t>(sqlite3_column_double(st, i)));
    case SQLITE_TEXT: {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
      return Cell::Text(std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(st, i))));
    }
    case SQLITE_BLOB: {
      const auto* p = static_cast<const char*>(sqlite3_column_blob(st, i));
      return Cell::Blob(std::string_view(p == nullptr ? "" : p, static_cast<std::size_t>(sqlite3_column_bytes(st, i))));
    }
    default: return Cell{};
  }
}

// Stores an encoded block and its terms in the open transaction of `db`.
Status InsertBlock(Database& db, const std::string& tenant, std::int64_t min_time, std::int64_t max_time,
                   std::int64_t rows, int level, const BlockWriter::Finished& done) {
  MEDSOC_ASSIGN_OR_RETURN(auto ins, db.Prepare(
      "INSERT INTO blocks (tenant_id, min_time, max_time, count, level, data) VALUES (?, ?, ?, ?, ?, ?)"));
  MEDSOC_TRY(ins->BindAll(tenant, min_time, max_time, rows, level));
  MEDSOC_TRY(ins->BindBlob(6, done.data));
  MEDSOC_TRY(ins->Run());
  const std::int64_t id = sqlite3_last_insert_rowid(db.raw());
  MEDSOC_ASSIGN_OR_RETURN(auto terms, db.Prepare("INSERT INTO block_terms (rowid, terms) VALUES (?, ?)"));
  MEDSOC_TRY(terms->BindInt64(1, id));
  MEDSOC_TRY(terms->BindText(2, done.terms));
  return terms->Run();
}

// Stores the block `w` holds (Finish resets it) in the open transaction of `db`.
Status FlushBlock(Database& db, BlockWriter& w, int level) {
  if (w.rows() == 0) return Ok();
  const std::string tenant = w.tenant();
  const std::int64_t min_time = w.min_time(), max_time = w.max_time();
  const auto rows = static_cast<std::int64_t>(w.rows());
  MEDSOC_ASSIGN_OR_RETURN(BlockWriter::Finished done, w.Finish(level));
  return InsertBlock(db, tenant, min_time, max_time, rows, 1, done);
}

// Converts a version 1 or 2 partition (one row per event in `events` and `hot`) to blocks, in one
// transaction; a concurrent opener waits for it and then finds version 3.
Status MigrateRows(Database& db) {
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db));
  std::int64_t version = 0;
  {
    MEDSOC_ASSIGN_OR_RETURN(auto st, db.Prepare("PRAGMA user_version"));
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    version = row ? st->ColumnInt64(0) : 0;
  }
  if (version >= kSchemaVersion) return tx.Commit();
  bool has_hot = false;
  {
    MEDSOC_ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT count(*) FROM sqlite_master WHERE name = 'hot'"));
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    has_hot = row && st->ColumnInt64(0) > 0;
  }
  MEDSOC_TRY(db.ExecScript(PartitionSchema()));
  std::string sql = LegacyRowSelect("events");
  if (has_hot) sql += " UNION ALL " + LegacyRowSelect("hot");
  sql += " ORDER BY 1, 3";
  sqlite3_stmt* raw = nullptr;
  MEDSOC_TRY(sqlite::CheckSqlite(sqlite3_prepare_v3(db.raw(), sql.c_str(), static_cast<int>(sql.size()), 0, &raw, nullptr),
                                 db.raw(), sql));
  Statement st(db.raw(), raw, sql);
  BlockWriter w;
  BlockRow row{};
  std::string tenant;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool more, st.Step());
    if (!more) break;
    for (int c = 0; c < kBlockColumns; ++c) row[c] = CellOf(raw, c);
    if (row[kFtsRaw].kind == Cell::Kind::kText && row[kFtsMessage].kind == Cell::Kind::kText &&
        row[kFtsRaw].s == row[kFtsMessage].s)
      row[kFtsRaw] = Cell{};
    if (w.rows() > 0 && (w.tenant() != row[kTenant].s || w.rows() >= kMaxBlockRows ||
                         w.payload_bytes() >= kMaxBlockPayloadBytes))
      MEDSOC_TRY(FlushBlock(db, w, 1));
    w.Add(row);
  }
  MEDSOC_TRY(FlushBlock(db, w, 1));
  st.Reset();
  MEDSOC_TRY(db.ExecScript("DROP TABLE IF EXISTS events_fts; DROP TABLE IF EXISTS hot; DROP TABLE IF EXISTS events; "
                           "DELETE FROM meta WHERE key = 'zstd_dict'; PRAGMA user_version = 3;"));
  return tx.Commit();
}

// The term rules a partition's block_terms were made with (meta 'terms_version'; 0 when unknown).
Result<std::int64_t> TermsVersion(Database& db) {
  MEDSOC_ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT value FROM meta WHERE key = 'terms_version'"));
  MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
  return row ? st->ColumnInt64(0) : 0;
}

// Rebuilds block_terms of a partition indexed under other term rules (an older medsoc), in one
// transaction: queries compile their block conditions with the current rules, so a document made
// under the old ones could hide a match. A concurrent opener waits for it and then finds the
// current version.
Status ReindexTerms(Database& db) {
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db));
  MEDSOC_ASSIGN_OR_RETURN(std::int64_t version, TermsVersion(db));
  if (version == kBlockTermsVersion) return tx.Commit();
  MEDSOC_TRY(db.ExecScript("INSERT INTO block_terms (block_terms) VALUES ('delete-all');"));
  MEDSOC_ASSIGN_OR_RETURN(auto blocks, db.Prepare("SELECT id, data FROM blocks ORDER BY id"));
  MEDSOC_ASSIGN_OR_RETURN(auto ins, db.Prepare("INSERT INTO block_terms (rowid, terms) VALUES (?, ?)"));
  BlockReader reader;
  BlockWriter w;
  BlockRow row{};
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool more, blocks->Step());
    if (!more) break;
    const std::int64_t id = blocks->ColumnInt64(0);
    if (Status st = reader.Open(blocks->ColumnBlob(1)); !st.ok())
      return st.error().WithContext("event block " + std::to_string(id));
    while (true) {
      auto next = reader.Next(row);
      if (!next.ok()) return next.error().WithContext("event block " + std::to_string(id));
      if (!*next) break;
      w.Add(row);
    }
    const std::string terms = w.FinishTerms();
    ins->Reset();
    MEDSOC_TRY(ins->BindInt64(1, id));
    MEDSOC_TRY(ins->BindText(2, terms));
    MEDSOC_TRY(ins->Run());
  }
  MEDSOC_TRY(db.ExecScript("INSERT OR REPLACE INTO meta (key, value) VALUES ('terms_version', " +
                           std::to_string(kBlockTermsVersion) + ");"));
  return tx.Commit();
}

}  // namespace

// ---- Open -----------------------------------------------------------------------------------------

SqliteEventStore::SqliteEventStore(std::string dir, const EventStoreOptions& options,
                                   const SqliteEventStoreSettings& settings)
    : dir_(std::move(dir)), options_(options), settings_(settings), rng_(std::random_device{}()) {}

SqliteEventStore::~SqliteEventStore() = default;

Result<std::unique_ptr<SqliteEventStore>> SqliteEventStore::Open(const std::string& data_dir,
                                                                 const EventStoreOptions& options,
                                                                 const SqliteEventStoreSettings& settings) {
  const std::string dir = data_dir + "/events";
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return Error(ErrorCode::kIo, "cannot create " + dir + ": " + ec.message());
    ::chmod(dir.c_str(), 0700);
  }
  if (!std::filesystem::is_directory(dir, ec)) return Error(ErrorCode::kIo, dir + " is not a directory");
  return std::unique_ptr<SqliteEventStore>(new SqliteEventStore(dir, options, settings));
}

std::string SqliteEventStore::PartitionPath(std::int64_t day) const { return dir_ + "/" + DayName(day) + ".db"; }

std::vector<std::int64_t> SqliteEventStore::ListDays() const {
  std::vector<std::int64_t> days;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    // YYYY-MM-DD.db
    if (name.size() != 13 || name.substr(10) != ".db" || name[4] != '-' || name[7] != '-') continue;
    int y = 0, m = 0, d = 0;
    if (std::sscanf(name.c_str(), "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12 || d < 1 || d > 31) continue;
    const std::int64_t day = core::DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
    if (DayName(day) == name.substr(0, 10)) days.push_back(day);
  }
  std::sort(days.begin(), days.end());
  return days;
}

Result<std::unique_ptr<SqliteEventStore::Conn>> SqliteEventStore::OpenConn(std::int64_t day, bool create) {
  const std::string path = PartitionPath(day);
  if (!create && ::access(path.c_str(), F_OK) != 0) return Error(ErrorCode::kNotFound, "no partition " + DayName(day));
  sqlite::ConnectionOptions co;
  co.busy_timeout_ms = settings_.busy_timeout_ms;
  co.synchronous = sqlite::Synchronous::kNormal;
  MEDSOC_ASSIGN_OR_RETURN(auto db, Database::Open(path, co));
  auto conn = std::make_unique<Conn>();
  conn->day = day;
  conn->db = std::move(db);
  sqlite3* raw = conn->db->raw();
  MEDSOC_TRY(RegisterEventFunctions(raw));
  MEDSOC_TRY(RegisterBlockModule(raw));
  MEDSOC_TRY(sqlite::CheckSqlite(sqlite3_create_function_v2(raw, "medsoc_doc", 2, SQLITE_UTF8 | SQLITE_INNOCUOUS,
                                                            conn.get(), &Conn::DocFn, nullptr, nullptr, nullptr),
                                 raw, "medsoc_doc"));
  std::int64_t version = 0;
  {
    MEDSOC_ASSIGN_OR_RETURN(auto st, conn->db->Prepare("PRAGMA user_version"));
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    version = row ? st->ColumnInt64(0) : 0;
  }
  if (version > kSchemaVersion)
    return Error(ErrorCode::kFailedPrecondition, "partition " + DayName(day) + " has a newer schema than this medsoc");
  if (version == 0) {
    if (!create) return Error(ErrorCode::kNotFound, "partition " + DayName(day) + " is not initialized yet");
    MEDSOC_TRY(conn->db->ExecScript(PartitionSchema()));
  } else if (version < kSchemaVersion) {
    if (Status st = MigrateRows(*conn->db); !st.ok())
      return st.error().WithContext("converting events partition " + DayName(day) + " to blocks");
  } else {
    MEDSOC_ASSIGN_OR_RETURN(std::int64_t terms_version, TermsVersion(*conn->db));
    if (terms_version != kBlockTermsVersion) {
      spdlog::info("events partition {}: re-indexing its blocks (term rules {} -> {})", DayName(day), terms_version,
                   kBlockTermsVersion);
      if (Status st = ReindexTerms(*conn->db); !st.ok())
        return st.error().WithContext("re-indexing events partition " + DayName(day));
    }
  }
  if (create && settings_.sync_full) MEDSOC_TRY(conn->db->SetSynchronous(sqlite::Synchronous::kFull));
  sqlite3_progress_handler(raw, 4096, ProgressHandler, &conn->deadline);
  conn->deadline = std::chrono::steady_clock::time_point::max();
  return conn;
}

Result<std::unique_ptr<SqliteEventStore::Conn>> SqliteEventStore::CheckoutReader(std::int64_t day) {
  std::uint64_t epoch = 0;
  {
    std::lock_guard lock(read_mu_);
    epoch = epochs_[day];
    for (auto it = readers_.begin(); it != readers_.end(); ++it) {
      if ((*it)->day == day && (*it)->epoch == epoch) {
        auto conn = std::move(*it);
        readers_.erase(it);
        return conn;
      }
    }
  }
  MEDSOC_ASSIGN_OR_RETURN(auto conn, OpenConn(day, false));
  conn->epoch = epoch;
  return conn;
}

void SqliteEventStore::ReturnReader(std::unique_ptr<Conn> conn) {
  conn->deadline = std::chrono::steady_clock::time_point::max();
  std::unique_ptr<Conn> evicted;
  std::lock_guard lock(read_mu_);
  if (conn->epoch != epochs_[conn->day]) return;  // partition dropped or rewritten meanwhile
  readers_.push_front(std::move(conn));
  while (readers_.size() > settings_.max_idle_readers) readers_.pop_back();
}

Result<SqliteEventStore::Conn*> SqliteEventStore::Writer(std::int64_t day) {
  for (auto it = writers_.begin(); it != writers_.end(); ++it) {
    if ((*it)->day == day) {
      writers_.splice(writers_.begin(), writers_, it);
      return writers_.front().get();
    }
  }
  MEDSOC_ASSIGN_OR_RETURN(auto conn, OpenConn(day, true));
  // A checkpoint every 32 MiB of WAL rather than SQLite's 4 MiB: the hot day's FTS5 segments are
  // rewritten by merges while they are still in the WAL, so fewer checkpoints copy (and fsync)
  // fewer pages (syslog end to end: +4-25 % in paired runs). The file is cut back to 64 MiB after
  // a checkpoint.
  MEDSOC_TRY(conn->db->ExecScript("PRAGMA cache_size=-" + std::to_string(settings_.writer_cache_kib) +
                                  "; PRAGMA wal_autocheckpoint=8192; PRAGMA journal_size_limit=67108864"));
  writers_.push_front(std::move(conn));
  return writers_.front().get();  // the list is trimmed after the batch (its transactions hold these)
}

// ---- Write ----------------------------------------------------------------------------------------

namespace {

// One event of a Write, placed: its partition day, stored time and tenant.
struct PlacedEvent {
  std::int64_t day;
  std::int64_t time;
  bool clamped;
  std::string_view tenant;
  std::size_t index;  // in the batch
};

}  // namespace

// A block's worth of a Write (events [begin, end) of the sorted placement), encoded.
struct SqliteEventStore::BlockJob {
  std::size_t begin = 0, end = 0;
  std::int64_t day = 0;
  std::string tenant;
  std::int64_t min_time = 0, max_time = 0;
  BlockWriter::Finished done;
  Status status;
};

namespace {

using BlockJob = SqliteEventStore::BlockJob;

const std::vector<event::FieldId>& ColumnIds() {
  static const std::vector<event::FieldId> ids = [] {
    auto& table = event::DefaultFieldTable();
    std::vector<event::FieldId> out;
    for (const ColumnField& c : ColumnFields()) out.push_back(table.Intern(c.field).value_or(event::kNoField));
    return out;
  }();
  return ids;
}

event::FieldId MessageId() {
  static const event::FieldId id = event::DefaultFieldTable().Intern("message").value_or(event::kNoField);
  return id;
}

// Encodes job.begin..job.end into job.done with `w`. Pure with respect to the store: runs on any
// thread (the batch is only read).
void EncodeBlock(const event::Batch& batch, const std::vector<PlacedEvent>& rows, BlockWriter& w, std::mt19937_64& rng,
                 std::int64_t now_ns, int zstd_level, BlockJob& job) {
  const auto& column_ids = ColumnIds();
  const event::FieldId message_id = MessageId();
  std::string doc, id, scratch;
  std::array<event::TextBuffer, 18> text_bufs;
  static_assert(kParseError - kFirstField == 18);
  BlockRow cells{};
  for (std::size_t i = job.begin; i < job.end; ++i) {
    const event::Event& e = batch[rows[i].index];
    const std::int64_t t = rows[i].time;
    doc.clear();
    event::AppendEventJson(e, doc);
    if (rows[i].clamped) {
      doc.pop_back();
      doc += ",\"time_clamped\":true}";
    }
    // Full-text: the message and, when it differs, the raw message.
    std::string_view message;
    if (const event::Value* m = message_id.valid() ? e.Find(message_id) : nullptr; m != nullptr && m->is_string())
      message = m->str();
    std::string_view raw = e.raw();
    if (raw == message) raw = {};
    id = MakeId(t / 1'000'000 - (t < 0 && t % 1'000'000 ? 1 : 0), rng(), rng());
    cells.fill(Cell{});
    cells[kTenant] = Cell::Text(rows[i].tenant);
    cells[kId] = Cell::Text(id);
    cells[kTime] = Cell::Int(t);
    cells[kIngestTime] = Cell::Int(e.ingest_time().ns != 0 ? e.ingest_time().ns : now_ns);
    if (!e.source_name().empty()) cells[kSource] = Cell::Text(e.source_name());
    for (std::size_t c = 0; c < column_ids.size(); ++c) {
      const event::FieldId fid = column_ids[c];
      const event::Value* v = fid.valid() ? e.Find(fid) : nullptr;
      if (v == nullptr || v->is_null()) continue;
      Cell& cell = cells[kFirstField + static_cast<int>(c)];
      switch (ColumnFields()[c].type) {
        case ColumnType::kKeyword:
          cell = Cell::Text(v->AsText(text_bufs[c]));
          break;
        case ColumnType::kLong:
          if (auto n = v->AsInt()) cell = Cell::Int(*n);
          break;
        case ColumnType::kIp:
          if (auto ip = v->AsIp()) {
            std::memcpy(text_bufs[c].data, ip->bytes().data(), 16);
            cell = Cell::Blob(std::string_view(text_bufs[c].data, 16));
          }
          break;
      }
    }
    if (e.has_parse_error()) cells[kParseError] = Cell::Text(e.parse_error());
    if (!e.raw().empty() && !ValidUtf8(e.raw(), scratch)) cells[kRawBytes] = Cell::Blob(e.raw());
    cells[kDoc] = Cell::Text(doc);
    if (!message.empty()) cells[kFtsMessage] = Cell::Text(message);
    if (!raw.empty()) cells[kFtsRaw] = Cell::Text(raw);
    w.Add(cells);
  }
  job.tenant = w.tenant();
  job.min_time = w.min_time();
  job.max_time = w.max_time();
  auto done = w.Finish(zstd_level);
  if (!done.ok()) {
    job.status = std::move(done).error();
    return;
  }
  job.done = std::move(*done);
}

// Places the events of `batch` (day, stored time, tenant) into `rows` and cuts them into block
// jobs: runs of one day and tenant, arrival order kept, at most block_rows events each. With
// split > 1 a large run is cut into that many blocks (not below 256 events) so that as many
// encoders can work on it.
std::vector<BlockJob> PlanBlocks(const event::Batch& batch, core::Timestamp now, std::int64_t retention,
                                 std::size_t block_rows, std::size_t split, std::vector<PlacedEvent>& rows) {
  rows.clear();
  rows.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const event::Event& e = batch[i];
    const core::Timestamp ingest = e.ingest_time().ns != 0 ? e.ingest_time() : now;
    core::Timestamp t = e.time();
    bool clamped = false;
    if (t.ns < ingest.ns - retention || t.ns > ingest.ns + core::Days(1)) {
      t = ingest;
      clamped = true;
    }
    const std::string_view tenant = e.tenant_id().empty() ? std::string_view(kDefaultTenant) : e.tenant_id();
    rows.push_back({DayOf(t), t.ns, clamped, tenant, i});
  }
  std::stable_sort(rows.begin(), rows.end(), [](const PlacedEvent& a, const PlacedEvent& b) {
    return a.day != b.day ? a.day < b.day : a.tenant < b.tenant;
  });
  std::vector<BlockJob> jobs;
  for (std::size_t i = 0; i < rows.size();) {
    std::size_t j = i;
    while (j < rows.size() && rows[j].day == rows[i].day && rows[j].tenant == rows[i].tenant) ++j;
    const std::size_t run = j - i;
    std::size_t size = block_rows;
    if (split > 1) size = std::min(block_rows, std::max<std::size_t>(256, (run + split - 1) / split));
    for (std::size_t k = i; k < j; k += size) {
      BlockJob job;
      job.begin = k;
      job.end = std::min(j, k + size);
      job.day = rows[i].day;
      jobs.push_back(std::move(job));
    }
    i = j;
  }
  return jobs;
}

// What Prepare did for a batch: its blocks, encoded.
struct PreparedBlocks final : event::PreparedBatch {
  std::vector<BlockJob> jobs;
};

}  // namespace

Status SqliteEventStore::Write(const event::Batch& batch) {
  if (batch.empty()) return Ok();
  (void)ColumnIds();
  (void)MessageId();
  const core::Timestamp now = core::Now();
  const std::size_t threads = std::max<std::size_t>(1, settings_.encode_threads);
  std::vector<PlacedEvent> rows;
  std::vector<BlockJob> jobs =
      PlanBlocks(batch, now, core::Days(std::max(1, options_.retention_days)),
                 std::clamp<std::size_t>(settings_.block_rows, 1, kMaxBlockRows), threads, rows);

  std::unique_lock lock(write_mu_);
  const std::size_t workers = std::min(threads, jobs.size());
  while (encoders_.size() < workers) encoders_.push_back(std::make_unique<BlockWriter>());
  {
    std::atomic<std::size_t> next{0};
    auto work = [&](std::size_t w, std::uint64_t seed) {
      std::mt19937_64 rng(seed);
      for (std::size_t k = next.fetch_add(1); k < jobs.size(); k = next.fetch_add(1))
        EncodeBlock(batch, rows, *encoders_[w], rng, now.ns, settings_.zstd_level, jobs[k]);
    };
    std::vector<std::thread> helpers;
    for (std::size_t w = 1; w < workers; ++w) helpers.emplace_back(work, w, rng_());
    work(0, rng_());
    for (auto& t : helpers) t.join();
  }
  std::vector<const BlockJob*> pointers;
  for (const BlockJob& job : jobs) pointers.push_back(&job);
  return InsertBlocks(std::move(pointers));
}

std::shared_ptr<const event::PreparedBatch> SqliteEventStore::Prepare(const event::Batch& batch) {
  (void)ColumnIds();
  (void)MessageId();
  const core::Timestamp now = core::Now();
  std::vector<PlacedEvent> rows;
  auto prepared = std::make_shared<PreparedBlocks>();
  prepared->jobs = PlanBlocks(batch, now, core::Days(std::max(1, options_.retention_days)),
                              std::clamp<std::size_t>(settings_.block_rows, 1, kMaxBlockRows), 1, rows);
  if (prepared->jobs.empty()) return prepared;
  std::unique_ptr<BlockWriter> w;
  {
    std::lock_guard lock(spare_mu_);
    if (!spare_writers_.empty()) {
      w = std::move(spare_writers_.back());
      spare_writers_.pop_back();
    }
  }
  if (!w) w = std::make_unique<BlockWriter>();
  thread_local std::mt19937_64 rng(std::random_device{}());
  for (BlockJob& job : prepared->jobs) {
    EncodeBlock(batch, rows, *w, rng, now.ns, settings_.zstd_level, job);
    if (!job.status.ok()) break;  // WritePrepared reports it
  }
  {
    std::lock_guard lock(spare_mu_);
    spare_writers_.push_back(std::move(w));
  }
  return prepared;
}

Status SqliteEventStore::WritePrepared(const event::Batch& batch, const event::PreparedBatch* prepared) {
  const event::PreparedWrite one{&batch, prepared};
  return WriteGroup(std::span<const event::PreparedWrite>(&one, 1));
}

Status SqliteEventStore::WriteGroup(std::span<const event::PreparedWrite> writes) {
  // Batches that come unprepared (or prepared by someone else) are prepared here.
  std::vector<std::shared_ptr<const event::PreparedBatch>> own;
  std::vector<const BlockJob*> jobs;
  for (const event::PreparedWrite& w : writes) {
    const auto* blocks = dynamic_cast<const PreparedBlocks*>(w.prepared);
    if (blocks == nullptr) {
      own.push_back(Prepare(*w.batch));
      blocks = static_cast<const PreparedBlocks*>(own.back().get());
    }
    for (const BlockJob& job : blocks->jobs) jobs.push_back(&job);
  }
  if (jobs.empty()) return Ok();
  std::unique_lock lock(write_mu_);
  return InsertBlocks(jobs);
}

Status SqliteEventStore::InsertBlocks(std::vector<const BlockJob*> jobs) {
  for (const BlockJob* job : jobs)
    if (!job->status.ok()) return job->status;
  // One transaction per partition: the jobs of one day together, each day's in their order.
  std::stable_sort(jobs.begin(), jobs.end(), [](const BlockJob* a, const BlockJob* b) { return a->day < b->day; });

  // All transactions are opened before the first insert, so that a failure before the commits
  // leaves nothing.
  struct Tx {
    Conn* conn;
    std::optional<Transaction> tx;
  };
  std::vector<Tx> txs;
  for (std::size_t k = 0; k < jobs.size(); ++k) {
    if (k > 0 && jobs[k]->day == jobs[k - 1]->day) continue;
    MEDSOC_ASSIGN_OR_RETURN(Conn * conn, Writer(jobs[k]->day));
    MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*conn->db));
    txs.push_back(Tx{conn, std::move(tx)});
  }
  std::size_t tx_index = 0;
  for (std::size_t k = 0; k < jobs.size(); ++k) {
    if (k > 0 && jobs[k]->day != jobs[k - 1]->day) ++tx_index;
    const BlockJob& job = *jobs[k];
    MEDSOC_TRY(InsertBlock(*txs[tx_index].conn->db, job.tenant, job.min_time, job.max_time,
                           static_cast<std::int64_t>(job.end - job.begin), 1, job.done));
  }
  for (auto& t : txs) MEDSOC_TRY(t.tx->Commit());
  txs.clear();
  while (writers_.size() > settings_.max_writers) writers_.pop_back();
  return Ok();
}

// ---- Queries --------------------------------------------------------------------------------------

struct SqliteEventStore::Plan {
  CompiledQuery compiled;
  std::string tenant;
  std::int64_t from = 0;  // inclusive
  std::int64_t to = 0;    // exclusive
  std::int64_t cursor_time = INT64_MAX;
  std::string cursor_id;  // with cursor_time: results come after (cursor_time, cursor_id)
};

Result<SqliteEventStore::Plan> SqliteEventStore::Prepare(const TenantScope& scope, const EventQuery& q) const {
  const core::Timestamp now = q.now.ns != 0 ? q.now : core::Now();
  MEDSOC_ASSIGN_OR_RETURN(Query parsed, ParseQuery(q.query));
  Plan plan;
  MEDSOC_ASSIGN_OR_RETURN(plan.compiled, CompileQuery(parsed, now));
  if (!settings_.use_term_index) plan.compiled.prune.clear();
  plan.tenant = scope.tenant_id();
  plan.to = q.to.ns != 0 ? q.to.ns : now.ns + core::Days(1);
  plan.from = q.from.ns != 0 ? q.from.ns : (q.to.ns != 0 ? q.to.ns : now.ns) - core::Days(1);
  plan.from = std::max(plan.from, plan.compiled.time_lo);
  plan.to = std::min(plan.to, plan.compiled.time_hi);
  if (!q.cursor.empty()) {
    if (!ParseCursor(q.cursor, plan.cursor_time, plan.cursor_id))
      return Error(ErrorCode::kInvalidArgument, "invalid cursor");
    if (plan.cursor_time < INT64_MAX) plan.to = std::min(plan.to, plan.cursor_time + 1);
  }
  return plan;
}

Status SqliteEventStore::ForEachPartition(const Plan& plan, const std::function<Result<bool>(Conn&, std::int64_t)>& fn) {
  if (plan.from >= plan.to) return Ok();
  const std::int64_t first = DayOf({plan.from});
  const std::int64_t last = DayOf({plan.to - 1});
  std::vector<std::int64_t> days = ListDays();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(std::max(1, options_.query_timeout_seconds));
  for (auto it = days.rbegin(); it != days.rend(); ++it) {
    if (*it > last || *it < first) continue;
    auto conn = CheckoutReader(*it);
    if (!conn.ok()) {
      if (conn.error().code() == ErrorCode::kNotFound) continue;  // dropped or being created
      return std::move(conn).error();
    }
    (*conn)->deadline = deadline;
    Result<bool> more = false;
    {
      // One snapshot for all of fn's statements (Count and Histogram run two, which must not see
      // a compaction in between): an unfinished statement keeps the read transaction open.
      auto pin = (*conn)->db->Prepare("SELECT max(id) FROM blocks /* snapshot */");
      if (!pin.ok()) {
        more = std::move(pin).error();
      } else if (auto pinned = (*pin)->Step(); !pinned.ok()) {
        more = std::move(pinned).error();
      } else {
        more = fn(**conn, *it);
      }
    }
    const bool timed_out = std::chrono::steady_clock::now() > deadline;
    ReturnReader(std::move(*conn));
    if (!more.ok()) {
      if (timed_out)
        return Error(ErrorCode::kResourceExhausted, "the search ran longer than " +
                                                        std::to_string(options_.query_timeout_seconds) +
                                                        " s; narrow the time range or add field conditions");
      return std::move(more).error();
    }
    if (!*more) break;
  }
  return Ok();
}

namespace {

Result<std::unique_ptr<Statement>> PrepareUncached(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  MEDSOC_TRY(sqlite::CheckSqlite(sqlite3_prepare_v3(db, sql.c_str(), static_cast<int>(sql.size()), 0, &raw, nullptr),
                                 db, sql));
  return std::make_unique<Statement>(db, raw, sql);
}

// A statement over the decoded rows of a partition's blocks:
//   `select` FROM blocks b, medsoc_block(b.data) e WHERE <tenant, window, cursor> AND (<query>)
//   [AND b.id = <one block>] [AND <block-index condition>] `extra` `tail`
// Parameters: ?1 tenant, ?2 from, ?3 to, ?4 cursor time, ?5 cursor id, then the query's, then
// the block id and the block-index expression when used.
struct RowsSpec {
  std::string select;
  std::string extra;  // more conditions on b (may use ?2 and ?3)
  std::string tail;   // GROUP BY / ORDER BY / LIMIT
  bool one_block = false;
  bool prune = true;
};

// Binds (again, after Reset, which clears bindings) the parameters of a PrepareRows statement.
Status BindRows(Statement& st, const RowsSpec& spec, const CompiledQuery& cq, const std::string& tenant,
                std::int64_t from, std::int64_t to, std::int64_t ctime, const std::string& cid) {
  const int n = static_cast<int>(cq.params.size());
  MEDSOC_TRY(st.BindAll(tenant, from, to, ctime, cid));
  for (int i = 0; i < n; ++i) MEDSOC_TRY(BindParam(st, 6 + i, cq.params[static_cast<std::size_t>(i)]));
  if (spec.prune && !cq.prune.empty()) MEDSOC_TRY(st.BindText(6 + n + (spec.one_block ? 1 : 0), cq.prune));
  return Ok();
}

Result<std::unique_ptr<Statement>> PrepareRows(sqlite3* db, const RowsSpec& spec, const CompiledQuery& cq,
                                               const std::string& tenant, std::int64_t from, std::int64_t to,
                                               std::int64_t ctime, const std::string& cid) {
  const int n = static_cast<int>(cq.params.size());
  int next = 6 + n;
  std::string sql = spec.select +
                    " FROM blocks b, medsoc_block(b.data) e WHERE b.tenant_id = ?1 AND b.max_time >= ?2 AND "
                    "b.min_time < ?3 AND e.time >= ?2 AND e.time < ?3 AND (e.time < ?4 OR (e.time = ?4 AND e.id < ?5)) "
                    "AND (" + cq.where + ")";
  if (spec.one_block) sql += " AND b.id = ?" + std::to_string(next++);
  if (spec.prune && !cq.prune.empty())
    sql += " AND b.id IN (SELECT rowid FROM block_terms WHERE block_terms MATCH ?" + std::to_string(next++) + ")";
  sql += spec.extra + spec.tail;
  MEDSOC_ASSIGN_OR_RETURN(auto st, PrepareUncached(db, sql));
  MEDSOC_TRY(BindRows(*st, spec, cq, tenant, from, to, ctime, cid));
  return st;
}

// The index of the block-id parameter of a one_block statement.
int BlockParam(const CompiledQuery& cq) { return 6 + static_cast<int>(cq.params.size()); }

constexpr const char* kSelectEvent = "SELECT e.time, e.id, medsoc_doc(e.doc, e.zflags), e.raw_bytes";

StoredEvent ReadEvent(const Statement& st, const std::string& tenant) {
  StoredEvent ev;
  ev.time = {st.ColumnInt64(0)};
  ev.id = st.ColumnText(1);
  ev.tenant_id = tenant;
  std::string doc = st.ColumnText(2);
  ev.json.reserve(doc.size() + 40);
  ev.json = "{\"id\":\"" + ev.id + "\"";
  if (doc.size() > 2) {
    ev.json += ",";
    ev.json.append(doc, 1, std::string::npos);
  } else {
    ev.json += "}";
  }
  if (!st.ColumnIsNull(3)) ev.raw_bytes = st.ColumnBlob(3);
  return ev;
}

// Newest first: time, then id, both descending.
bool Newer(const StoredEvent& a, const StoredEvent& b) { return a.time.ns != b.time.ns ? a.time.ns > b.time.ns : a.id > b.id; }

}  // namespace

Result<SearchPage> SqliteEventStore::Search(const TenantScope& scope, const EventQuery& query) {
  if (query.limit < 1 || query.limit > kMaxPageSize)
    return Error(ErrorCode::kInvalidArgument, "limit must be between 1 and " + std::to_string(kMaxPageSize));
  MEDSOC_ASSIGN_OR_RETURN(Plan plan, Prepare(scope, query));
  const auto want = static_cast<std::size_t>(query.limit) + 1;
  std::vector<StoredEvent> items;  // the best `want` so far, newest first
  MEDSOC_TRY(ForEachPartition(plan, [&](Conn& conn, std::int64_t) -> Result<bool> {
    sqlite3* db = conn.db->raw();
    // The blocks that may hold a match, newest last event first. A block whose newest event is
    // older than the page's oldest (once the page is full) cannot change the page, and neither can
    // any after it.
    std::string sql = "SELECT b.id, b.max_time FROM blocks b WHERE b.tenant_id = ?1 AND b.max_time >= ?2 AND b.min_time < ?3";
    if (!plan.compiled.prune.empty()) sql += " AND b.id IN (SELECT rowid FROM block_terms WHERE block_terms MATCH ?4)";
    sql += " ORDER BY b.max_time DESC";
    MEDSOC_ASSIGN_OR_RETURN(auto blocks, PrepareUncached(db, sql));
    MEDSOC_TRY(blocks->BindAll(plan.tenant, plan.from, plan.to));
    if (!plan.compiled.prune.empty()) MEDSOC_TRY(blocks->BindText(4, plan.compiled.prune));
    std::unique_ptr<Statement> rows;
    const RowsSpec spec{kSelectEvent, "", " ORDER BY e.time DESC, e.id DESC LIMIT " + std::to_string(want), true, false};
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool more, blocks->Step());
      if (!more) break;
      const std::int64_t block = blocks->ColumnInt64(0);
      if (items.size() >= want && blocks->ColumnInt64(1) < items.back().time.ns) break;
      if (rows == nullptr) {
        MEDSOC_ASSIGN_OR_RETURN(rows, PrepareRows(db, spec, plan.compiled, plan.tenant, plan.from, plan.to,
                                                  plan.cursor_time, plan.cursor_id));
      } else {
        rows->Reset();
        MEDSOC_TRY(BindRows(*rows, spec, plan.compiled, plan.tenant, plan.from, plan.to, plan.cursor_time, plan.cursor_id));
      }
      MEDSOC_TRY(rows->BindInt64(BlockParam(plan.compiled), block));
      const std::size_t before = items.size();
      while (true) {
        MEDSOC_ASSIGN_OR_RETURN(bool row, rows->Step());
        if (!row) break;
        items.push_back(ReadEvent(*rows, plan.tenant));
      }
      if (items.size() != before) {
        std::sort(items.begin(), items.end(), Newer);
        if (items.size() > want) items.resize(want);
      }
    }
    // Partitions hold whole days of event time: an older day cannot beat a full page.
    return items.size() < want;
  }));
  SearchPage page;
  const bool more = items.size() > static_cast<std::size_t>(query.limit);
  if (more) items.resize(static_cast<std::size_t>(query.limit));
  if (more && !items.empty()) page.next_cursor = MakeCursor(items.back().time.ns, items.back().id);
  page.items = std::move(items);
  return page;
}

namespace {
// For an empty query: blocks wholly inside the window are counted from their row counts, only the
// others are decoded. kInsideWindow selects the first kind over `b`.
constexpr const char* kInsideWindow = "(b.min_time >= ?2 AND b.max_time < ?3)";
}  // namespace

Result<std::int64_t> SqliteEventStore::Count(const TenantScope& scope, const EventQuery& query) {
  MEDSOC_ASSIGN_OR_RETURN(Plan plan, Prepare(scope, query));
  const bool all = plan.compiled.where == "1" && plan.compiled.prune.empty() && plan.cursor_time == INT64_MAX;
  std::int64_t total = 0;
  MEDSOC_TRY(ForEachPartition(plan, [&](Conn& conn, std::int64_t) -> Result<bool> {
    if (all) {
      MEDSOC_ASSIGN_OR_RETURN(auto st, conn.db->Prepare(
          std::string("SELECT coalesce(sum(b.count), 0) FROM blocks b WHERE b.tenant_id = ?1 AND ") + kInsideWindow));
      MEDSOC_TRY(st->BindAll(plan.tenant, plan.from, plan.to));
      MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
      if (row) total += st->ColumnInt64(0);
    }
    MEDSOC_ASSIGN_OR_RETURN(auto st, PrepareRows(conn.db->raw(), {"SELECT count(*)", all ? std::string(" AND NOT ") + kInsideWindow : "", "", false, true},
                                                 plan.compiled, plan.tenant, plan.from, plan.to, INT64_MAX, ""));
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (row) total += st->ColumnInt64(0);
    return true;
  }));
  return total;
}

Result<std::vector<HistogramBucket>> SqliteEventStore::Histogram(const TenantScope& scope, const EventQuery& query,
                                                                 std::int64_t interval) {
  if (interval <= 0) return Error(ErrorCode::kInvalidArgument, "interval must be positive");
  MEDSOC_ASSIGN_OR_RETURN(Plan plan, Prepare(scope, query));
  std::vector<HistogramBucket> out;
  if (plan.from >= plan.to) return out;
  auto floor_div = [](std::int64_t a, std::int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); };
  const std::int64_t first = floor_div(plan.from, interval);
  const std::int64_t last = floor_div(plan.to - 1, interval);
  if (last - first + 1 > kMaxHistogramBuckets)
    return Error(ErrorCode::kInvalidArgument, "the interval is too small for the time range (more than " +
                                                  std::to_string(kMaxHistogramBuckets) + " buckets)");
  out.resize(static_cast<std::size_t>(last - first + 1));
  for (std::size_t i = 0; i < out.size(); ++i) out[i].start = {(first + static_cast<std::int64_t>(i)) * interval};
  const std::int64_t origin = first * interval;
  const std::string bucket_of = "(%s - " + std::to_string(origin) + ") / " + std::to_string(interval);
  auto bucket = [&](const char* col) {
    std::string b = bucket_of;
    b.replace(b.find("%s"), 2, col);
    return b;
  };
  auto add = [&](Statement& st) -> Status {
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return Ok();
      const std::int64_t b = st.ColumnInt64(0);
      if (b >= 0 && b < static_cast<std::int64_t>(out.size())) out[static_cast<std::size_t>(b)].count += st.ColumnInt64(1);
    }
  };
  // Empty query: a block inside the window whose events all fall in one bucket adds its row count.
  const bool all = plan.compiled.where == "1" && plan.compiled.prune.empty();
  const std::string whole = std::string("(") + kInsideWindow + " AND " + bucket("b.min_time") + " = " + bucket("b.max_time") + ")";
  MEDSOC_TRY(ForEachPartition(plan, [&](Conn& conn, std::int64_t) -> Result<bool> {
    if (all) {
      MEDSOC_ASSIGN_OR_RETURN(auto st, PrepareUncached(conn.db->raw(),
          "SELECT " + bucket("b.min_time") + ", sum(b.count) FROM blocks b WHERE b.tenant_id = ?1 AND " + whole + " GROUP BY 1"));
      MEDSOC_TRY(st->BindAll(plan.tenant, plan.from, plan.to));
      MEDSOC_TRY(add(*st));
    }
    MEDSOC_ASSIGN_OR_RETURN(auto st, PrepareRows(conn.db->raw(),
                                                 {"SELECT " + bucket("e.time") + " AS bucket, count(*)", all ? " AND NOT " + whole : "", " GROUP BY 1", false, true},
                                                 plan.compiled, plan.tenant, plan.from, plan.to, INT64_MAX, ""));
    MEDSOC_TRY(add(*st));
    return true;
  }));
  return out;
}

Result<StoredEvent> SqliteEventStore::Get(const TenantScope& scope, const std::string& id) {
  const std::int64_t ms = IdMillis(id);
  if (ms < 0) return Error(ErrorCode::kNotFound, "no event " + id);
  const std::int64_t t0 = ms * 1'000'000;
  auto conn = CheckoutReader(DayOf({t0}));
  if (!conn.ok()) {
    if (conn.error().code() == ErrorCode::kNotFound) return Error(ErrorCode::kNotFound, "no event " + id);
    return std::move(conn).error();
  }
  Result<StoredEvent> out = Error(ErrorCode::kNotFound, "no event " + id);
  {
    // The id's millisecond is the event's: only blocks whose time range covers it are decoded.
    auto st = (*conn)->db->Prepare(std::string(kSelectEvent) +
                                   " FROM blocks b, medsoc_block(b.data) e WHERE b.tenant_id = ?1 AND b.max_time >= ?2 "
                                   "AND b.min_time < ?3 AND e.time >= ?2 AND e.time < ?3 AND e.id = ?4 LIMIT 1");
    if (!st.ok()) {
      out = std::move(st).error();
    } else if (auto b = (*st)->BindAll(scope.tenant_id(), t0, t0 + 1'000'000, id); !b.ok()) {
      out = std::move(b).error();
    } else if (auto row = (*st)->Step(); !row.ok()) {
      out = std::move(row).error();
    } else if (*row) {
      out = ReadEvent(**st, scope.tenant_id());
    }
  }
  ReturnReader(std::move(*conn));
  return out;
}

Status SqliteEventStore::Export(const TenantScope& scope, const EventQuery& query,
                                const std::function<bool(const StoredEvent&)>& sink) {
  // Pages of the same search, each after the last: memory stays one page whatever the result.
  EventQuery q = query;
  q.now = q.now.ns != 0 ? q.now : core::Now();
  q.limit = 1000;
  q.cursor.clear();
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(SearchPage page, Search(scope, q));
    for (const StoredEvent& ev : page.items)
      if (!sink(ev)) return Ok();
    if (page.next_cursor.empty()) return Ok();
    q.cursor = std::move(page.next_cursor);
  }
}

// ---- Maintenance ----------------------------------------------------------------------------------

Result<std::vector<PartitionInfo>> SqliteEventStore::Partitions() {
  std::vector<PartitionInfo> out;
  for (std::int64_t day : ListDays()) {
    PartitionInfo info;
    info.day = DayName(day);
    info.bytes = FileBytes(PartitionPath(day));
    auto conn = CheckoutReader(day);
    if (conn.ok()) {
      auto st = (*conn)->db->Prepare(
          "SELECT coalesce(sum(count), 0), EXISTS(SELECT 1 FROM blocks WHERE level < 2), EXISTS(SELECT 1 FROM blocks) "
          "FROM blocks");
      if (st.ok()) {
        auto row = (*st)->Step();
        if (row.ok() && *row) {
          info.events = (*st)->ColumnInt64(0);
          info.compressed = (*st)->ColumnInt64(1) == 0 && (*st)->ColumnInt64(2) != 0;
        }
      }
      ReturnReader(std::move(*conn));
    }
    out.push_back(std::move(info));
  }
  return out;
}

Status SqliteEventStore::DropPartition(std::int64_t day) {
  {
    std::lock_guard wl(write_mu_);
    writers_.remove_if([day](const std::unique_ptr<Conn>& c) { return c->day == day; });
    compacted_.erase(day);
    std::lock_guard rl(read_mu_);
    ++epochs_[day];
    readers_.remove_if([day](const std::unique_ptr<Conn>& c) { return c->day == day; });
    const std::string path = PartitionPath(day);
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      const std::string p = path + suffix;
      if (::unlink(p.c_str()) != 0 && errno != ENOENT)
        return Error(ErrorCode::kIo, "cannot delete " + p + ": " + std::strerror(errno));
    }
  }
  return Ok();
}

namespace {
std::int64_t PartitionEvents(const std::string& path) {
  sqlite3* db = nullptr;
  std::int64_t n = 0;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    // Version 3 counts its blocks' rows; a file still in version 1 or 2 its row ids.
    for (const char* sql : {"SELECT coalesce(sum(count), 0) FROM blocks",
                            "SELECT max((SELECT coalesce(max(rowid), 0) FROM events), (SELECT coalesce(max(rowid), 0) FROM hot))",
                            "SELECT coalesce(max(rowid), 0) FROM events"}) {
      if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        break;
      }
      sqlite3_finalize(st);
      st = nullptr;
    }
  }
  sqlite3_close(db);
  return n;
}
}  // namespace

Result<MaintenanceReport> SqliteEventStore::ApplyRetention(core::Timestamp now) {
  std::lock_guard lock(maint_mu_);
  MaintenanceReport report;
  const std::int64_t cutoff = now.ns - core::Days(std::max(1, options_.retention_days));
  for (std::int64_t day : ListDays()) {
    report.bytes_before += FileBytes(PartitionPath(day));
    // The whole day [day, day + 1) must lie before the cutoff.
    if (core::Days(day + 1) > cutoff) continue;
    DroppedPartition d{DayName(day), FileBytes(PartitionPath(day)), PartitionEvents(PartitionPath(day)), "retention"};
    MEDSOC_TRY(DropPartition(day));
    report.dropped.push_back(std::move(d));
  }
  for (std::int64_t day : ListDays()) report.bytes_after += FileBytes(PartitionPath(day));
  return report;
}

Result<MaintenanceReport> SqliteEventStore::EnforceSizeLimit(core::Timestamp now) {
  std::lock_guard lock(maint_mu_);
  MaintenanceReport report;
  std::vector<std::int64_t> days = ListDays();
  std::uint64_t total = 0;
  for (std::int64_t day : days) total += FileBytes(PartitionPath(day));
  report.bytes_before = total;
  const std::int64_t today = DayOf(now);
  if (options_.max_bytes > 0) {
    for (std::int64_t day : days) {
      if (total <= options_.max_bytes) break;
      if (day >= today) {
        report.size_limit_unmet = true;
        break;
      }
      const std::uint64_t bytes = FileBytes(PartitionPath(day));
      DroppedPartition d{DayName(day), bytes, PartitionEvents(PartitionPath(day)), "size_limit"};
      MEDSOC_TRY(DropPartition(day));
      total -= std::min(total, bytes);
      report.dropped.push_back(std::move(d));
    }
  }
  report.bytes_after = total;
  return report;
}

Result<bool> SqliteEventStore::CompressPartition(std::int64_t day) {
  // A connection of our own: compression runs beside writes (SQLite's lock serializes it with a
  // late event written to this day) and beside reads (WAL).
  MEDSOC_ASSIGN_OR_RETURN(auto conn, OpenConn(day, false));
  Database& db = *conn->db;
  {
    MEDSOC_ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT EXISTS(SELECT 1 FROM blocks WHERE level < 2)"));
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row || st->ColumnInt64(0) == 0) return false;
  }
  // Each block again at a higher zstd level, a few blocks per transaction.
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db));
    std::vector<std::pair<std::int64_t, std::string>> chunk;
    {
      MEDSOC_ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT id, data FROM blocks WHERE level < 2 LIMIT ?"));
      MEDSOC_TRY(st->BindInt64(1, kCompressChunkBlocks));
      while (true) {
        MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
        if (!row) break;
        chunk.emplace_back(st->ColumnInt64(0), st->ColumnBlob(1));
      }
    }
    if (chunk.empty()) break;
    for (auto& [id, data] : chunk) {
      MEDSOC_ASSIGN_OR_RETURN(std::string packed, BlockReader::Recompress(data, kArchiveLevel));
      MEDSOC_ASSIGN_OR_RETURN(auto up, db.Prepare("UPDATE blocks SET data = ?, level = 2 WHERE id = ?"));
      MEDSOC_TRY(up->BindBlob(1, packed.size() < data.size() ? packed : data));
      MEDSOC_TRY(up->BindInt64(2, id));
      MEDSOC_TRY(up->Run());
    }
    MEDSOC_TRY(tx.Commit());
  }
  // One segment per term index (faster lookups, less space), then give the space back.
  MEDSOC_TRY(db.ExecScript("INSERT INTO block_terms (block_terms) VALUES ('optimize')"));
  MEDSOC_TRY(db.ExecScript("VACUUM"));
  MEDSOC_TRY(db.Checkpoint());
  return true;
}

// ---- Compaction -----------------------------------------------------------------------------------

namespace {

constexpr std::int64_t kCompactTxEvents = 16384;  // events merged per transaction (holds the writer)

// A block small enough to merge, with its decoded size (from the zstd frame header).
struct SmallBlock {
  std::int64_t id = 0;
  std::int64_t count = 0;
  std::uint64_t bytes = 0;
};

// Blocks of one tenant and level merged into one, and the result once encoded.
struct MergeGroup {
  std::string tenant;
  int level = 1;
  std::vector<SmallBlock> in;
  std::int64_t rows = 0;
  std::uint64_t bytes = 0;
  std::vector<std::string> old_terms;  // the FTS5 document of each input, as indexed
  std::int64_t min_time = 0, max_time = 0;
  BlockWriter::Finished done;
};

}  // namespace

Result<MaintenanceReport> SqliteEventStore::CompactBlocks(core::Timestamp /*now*/) {
  std::lock_guard lock(maint_mu_);
  MaintenanceReport report;
  for (std::int64_t day : ListDays()) {
    report.bytes_before += FileBytes(PartitionPath(day));
    if (Status st = CompactPartition(day, report); !st.ok()) {
      // Being created, or changed by another process (medsoc maintenance): the next pass retries.
      if (st.error().code() == ErrorCode::kNotFound || st.error().code() == ErrorCode::kConflict) continue;
      return st.error().WithContext("compacting events " + DayName(day));
    }
  }
  for (std::int64_t day : ListDays()) report.bytes_after += FileBytes(PartitionPath(day));
  return report;
}

Status SqliteEventStore::CompactPartition(std::int64_t day, MaintenanceReport& report) {
  const auto block_rows = static_cast<std::int64_t>(std::clamp<std::size_t>(settings_.block_rows, 1, kMaxBlockRows));
  const std::int64_t small = block_rows / 4;  // a block of fewer events is merged
  if (small < 1) return Ok();

  // 1. The newest block id and the term rules, from a pooled reader. Ids only grow (a merged block
  // is inserted before its inputs are deleted), so an unchanged newest id means no new block since
  // the last pass, which left at most one small block per tenant and level: nothing to do.
  std::int64_t newest = 0;
  std::vector<MergeGroup> groups;
  {
    MEDSOC_ASSIGN_OR_RETURN(auto conn, CheckoutReader(day));
    {
      MEDSOC_ASSIGN_OR_RETURN(auto st, conn->db->Prepare(
          "SELECT coalesce((SELECT max(id) FROM blocks), 0), (SELECT value FROM meta WHERE key = 'terms_version')"));
      MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) return Ok();
      newest = st->ColumnInt64(0);
      if (auto it = compacted_.find(day); it != compacted_.end() && it->second == newest) return Ok();
      if (st->ColumnIsNull(1) || st->ColumnInt64(1) != kBlockTermsVersion) {
        compacted_[day] = newest;  // indexed by other rules (or unknown): left alone
        return Ok();
      }
    }
    // 2. The plan: per tenant and level, the small blocks in id order, packed greedily into groups
    // of at most block_rows events (and kMaxBlockPayloadBytes decoded). Every group but the last
    // holds more than block_rows - small events, so only the last may stay small: a second pass
    // finds nothing to merge. A group of one block is left as it is.
    MEDSOC_ASSIGN_OR_RETURN(auto st, conn->db->Prepare(
        "SELECT id, tenant_id, level, count, substr(data, 1, 18) FROM blocks WHERE count < ?1 AND id <= ?2 "
        "ORDER BY tenant_id, level, id"));
    MEDSOC_TRY(st->BindAll(small, newest));
    MergeGroup cur;
    auto close = [&] {
      if (cur.in.size() >= 2) groups.push_back(std::move(cur));
      cur = MergeGroup{};
    };
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      const std::string head = st->ColumnBlob(4);
      const unsigned long long size = ZSTD_getFrameContentSize(head.data(), head.size());
      SmallBlock b{st->ColumnInt64(0), st->ColumnInt64(3),
                   size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ? kMaxBlockPayloadBytes
                                                                                      : static_cast<std::uint64_t>(size)};
      const std::string tenant = st->ColumnText(1);
      const int level = static_cast<int>(st->ColumnInt64(2));
      if (!cur.in.empty() && (tenant != cur.tenant || level != cur.level || cur.rows + b.count > block_rows ||
                              cur.bytes + b.bytes > kMaxBlockPayloadBytes))
        close();
      if (cur.in.empty()) {
        cur.tenant = tenant;
        cur.level = level;
      }
      cur.rows += b.count;
      cur.bytes += b.bytes;
      cur.in.push_back(b);
    }
    close();
    ReturnReader(std::move(conn));
  }

  // 3. A transaction per kCompactTxEvents events: encode outside the write mutex (reading with a
  // pooled reader; only this maintenance run deletes blocks), then swap the blocks under it.
  BlockReader reader;
  BlockWriter merged, alone;
  BlockRow row{};
  for (std::size_t first = 0; first < groups.size();) {
    std::size_t end = first;
    for (std::int64_t events = 0; end < groups.size() && events < kCompactTxEvents; ++end) events += groups[end].rows;
    {
      MEDSOC_ASSIGN_OR_RETURN(auto conn, CheckoutReader(day));
      for (std::size_t g = first; g < end; ++g) {
        MergeGroup& group = groups[g];
        for (const SmallBlock& b : group.in) {
          MEDSOC_ASSIGN_OR_RETURN(auto st, conn->db->Prepare("SELECT data FROM blocks WHERE id = ?"));
          MEDSOC_TRY(st->BindInt64(1, b.id));
          MEDSOC_ASSIGN_OR_RETURN(bool found, st->Step());
          if (!found) return Error(ErrorCode::kConflict, "block " + std::to_string(b.id) + " vanished during compaction");
          MEDSOC_TRY(reader.Open(st->ColumnBlob(0)));
          if (reader.tenant() != group.tenant)
            return Error(ErrorCode::kCorruption, "event block " + std::to_string(b.id) + ": tenant differs from its row");
          while (true) {
            MEDSOC_ASSIGN_OR_RETURN(bool more, reader.Next(row));
            if (!more) break;
            merged.Add(row);
            alone.Add(row);
          }
          group.old_terms.push_back(alone.FinishTerms());
        }
        group.min_time = merged.min_time();
        group.max_time = merged.max_time();
        group.rows = static_cast<std::int64_t>(merged.rows());
        MEDSOC_ASSIGN_OR_RETURN(group.done, merged.Finish(group.level >= 2 ? kArchiveLevel : settings_.zstd_level));
      }
      ReturnReader(std::move(conn));
    }
    {
      std::lock_guard wl(write_mu_);
      MEDSOC_ASSIGN_OR_RETURN(Conn * conn, Writer(day));
      Database& db = *conn->db;
      {
        MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db));
        for (std::size_t g = first; g < end; ++g) {
          MergeGroup& group = groups[g];
          // The new block first: it takes an id above every block, so ids only grow.
          MEDSOC_TRY(InsertBlock(db, group.tenant, group.min_time, group.max_time, group.rows, group.level, group.done));
          for (std::size_t k = 0; k < group.in.size(); ++k) {
            const SmallBlock& b = group.in[k];
            MEDSOC_ASSIGN_OR_RETURN(auto del, db.Prepare("DELETE FROM blocks WHERE id = ? AND count = ? AND level = ?"));
            MEDSOC_TRY(del->BindAll(b.id, b.count, group.level));
            MEDSOC_TRY(del->Run());
            if (sqlite3_changes(db.raw()) != 1)
              return Error(ErrorCode::kConflict, "block " + std::to_string(b.id) + " changed during compaction");
            MEDSOC_ASSIGN_OR_RETURN(auto fts, db.Prepare(
                "INSERT INTO block_terms (block_terms, rowid, terms) VALUES ('delete', ?, ?)"));
            MEDSOC_TRY(fts->BindInt64(1, b.id));
            MEDSOC_TRY(fts->BindText(2, group.old_terms[k]));
            MEDSOC_TRY(fts->Run());
          }
          report.blocks_merged += group.in.size();
          ++report.blocks_written;
          group.done = {};
          group.old_terms.clear();
        }
        MEDSOC_TRY(tx.Commit());
      }
      while (writers_.size() > settings_.max_writers) writers_.pop_back();
    }
    first = end;
  }
  // Readers need nothing: pooled connections see the new blocks in their next snapshot (the
  // schema and the partition's dictionary are unchanged), so epochs_ stays.
  compacted_[day] = newest;
  return Ok();
}

Result<MaintenanceReport> SqliteEventStore::CompressOld(core::Timestamp now) {
  std::lock_guard lock(maint_mu_);
  MaintenanceReport report;
  const std::int64_t cutoff = now.ns - core::Days(std::max(0, options_.compress_after_days));
  for (std::int64_t day : ListDays()) {
    report.bytes_before += FileBytes(PartitionPath(day));
    if (core::Days(day + 1) > cutoff) continue;
    auto done = CompressPartition(day);
    if (!done.ok()) {
      if (done.error().code() == ErrorCode::kNotFound) continue;
      return done.error().WithContext("compressing events " + DayName(day));
    }
    if (*done) report.compressed.push_back(DayName(day));
  }
  for (std::int64_t day : ListDays()) report.bytes_after += FileBytes(PartitionPath(day));
  return report;
}

Result<MaintenanceReport> SqliteEventStore::RunMaintenance(core::Timestamp now) {
  MEDSOC_ASSIGN_OR_RETURN(MaintenanceReport retention, ApplyRetention(now));
  MEDSOC_ASSIGN_OR_RETURN(MaintenanceReport compacted, CompactBlocks(now));  // before recompression
  MEDSOC_ASSIGN_OR_RETURN(MaintenanceReport compressed, CompressOld(now));
  MEDSOC_ASSIGN_OR_RETURN(MaintenanceReport size, EnforceSizeLimit(now));
  MaintenanceReport report;
  report.bytes_before = retention.bytes_before;
  report.bytes_after = size.bytes_after;
  report.dropped = std::move(retention.dropped);
  for (auto& d : size.dropped) report.dropped.push_back(std::move(d));
  report.compressed = std::move(compressed.compressed);
  report.size_limit_unmet = size.size_limit_unmet;
  report.blocks_merged = compacted.blocks_merged;
  report.blocks_written = compacted.blocks_written;
  return report;
}

}  // namespace medsoc::store::events
