#include "store/events/sqlite_event_store.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zdict.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "event/json.h"
#include "store/events/tokenizer.h"
#include "store/sqlite/db.h"

namespace medsoc::store::events {

using sqlite::Database;
using sqlite::Statement;
using sqlite::Transaction;

namespace {

// 1: events + indexes + FTS. 2: adds `hot`, the unindexed tail (see the header); a version 1
// partition is migrated when first opened (CREATE TABLE hot; nothing else changes).
constexpr int kSchemaVersion = 2;
constexpr std::size_t kMaxDictBytes = 64 * 1024;
constexpr int kCompressionLevel = 6;
constexpr int kCompressChunkRows = 2000;

std::string ColumnDefs() {
  std::string out;
  for (const ColumnField& c : ColumnFields()) {
    out += "  ";
    out += c.column;
    out += c.type == ColumnType::kKeyword ? " TEXT COLLATE NOCASE,\n" : c.type == ColumnType::kLong ? " INTEGER,\n" : " BLOB,\n";
  }
  return out;
}

std::string HotSchema();

std::string PartitionSchema() {
  return "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB);\n"
         "CREATE TABLE IF NOT EXISTS events (\n"
         "  tenant_id TEXT NOT NULL,\n"
         "  id TEXT NOT NULL,\n"
         "  time INTEGER NOT NULL,\n"
         "  ingest_time INTEGER NOT NULL,\n"
         "  source TEXT,\n" +
         ColumnDefs() +
         "  parse_error TEXT,\n"
         "  raw_bytes BLOB,\n"
         "  zflags INTEGER NOT NULL DEFAULT 0,\n"
         "  doc BLOB NOT NULL\n"
         ");\n"
         "CREATE INDEX IF NOT EXISTS events_time ON events(tenant_id, time);\n"
         "CREATE INDEX IF NOT EXISTS events_event_code ON events(tenant_id, event_code, time);\n"
         "CREATE INDEX IF NOT EXISTS events_host_name ON events(tenant_id, host_name, time);\n"
         "CREATE INDEX IF NOT EXISTS events_user_name ON events(tenant_id, user_name, time);\n"
         "CREATE INDEX IF NOT EXISTS events_source_ip ON events(tenant_id, source_ip, time);\n"
         "CREATE INDEX IF NOT EXISTS events_destination_ip ON events(tenant_id, destination_ip, time);\n"
         "CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5(message, raw, content='', tokenize='medsoc');\n" +
         HotSchema();
}

// The unindexed tail: rows as in `events` (same rowids), plus the texts the FTS index will get.
std::string HotSchema() {
  return "CREATE TABLE IF NOT EXISTS hot (\n"
         "  tenant_id TEXT NOT NULL,\n"
         "  id TEXT NOT NULL,\n"
         "  time INTEGER NOT NULL,\n"
         "  ingest_time INTEGER NOT NULL,\n"
         "  source TEXT,\n" +
         ColumnDefs() +
         "  parse_error TEXT,\n"
         "  raw_bytes BLOB,\n"
         "  zflags INTEGER NOT NULL DEFAULT 0,\n"
         "  doc BLOB NOT NULL,\n"
         "  fts_message TEXT,\n"
         "  fts_raw TEXT\n"
         ");\n"
         // Time order for first pages; inserted near its end (times mostly ascend), so cheap.
         "CREATE INDEX IF NOT EXISTS hot_time ON hot(tenant_id, time);\n"
         "PRAGMA user_version = 2;\n";
}

// The columns events and hot share, in schema order.
std::string SharedColumns() {
  std::string cols = "tenant_id, id, time, ingest_time, source";
  for (const ColumnField& c : ColumnFields()) {
    cols += ", ";
    cols += c.column;
  }
  return cols + ", parse_error, raw_bytes, zflags, doc";
}

std::string HotInsertSql() {
  std::string cols = "rowid, tenant_id, id, time, ingest_time, source";
  std::string vals = "?, ?, ?, ?, ?, ?";
  for (const ColumnField& c : ColumnFields()) {
    cols += ", ";
    cols += c.column;
    vals += ", ?";
  }
  cols += ", parse_error, raw_bytes, doc, fts_message, fts_raw";
  vals += ", ?, ?, ?, ?, ?";
  return "INSERT INTO hot (" + cols + ") VALUES (" + vals + ")";
}

std::string InsertSql() {
  std::string cols = "tenant_id, id, time, ingest_time, source";
  std::string vals = "?, ?, ?, ?, ?";
  for (const ColumnField& c : ColumnFields()) {
    cols += ", ";
    cols += c.column;
    vals += ", ?";
  }
  cols += ", parse_error, raw_bytes, doc";
  vals += ", ?, ?, ?";
  return "INSERT INTO events (" + cols + ") VALUES (" + vals + ")";
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

std::string MakeCursor(std::int64_t time, std::int64_t rowid) {
  return std::to_string(time) + "." + std::to_string(rowid);
}

bool ParseCursor(std::string_view c, std::int64_t& time, std::int64_t& rowid) {
  const auto dot = c.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 >= c.size()) return false;
  auto parse = [](std::string_view s, std::int64_t& out) {
    bool neg = !s.empty() && s[0] == '-';
    if (neg) s.remove_prefix(1);
    if (s.empty() || s.size() > 19) return false;
    std::int64_t v = 0;
    for (char ch : s) {
      if (ch < '0' || ch > '9') return false;
      v = v * 10 + (ch - '0');
    }
    out = neg ? -v : v;
    return true;
  };
  return parse(c.substr(0, dot), time) && parse(c.substr(dot + 1), rowid) && rowid > 0;
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
  bool has_hot = true;         // schema 2 (false: a version 1 file this process could not migrate)
  std::int64_t hot_rows = -1;  // writer only: rows in `hot`, -1 until counted
  std::chrono::steady_clock::time_point last_write{};  // writer only
  std::chrono::steady_clock::time_point deadline{};
  std::unique_ptr<Database> db;  // last: destroyed first
};

namespace {
int ProgressHandler(void* arg) {
  auto* deadline = static_cast<std::chrono::steady_clock::time_point*>(arg);
  return std::chrono::steady_clock::now() > *deadline ? 1 : 0;
}
}  // namespace

// ---- Open -----------------------------------------------------------------------------------------

SqliteEventStore::SqliteEventStore(std::string dir, const EventStoreOptions& options,
                                   const SqliteEventStoreSettings& settings)
    : dir_(std::move(dir)), options_(options), settings_(settings), rng_(std::random_device{}()) {}

SqliteEventStore::~SqliteEventStore() {
  {
    std::lock_guard lock(indexer_mu_);
    stop_ = true;
  }
  indexer_cv_.notify_all();
  if (indexer_.joinable()) indexer_.join();
  // A clean close indexes what this process wrote (a crash leaves it to the next Open).
  if (settings_.deferred_indexing && settings_.index_on_close) {
    std::lock_guard lock(write_mu_);
    for (auto& c : writers_) {
      while (c->hot_rows != 0) {
        auto moved = IndexTail(*c, static_cast<std::int64_t>(settings_.index_batch_rows));
        if (!moved.ok() || *moved == 0) break;
      }
    }
  }
}

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
  // The indexer thread starts with the first Write: a process that only searches never indexes.
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
  MEDSOC_TRY(sqlite::CheckSqlite(sqlite3_create_function_v2(raw, "medsoc_doc", 2, SQLITE_UTF8 | SQLITE_INNOCUOUS,
                                                            conn.get(), &Conn::DocFn, nullptr, nullptr, nullptr),
                                 raw, "medsoc_doc"));
  if (create) {
    MEDSOC_TRY(conn->db->ExecScript(PartitionSchema()));
    if (settings_.sync_full) MEDSOC_TRY(conn->db->SetSynchronous(sqlite::Synchronous::kFull));
  } else {
    std::int64_t version = 0;
    {
      MEDSOC_ASSIGN_OR_RETURN(auto st, conn->db->Prepare("PRAGMA user_version"));
      MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
      version = row ? st->ColumnInt64(0) : 0;
    }
    if (version < 1) return Error(ErrorCode::kNotFound, "partition " + DayName(day) + " is not initialized yet");
    if (version > kSchemaVersion)
      return Error(ErrorCode::kFailedPrecondition, "partition " + DayName(day) + " has a newer schema than this medsoc");
    if (version == 1) {
      // Migration 1 -> 2: add the (empty) tail table. Read-only files stay readable without it.
      auto migrated = conn->db->ExecScript("BEGIN IMMEDIATE;\n" + HotSchema() + "COMMIT;\n");
      if (!migrated.ok()) {
        (void)conn->db->ExecScript("ROLLBACK");
        conn->has_hot = false;
      }
    }
  }
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
  // The writer touches the table, six index b-trees and the FTS segments of the day on every batch;
  // with SQLite's default 2 MiB page cache those pages are evicted and re-read from the OS for every
  // row once a partition outgrows it (most of the write cost, measured by bench/store_events_bench).
  MEDSOC_TRY(conn->db->ExecScript("PRAGMA cache_size=-" + std::to_string(settings_.writer_cache_kib)));
  writers_.push_front(std::move(conn));
  return writers_.front().get();  // the list is trimmed after the batch (its transactions hold these)
}

// ---- Write ----------------------------------------------------------------------------------------

Status SqliteEventStore::Write(const event::Batch& batch) {
  if (batch.empty()) return Ok();
  auto& table = event::DefaultFieldTable();
  static const std::vector<event::FieldId> column_ids = [&table] {
    std::vector<event::FieldId> ids;
    for (const ColumnField& c : ColumnFields()) ids.push_back(table.Intern(c.field).value_or(event::kNoField));
    return ids;
  }();
  static const event::FieldId message_id = table.Intern("message").value_or(event::kNoField);
  static const std::string insert_sql = InsertSql();

  const core::Timestamp now = core::Now();
  const std::int64_t retention = core::Days(std::max(1, options_.retention_days));

  struct Row {
    std::int64_t day;
    std::int64_t time;
    bool clamped;
    std::size_t index;
  };
  std::vector<Row> rows;
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
    rows.push_back({DayOf(t), t.ns, clamped, i});
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.day < b.day; });

  const bool deferred = settings_.deferred_indexing;
  static const std::string hot_insert_sql = HotInsertSql();
  std::unique_lock lock(write_mu_);
  // Open a transaction on every partition first, so a failure before the commits leaves nothing.
  struct Tx {
    Conn* conn;
    std::optional<Transaction> tx;
    std::int64_t next_rowid = 0;  // deferred: the rowid of the next tail row
    std::int64_t added = 0;
  };
  std::vector<Tx> txs;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i > 0 && rows[i].day == rows[i - 1].day) continue;
    MEDSOC_ASSIGN_OR_RETURN(Conn * conn, Writer(rows[i].day));
    MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*conn->db));
    Tx t{conn, std::move(tx)};
    if (deferred) {
      // Rowids continue after both tables (read inside the write transaction: another process
      // may write this partition too).
      MEDSOC_ASSIGN_OR_RETURN(auto st, conn->db->Prepare(
          "SELECT max(coalesce((SELECT max(rowid) FROM events), 0), coalesce((SELECT max(rowid) FROM hot), 0))"));
      MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
      t.next_rowid = (row ? st->ColumnInt64(0) : 0) + 1;
      st->Reset();
      if (conn->hot_rows < 0) {
        MEDSOC_ASSIGN_OR_RETURN(auto cnt, conn->db->Prepare("SELECT count(*) FROM hot"));
        MEDSOC_ASSIGN_OR_RETURN(bool r, cnt->Step());
        conn->hot_rows = r ? cnt->ColumnInt64(0) : 0;
        cnt->Reset();
      }
    }
    txs.push_back(std::move(t));
  }
  std::string doc, scratch;
  std::size_t tx_index = 0;
  event::TextBuffer text_buf;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i > 0 && rows[i].day != rows[i - 1].day) ++tx_index;
    Tx& t = txs[tx_index];
    Database& db = *t.conn->db;
    const event::Event& e = batch[rows[i].index];
    const std::int64_t ingest = e.ingest_time().ns != 0 ? e.ingest_time().ns : now.ns;
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

    MEDSOC_ASSIGN_OR_RETURN(auto ins, db.Prepare(deferred ? hot_insert_sql : insert_sql));
    int p = 1;
    if (deferred) MEDSOC_TRY(ins->BindInt64(p++, t.next_rowid++));
    const std::string_view tenant = e.tenant_id().empty() ? kDefaultTenant : e.tenant_id();
    MEDSOC_TRY(ins->BindText(p++, tenant));
    MEDSOC_TRY(ins->BindText(p++, MakeId(rows[i].time / 1'000'000 - (rows[i].time < 0 && rows[i].time % 1'000'000 ? 1 : 0),
                                         rng_(), rng_())));
    MEDSOC_TRY(ins->BindInt64(p++, rows[i].time));
    MEDSOC_TRY(ins->BindInt64(p++, ingest));
    if (!e.source_name().empty()) MEDSOC_TRY(ins->BindText(p, e.source_name()));
    ++p;
    for (std::size_t c = 0; c < column_ids.size(); ++c, ++p) {
      const event::FieldId id = column_ids[c];
      const event::Value* v = id.valid() ? e.Find(id) : nullptr;
      if (v == nullptr || v->is_null()) continue;
      switch (ColumnFields()[c].type) {
        case ColumnType::kKeyword:
          MEDSOC_TRY(ins->BindText(p, v->AsText(text_buf)));
          break;
        case ColumnType::kLong:
          if (auto n = v->AsInt()) MEDSOC_TRY(ins->BindInt64(p, *n));
          break;
        case ColumnType::kIp:
          if (auto ip = v->AsIp())
            MEDSOC_TRY(ins->BindBlob(p, std::string_view(reinterpret_cast<const char*>(ip->bytes().data()), 16)));
          break;
      }
    }
    if (e.has_parse_error()) MEDSOC_TRY(ins->BindText(p, e.parse_error()));
    ++p;
    if (!e.raw().empty() && !ValidUtf8(e.raw(), scratch)) MEDSOC_TRY(ins->BindBlob(p, e.raw()));
    ++p;
    MEDSOC_TRY(ins->BindText(p++, doc));
    if (deferred) {
      // The FTS texts wait in the row (NULL: nothing to index) until the tail is indexed.
      if (!message.empty() || !raw.empty()) {
        MEDSOC_TRY(ins->BindText(p, message));
        MEDSOC_TRY(ins->BindText(p + 1, raw));
      }
      MEDSOC_TRY(ins->Run());
      ++t.added;
      continue;
    }
    MEDSOC_TRY(ins->Run());
    const std::int64_t rowid = sqlite3_last_insert_rowid(db.raw());
    if (!message.empty() || !raw.empty()) {
      MEDSOC_ASSIGN_OR_RETURN(auto fts, db.Prepare("INSERT INTO events_fts (rowid, message, raw) VALUES (?, ?, ?)"));
      MEDSOC_TRY(fts->BindInt64(1, rowid));
      MEDSOC_TRY(fts->BindText(2, message));
      MEDSOC_TRY(fts->BindText(3, raw));
      MEDSOC_TRY(fts->Run());
    }
  }
  for (auto& t : txs) MEDSOC_TRY(t.tx->Commit());
  bool wake = false;
  for (auto& t : txs) {
    t.conn->hot_rows += t.added;
    t.conn->last_write = std::chrono::steady_clock::now();
    // Backpressure: the tail never grows past max_tail_rows, even when the indexer falls behind.
    // The batch is committed: a failure here only leaves the tail for the indexer (never an error
    // to the caller, whose retry would store the batch twice).
    if (deferred && t.conn->hot_rows > static_cast<std::int64_t>(settings_.max_tail_rows)) {
      if (!IndexTail(*t.conn, t.conn->hot_rows).ok()) indexer_errors_.fetch_add(1, std::memory_order_relaxed);
    }
    wake |= t.conn->hot_rows >= static_cast<std::int64_t>(settings_.index_batch_rows);
  }
  txs.clear();
  while (writers_.size() > settings_.max_writers) writers_.pop_back();
  lock.unlock();
  if (deferred) {
    {
      std::lock_guard il(indexer_mu_);
      pending_ = true;
      if (settings_.background_indexer && !indexer_.joinable() && !stop_)
        indexer_ = std::thread([this] { IndexerLoop(); });
    }
    if (wake) indexer_cv_.notify_one();
  }
  return Ok();
}

// ---- Deferred indexing -----------------------------------------------------------------------------

Result<std::int64_t> SqliteEventStore::IndexTail(Conn& conn, std::int64_t max_rows) {
  static const std::string copy_sql = "INSERT INTO events (rowid, " + SharedColumns() + ") SELECT rowid, " +
                                      SharedColumns() + " FROM hot WHERE rowid <= ?1 ORDER BY rowid";
  Database& db = *conn.db;
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db));
  // The oldest max_rows rows, [.., upto]; the whole tail when it is at most twice that, so that the
  // tail is emptied by DELETE without WHERE (SQLite drops its pages at once, no per-row work).
  std::int64_t upto = 0;
  bool all = false;
  {
    MEDSOC_ASSIGN_OR_RETURN(auto st, db.Prepare(
        "SELECT (SELECT rowid FROM hot ORDER BY rowid LIMIT 1 OFFSET ?1), (SELECT max(rowid) FROM hot)"));
    MEDSOC_TRY(st->BindInt64(1, 2 * std::max<std::int64_t>(1, max_rows) - 1));
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (row && !st->ColumnIsNull(1)) {
      all = st->ColumnIsNull(0);  // at most 2 * max_rows rows
      upto = st->ColumnInt64(1);
    }
    st->Reset();
  }
  if (upto != 0 && !all) {
    MEDSOC_ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT rowid FROM hot ORDER BY rowid LIMIT 1 OFFSET ?1"));
    MEDSOC_TRY(st->BindInt64(1, std::max<std::int64_t>(1, max_rows) - 1));
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (row) upto = st->ColumnInt64(0);
    st->Reset();
  }
  if (upto == 0) {
    conn.hot_rows = 0;
    MEDSOC_TRY(tx.Commit());
    return 0;
  }
  MEDSOC_ASSIGN_OR_RETURN(auto copy, db.Prepare(copy_sql));
  MEDSOC_TRY(copy->BindInt64(1, upto));
  MEDSOC_TRY(copy->Run());
  const std::int64_t moved = sqlite3_changes64(db.raw());
  MEDSOC_ASSIGN_OR_RETURN(auto fts, db.Prepare(
      "INSERT INTO events_fts (rowid, message, raw) SELECT rowid, fts_message, fts_raw FROM hot "
      "WHERE rowid <= ?1 AND (fts_message IS NOT NULL OR fts_raw IS NOT NULL) ORDER BY rowid"));
  MEDSOC_TRY(fts->BindInt64(1, upto));
  MEDSOC_TRY(fts->Run());
  if (all) {
    MEDSOC_TRY(db.ExecScript("DELETE FROM hot"));
  } else {
    MEDSOC_ASSIGN_OR_RETURN(auto del, db.Prepare("DELETE FROM hot WHERE rowid <= ?1"));
    MEDSOC_TRY(del->BindInt64(1, upto));
    MEDSOC_TRY(del->Run());
  }
  MEDSOC_TRY(tx.Commit());
  // Recounted: another process (`medsoc ingest`) may add to the same tail.
  MEDSOC_ASSIGN_OR_RETURN(auto cnt, db.Prepare("SELECT count(*) FROM hot"));
  MEDSOC_ASSIGN_OR_RETURN(bool r, cnt->Step());
  conn.hot_rows = r ? cnt->ColumnInt64(0) : 0;
  cnt->Reset();
  return moved;
}

Status SqliteEventStore::IndexPending(bool all) {
  std::lock_guard lock(write_mu_);
  const auto now = std::chrono::steady_clock::now();
  const auto idle = std::chrono::milliseconds(settings_.index_idle_ms);
  for (auto& c : writers_) {
    if (c->hot_rows <= 0) continue;
    if (!all && c->hot_rows < static_cast<std::int64_t>(settings_.index_batch_rows) && now - c->last_write < idle)
      continue;
    MEDSOC_TRY(IndexTail(*c, static_cast<std::int64_t>(settings_.index_batch_rows)));
  }
  return Ok();
}

Status SqliteEventStore::IndexLeftovers() {
  // Partitions whose tail a previous process left (a crash or a kill before indexing): newest first.
  std::vector<std::int64_t> days = ListDays();
  for (auto it = days.rbegin(); it != days.rend(); ++it) {
    {
      std::lock_guard il(indexer_mu_);
      if (stop_) return Ok();
    }
    bool has_rows = false;
    {
      auto conn = CheckoutReader(*it);
      if (!conn.ok()) continue;
      if ((*conn)->has_hot) {
        auto st = (*conn)->db->Prepare("SELECT EXISTS(SELECT 1 FROM hot)");
        if (st.ok()) {
          auto row = (*st)->Step();
          has_rows = row.ok() && *row && (*st)->ColumnInt64(0) != 0;
          (void)(*st)->Reset();
        }
      }
      ReturnReader(std::move(*conn));
    }
    while (has_rows) {
      std::lock_guard lock(write_mu_);
      // Dropped by retention meanwhile: Writer would create it again.
      if (::access(PartitionPath(*it).c_str(), F_OK) != 0) break;
      MEDSOC_ASSIGN_OR_RETURN(Conn * conn, Writer(*it));
      MEDSOC_ASSIGN_OR_RETURN(auto cnt, conn->db->Prepare("SELECT count(*) FROM hot"));
      MEDSOC_ASSIGN_OR_RETURN(bool r, cnt->Step());
      conn->hot_rows = r ? cnt->ColumnInt64(0) : 0;
      cnt->Reset();
      if (conn->hot_rows > 0) MEDSOC_TRY(IndexTail(*conn, static_cast<std::int64_t>(settings_.index_batch_rows)));
      has_rows = conn->hot_rows > 0;
      while (writers_.size() > settings_.max_writers) writers_.pop_back();
    }
  }
  return Ok();
}

void SqliteEventStore::IndexerLoop() {
  if (Status st = IndexLeftovers(); !st.ok()) indexer_errors_.fetch_add(1, std::memory_order_relaxed);
  std::unique_lock lock(indexer_mu_);
  while (!stop_) {
    indexer_cv_.wait_for(lock, std::chrono::milliseconds(std::max(10, settings_.index_idle_ms)));
    if (stop_) break;
    if (!pending_) continue;
    pending_ = false;
    lock.unlock();
    // Index full batches now; a smaller tail once writes have paused for index_idle_ms. Writes
    // in between keep `pending_` set, so the loop comes back for what is left.
    Status st = IndexPending(false);
    bool left = false;
    {
      std::lock_guard wl(write_mu_);
      for (auto& c : writers_) left |= c->hot_rows > 0;
    }
    lock.lock();
    if (!st.ok()) indexer_errors_.fetch_add(1, std::memory_order_relaxed);
    if (left) pending_ = true;
  }
}

Status SqliteEventStore::FlushIndex() {
  MEDSOC_TRY(IndexLeftovers());
  std::lock_guard lock(write_mu_);
  for (auto& c : writers_) {
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(std::int64_t moved, IndexTail(*c, static_cast<std::int64_t>(settings_.index_batch_rows)));
      if (moved == 0) break;
    }
  }
  return Ok();
}

// ---- Queries --------------------------------------------------------------------------------------

struct SqliteEventStore::Plan {
  CompiledQuery compiled;
  std::string tenant;
  std::int64_t from = 0;  // inclusive
  std::int64_t to = 0;    // exclusive
  std::int64_t cursor_time = INT64_MAX;
  std::int64_t cursor_rowid = INT64_MAX;
};

Result<SqliteEventStore::Plan> SqliteEventStore::Prepare(const TenantScope& scope, const EventQuery& q) const {
  const core::Timestamp now = q.now.ns != 0 ? q.now : core::Now();
  MEDSOC_ASSIGN_OR_RETURN(Query parsed, ParseQuery(q.query));
  Plan plan;
  MEDSOC_ASSIGN_OR_RETURN(plan.compiled, CompileQuery(parsed, now));
  plan.tenant = scope.tenant_id();
  plan.to = q.to.ns != 0 ? q.to.ns : now.ns + core::Days(1);
  plan.from = q.from.ns != 0 ? q.from.ns : (q.to.ns != 0 ? q.to.ns : now.ns) - core::Days(1);
  plan.from = std::max(plan.from, plan.compiled.time_lo);
  plan.to = std::min(plan.to, plan.compiled.time_hi);
  if (!q.cursor.empty()) {
    if (!ParseCursor(q.cursor, plan.cursor_time, plan.cursor_rowid))
      return Error(ErrorCode::kInvalidArgument, "invalid cursor");
    plan.to = std::min(plan.to, plan.cursor_time + 1);
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
    Result<bool> more = fn(**conn, *it);
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

// How a query's statement combines the two tables of a partition: `outer_pre` + the events arm +
// `arm_tail` [+ UNION ALL + the hot arm + `arm_tail`] + `outer_post`. Each arm is `select` FROM
// its table WHERE the fixed conditions AND the query's condition.
struct Shape {
  std::string select;
  std::string arm_tail;
  std::string outer_pre;
  std::string outer_post;
};

// Whether this partition's query should start from the FTS index: the query has a full-text term
// every match must satisfy and the index holds at most `max_rows` rows for it (then fetching those
// rows and sorting them beats walking the time index with an FTS probe per row, which finds a
// first page sooner only when matches are common). Negative max_rows: never.
Result<bool> FtsDriven(sqlite3* db, const CompiledQuery& cq, int max_rows) {
  if (cq.fts_driver < 0 || max_rows < 0) return false;
  const std::string sql = "SELECT count(*) FROM (SELECT rowid FROM events_fts WHERE events_fts MATCH ?1 LIMIT " +
                          std::to_string(max_rows + 1) + ")";
  sqlite3_stmt* raw = nullptr;
  MEDSOC_TRY(sqlite::CheckSqlite(sqlite3_prepare_v3(db, sql.c_str(), static_cast<int>(sql.size()), 0, &raw, nullptr),
                                 db, sql));
  Statement st(db, raw, sql);
  MEDSOC_TRY(st.BindText(1, cq.params[static_cast<std::size_t>(cq.fts_driver)].s));
  MEDSOC_ASSIGN_OR_RETURN(bool row, st.Step());
  return row && st.ColumnInt64(0) <= max_rows;
}

// Prepares an uncached statement (search SQL varies per query) and binds the fixed parameters
// ?1 tenant, ?2 from, ?3 to, ?4 cursor time, ?5 cursor rowid, then the query's parameters (once
// per arm).
Result<std::unique_ptr<Statement>> PrepareQuery(sqlite3* db, bool has_hot, const Shape& shape, const CompiledQuery& cq,
                                                const std::string& tenant, std::int64_t from, std::int64_t to,
                                                std::int64_t ctime, std::int64_t crow, int fts_drive_max_rows) {
  MEDSOC_ASSIGN_OR_RETURN(bool fts_driven, FtsDriven(db, cq, fts_drive_max_rows));
  auto arm = [&](const char* table, const std::string& where, bool drive_fts) {
    // '+' keeps the planner off the time index, so it starts from the FTS rowids instead.
    const char* p = drive_fts ? "+" : "";
    return shape.select + " FROM " + table + " e WHERE " + p + "e.tenant_id = ?1 AND " + p + "e.time >= ?2 AND " + p +
           "e.time < ?3 AND (e.time < ?4 OR e.rowid < ?5) AND (" + where + ")" + shape.arm_tail;
  };
  std::string sql = shape.outer_pre + arm("events", cq.where, fts_driven);
  if (has_hot) sql += " UNION ALL " + arm("hot", cq.where_tail, false);
  sql += shape.outer_post;
  sqlite3_stmt* raw = nullptr;
  MEDSOC_TRY(sqlite::CheckSqlite(sqlite3_prepare_v3(db, sql.c_str(), static_cast<int>(sql.size()), 0, &raw, nullptr),
                                 db, sql));
  auto st = std::make_unique<Statement>(db, raw, sql);
  MEDSOC_TRY(st->BindAll(tenant, from, to, ctime, crow));
  const int arms = has_hot ? 2 : 1;
  const int n = static_cast<int>(cq.params.size());
  for (int a = 0; a < arms; ++a)
    for (int i = 0; i < n; ++i) MEDSOC_TRY(BindParam(*st, 6 + a * n + i, cq.params[static_cast<std::size_t>(i)]));
  return st;
}

constexpr const char* kSelectEvent = "SELECT e.rowid, e.id, e.time, medsoc_doc(e.doc, e.zflags), e.raw_bytes";

StoredEvent ReadEvent(const Statement& st, const std::string& tenant) {
  StoredEvent ev;
  ev.id = st.ColumnText(1);
  ev.time = {st.ColumnInt64(2)};
  ev.tenant_id = tenant;
  std::string doc = st.ColumnText(3);
  ev.json.reserve(doc.size() + 40);
  ev.json = "{\"id\":\"" + ev.id + "\"";
  if (doc.size() > 2) {
    ev.json += ",";
    ev.json.append(doc, 1, std::string::npos);
  } else {
    ev.json += "}";
  }
  if (!st.ColumnIsNull(4)) ev.raw_bytes = st.ColumnBlob(4);
  return ev;
}

}  // namespace

Result<SearchPage> SqliteEventStore::Search(const TenantScope& scope, const EventQuery& query) {
  if (query.limit < 1 || query.limit > kMaxPageSize)
    return Error(ErrorCode::kInvalidArgument, "limit must be between 1 and " + std::to_string(kMaxPageSize));
  MEDSOC_ASSIGN_OR_RETURN(Plan plan, Prepare(scope, query));
  SearchPage page;
  std::int64_t last_time = 0, last_rowid = 0;
  bool more = false;
  MEDSOC_TRY(ForEachPartition(plan, [&](Conn& conn, std::int64_t day) -> Result<bool> {
    const bool cursor_day = plan.cursor_time != INT64_MAX && DayOf({plan.cursor_time}) == day;
    const std::int64_t want = query.limit + 1 - static_cast<std::int64_t>(page.items.size());
    MEDSOC_ASSIGN_OR_RETURN(
        auto st, PrepareQuery(conn.db->raw(), conn.has_hot, {kSelectEvent, "", "", " ORDER BY 3 DESC, 1 DESC LIMIT " + std::to_string(want)},
                              plan.compiled, plan.tenant, plan.from, plan.to,
                              cursor_day ? plan.cursor_time : INT64_MAX, cursor_day ? plan.cursor_rowid : INT64_MAX,
                              settings_.fts_drive_max_rows));
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      if (static_cast<int>(page.items.size()) == query.limit) {
        more = true;
        return false;
      }
      last_time = st->ColumnInt64(2);
      last_rowid = st->ColumnInt64(0);
      page.items.push_back(ReadEvent(*st, plan.tenant));
    }
    return true;
  }));
  if (more) page.next_cursor = MakeCursor(last_time, last_rowid);
  return page;
}

Result<std::int64_t> SqliteEventStore::Count(const TenantScope& scope, const EventQuery& query) {
  MEDSOC_ASSIGN_OR_RETURN(Plan plan, Prepare(scope, query));
  std::int64_t total = 0;
  MEDSOC_TRY(ForEachPartition(plan, [&](Conn& conn, std::int64_t) -> Result<bool> {
    MEDSOC_ASSIGN_OR_RETURN(auto st, PrepareQuery(conn.db->raw(), conn.has_hot,
                                                  {"SELECT count(*) AS c", "", "SELECT coalesce(sum(c), 0) FROM (", ")"},
                                                  plan.compiled, plan.tenant, plan.from, plan.to, INT64_MAX, INT64_MAX,
                                                  settings_.fts_drive_max_rows));
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
  MEDSOC_TRY(ForEachPartition(plan, [&](Conn& conn, std::int64_t) -> Result<bool> {
    // The bucket arithmetic uses two more parameters after the query's own.
    const std::string select =
        "SELECT (e.time - " + std::to_string(origin) + ") / " + std::to_string(interval) + " AS b, count(*) AS c";
    MEDSOC_ASSIGN_OR_RETURN(auto st, PrepareQuery(conn.db->raw(), conn.has_hot,
                                                  {select, " GROUP BY 1", "SELECT b, sum(c) FROM (", ") GROUP BY 1"},
                                                  plan.compiled, plan.tenant, plan.from, plan.to, INT64_MAX, INT64_MAX,
                                                  settings_.fts_drive_max_rows));
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      const std::int64_t b = st->ColumnInt64(0);
      if (b >= 0 && b < static_cast<std::int64_t>(out.size())) out[static_cast<std::size_t>(b)].count += st->ColumnInt64(1);
    }
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
    const std::string cond = " e WHERE e.tenant_id = ?1 AND e.time >= ?2 AND e.time < ?3 AND e.id = ?4";
    auto st = (*conn)->db->Prepare(std::string(kSelectEvent) + " FROM events" + cond +
                                   ((*conn)->has_hot ? std::string(" UNION ALL ") + kSelectEvent + " FROM hot" + cond : ""));
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
  MEDSOC_ASSIGN_OR_RETURN(Plan plan, Prepare(scope, query));
  return ForEachPartition(plan, [&](Conn& conn, std::int64_t) -> Result<bool> {
    MEDSOC_ASSIGN_OR_RETURN(auto st, PrepareQuery(conn.db->raw(), conn.has_hot, {kSelectEvent, "", "", " ORDER BY 3 DESC, 1 DESC"},
                                                  plan.compiled, plan.tenant, plan.from, plan.to, INT64_MAX, INT64_MAX,
                                                  settings_.fts_drive_max_rows));
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) return true;
      if (!sink(ReadEvent(*st, plan.tenant))) return false;
    }
  });
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
          (*conn)->has_hot
              ? "SELECT max((SELECT coalesce(max(rowid), 0) FROM events), (SELECT coalesce(max(rowid), 0) FROM hot)), "
                "EXISTS(SELECT 1 FROM events WHERE zflags = 0) OR EXISTS(SELECT 1 FROM hot), EXISTS(SELECT 1 FROM events)"
              : "SELECT (SELECT coalesce(max(rowid), 0) FROM events), "
                "EXISTS(SELECT 1 FROM events WHERE zflags = 0), EXISTS(SELECT 1 FROM events)");
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
    // Rowids continue across events and the tail (version 2); version 1 has events only.
    if ((sqlite3_prepare_v2(db,
                            "SELECT max((SELECT coalesce(max(rowid), 0) FROM events), "
                            "(SELECT coalesce(max(rowid), 0) FROM hot))",
                            -1, &st, nullptr) == SQLITE_OK ||
         (sqlite3_finalize(st), st = nullptr,
          sqlite3_prepare_v2(db, "SELECT coalesce(max(rowid), 0) FROM events", -1, &st, nullptr) == SQLITE_OK)) &&
        sqlite3_step(st) == SQLITE_ROW)
      n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
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
  if (conn->has_hot) {
    // Late events still in the tail: index them first, so that every row gets compressed.
    bool tail = false;
    {
      MEDSOC_ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT EXISTS(SELECT 1 FROM hot)"));
      MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
      tail = row && st->ColumnInt64(0) != 0;
    }
    if (tail) {
      std::lock_guard lock(write_mu_);
      MEDSOC_ASSIGN_OR_RETURN(Conn * writer, Writer(day));
      while (true) {
        MEDSOC_ASSIGN_OR_RETURN(std::int64_t moved, IndexTail(*writer, static_cast<std::int64_t>(settings_.index_batch_rows)));
        if (moved == 0) break;
      }
    }
  }
  {
    MEDSOC_ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT EXISTS(SELECT 1 FROM events WHERE zflags = 0)"));
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row || st->ColumnInt64(0) == 0) return false;
  }
  // The dictionary: trained once per partition on a sample of its events.
  std::string dict;
  {
    MEDSOC_ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT value FROM meta WHERE key = 'zstd_dict'"));
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (row) dict = st->ColumnBlob(0);
  }
  if (dict.empty()) {
    std::string samples;
    std::vector<std::size_t> sizes;
    {
      MEDSOC_ASSIGN_OR_RETURN(auto st, db.Prepare(
          "SELECT doc FROM events WHERE zflags = 0 AND rowid % (1 + (SELECT max(rowid) FROM events) / 4000) = 0 LIMIT 4000"));
      while (true) {
        MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
        if (!row) break;
        std::string doc = st->ColumnText(0);
        samples += doc;
        sizes.push_back(doc.size());
      }
    }
    std::string buf(kMaxDictBytes, '\0');
    std::size_t n = sizes.size() >= 16 ? ZDICT_trainFromBuffer(buf.data(), buf.size(), samples.data(), sizes.data(),
                                                               static_cast<unsigned>(sizes.size()))
                                       : 0;
    if (sizes.size() >= 16 && !ZDICT_isError(n)) {
      buf.resize(n);
      dict = std::move(buf);
      MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db));
      MEDSOC_ASSIGN_OR_RETURN(auto st, db.Prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('zstd_dict', ?)"));
      MEDSOC_TRY(st->BindBlob(1, dict));
      MEDSOC_TRY(st->Run());
      MEDSOC_TRY(tx.Commit());
    }
    // Too few events for a dictionary: plain zstd (zflags 1 with no dictionary row).
  }
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CDict* cdict = dict.empty() ? nullptr : ZSTD_createCDict(dict.data(), dict.size(), kCompressionLevel);
  struct Free {
    ZSTD_CCtx* c;
    ZSTD_CDict* d;
    ~Free() {
      ZSTD_freeCDict(d);
      ZSTD_freeCCtx(c);
    }
  } free_guard{cctx, cdict};
  std::string out;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db));
    std::vector<std::pair<std::int64_t, std::string>> chunk;
    {
      MEDSOC_ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT rowid, doc FROM events WHERE zflags = 0 LIMIT ?"));
      MEDSOC_TRY(st->BindInt64(1, kCompressChunkRows));
      while (true) {
        MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
        if (!row) break;
        chunk.emplace_back(st->ColumnInt64(0), st->ColumnText(1));
      }
    }
    if (chunk.empty()) break;
    for (auto& [rowid, doc] : chunk) {
      out.resize(ZSTD_compressBound(doc.size()));
      const std::size_t n = cdict != nullptr
                                ? ZSTD_compress_usingCDict(cctx, out.data(), out.size(), doc.data(), doc.size(), cdict)
                                : ZSTD_compressCCtx(cctx, out.data(), out.size(), doc.data(), doc.size(), kCompressionLevel);
      if (ZSTD_isError(n)) return Error(ErrorCode::kInternal, std::string("zstd: ") + ZSTD_getErrorName(n));
      MEDSOC_ASSIGN_OR_RETURN(auto up, db.Prepare("UPDATE events SET doc = ?, zflags = zflags | 1 WHERE rowid = ?"));
      MEDSOC_TRY(up->BindBlob(1, std::string_view(out.data(), n)));
      MEDSOC_TRY(up->BindInt64(2, rowid));
      MEDSOC_TRY(up->Run());
    }
    MEDSOC_TRY(tx.Commit());
  }
  // Give the space back: rows shrank in place.
  MEDSOC_TRY(db.ExecScript("VACUUM"));
  MEDSOC_TRY(db.Checkpoint());
  return true;
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
  MEDSOC_ASSIGN_OR_RETURN(MaintenanceReport compressed, CompressOld(now));
  MEDSOC_ASSIGN_OR_RETURN(MaintenanceReport size, EnforceSizeLimit(now));
  MaintenanceReport report;
  report.bytes_before = retention.bytes_before;
  report.bytes_after = size.bytes_after;
  report.dropped = std::move(retention.dropped);
  for (auto& d : size.dropped) report.dropped.push_back(std::move(d));
  report.compressed = std::move(compressed.compressed);
  report.size_limit_unmet = size.size_limit_unmet;
  return report;
}

}  // namespace medsoc::store::events
