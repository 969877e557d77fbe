#include "store/sqlite/db.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace medsoc::store::sqlite {
namespace {

ErrorCode MapCode(int rc) {
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return ErrorCode::kAlreadyExists;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return ErrorCode::kNotFound;
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
    case SQLITE_CONSTRAINT_DATATYPE:
      return ErrorCode::kInvalidArgument;
    default:
      break;
  }
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return ErrorCode::kFailedPrecondition;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return ErrorCode::kUnavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return ErrorCode::kCorruption;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return ErrorCode::kIo;
    default:
      return ErrorCode::kInternal;
  }
}

Error IoError(std::string_view what, const std::string& path, int err) {
  return Error(ErrorCode::kIo, std::string(what) + " " + path + ": " + std::strerror(err));
}

// Creates the missing directories leading to `dir`, each 0700 (existing ones are left alone: the
// data directory may live under a directory the operator manages).
Status EnsureDataDirectory(const std::filesystem::path& dir) {
  if (dir.empty()) return Ok();
  std::vector<std::filesystem::path> missing;
  std::error_code ec;
  for (auto p = dir; !p.empty() && !std::filesystem::exists(p, ec); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST) return IoError("cannot create directory", *it, errno);
  }
  return Ok();
}

// Creates the database file 0600 before SQLite does (SQLite would use 0644 & ~umask), and tightens
// an existing file. A symlink planted in place of the database is refused.
//
// An existing file is never opened here: closing any descriptor of a file drops every POSIX lock
// this process holds on it, including the locks of SQLite connections already open on it (the
// triage, notification and asset services each open their own connection to the state database).
// Without those locks another process (the CLI) would think it was alone, checkpoint and delete the
// WAL under the server's feet, and the server's later commits would go to an unlinked file.
Status SecureDatabaseFile(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode)) return IoError("refusing a symlink as database file", path, ELOOP);
    if ((st.st_mode & 0777) != 0600 && ::chmod(path.c_str(), 0600) != 0)
      return IoError("cannot chmod 0600", path, errno);
    return Ok();
  }
  if (errno != ENOENT) return IoError("cannot stat database file", path, errno);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 && errno == EEXIST) return SecureDatabaseFile(path);  // created meanwhile by another process
  if (fd < 0) return IoError("cannot create database file", path, errno);
  ::close(fd);  // a new file: no connection of this process can hold locks on it yet
  return Ok();
}

// SQLite creates -wal and -shm with the database file's mode; this also fixes files left by an
// older version or copied in by hand.
Status SecureSideFiles(const std::string& path) {
  for (const char* suffix : {"-wal", "-shm"}) {
    std::string side = path + suffix;
    if (::chmod(side.c_str(), 0600) != 0 && errno != ENOENT) return IoError("cannot chmod 0600", side, errno);
  }
  return Ok();
}

}  // namespace

Status CheckSqlite(int rc, sqlite3* db, std::string_view sql) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return Ok();
  std::string message = "sqlite: ";
  const char* errmsg = db != nullptr ? sqlite3_errmsg(db) : nullptr;
  message += errmsg != nullptr ? errmsg : sqlite3_errstr(rc);
  message += " [";
  message += sqlite3_errstr(rc);
  message += ", code " + std::to_string(rc) + "]";
  if (!sql.empty()) {
    constexpr std::size_t kMaxSql = 80;
    message += " in `";
    message += sql.substr(0, kMaxSql);
    if (sql.size() > kMaxSql) message += "...";
    message += "`";
  }
  return Error(MapCode(rc), std::move(message));
}

// --- Statement ---

Statement::Statement(sqlite3* db, sqlite3_stmt* stmt, std::string sql)
    : db_(db), stmt_(stmt), sql_(std::move(sql)) {}

Statement::~Statement() { sqlite3_finalize(stmt_); }  // its rc repeats the last step's; nothing to do

Result<int> Statement::Index(Param p) const {
  if (p.name == nullptr) return p.index;
  int index = sqlite3_bind_parameter_index(stmt_, p.name);
  if (index == 0) {
    return Error(ErrorCode::kInternal, std::string("sqlite: no parameter ") + p.name + " in `" + sql_.substr(0, 80) + "`");
  }
  return index;
}

Status Statement::BindText(Param p, std::string_view value) {
  MEDSOC_ASSIGN_OR_RETURN(int i, Index(p));
  // SQLITE_TRANSIENT: SQLite copies, so callers may pass temporaries.
  return CheckSqlite(sqlite3_bind_text64(stmt_, i, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8), db_,
                     sql_);
}

Status Statement::BindBlob(Param p, std::string_view bytes) {
  MEDSOC_ASSIGN_OR_RETURN(int i, Index(p));
  return CheckSqlite(sqlite3_bind_blob64(stmt_, i, bytes.data(), bytes.size(), SQLITE_TRANSIENT), db_, sql_);
}

Status Statement::BindInt64(Param p, std::int64_t value) {
  MEDSOC_ASSIGN_OR_RETURN(int i, Index(p));
  return CheckSqlite(sqlite3_bind_int64(stmt_, i, value), db_, sql_);
}

Status Statement::BindDouble(Param p, double value) {
  MEDSOC_ASSIGN_OR_RETURN(int i, Index(p));
  return CheckSqlite(sqlite3_bind_double(stmt_, i, value), db_, sql_);
}

Status Statement::BindNull(Param p) {
  MEDSOC_ASSIGN_OR_RETURN(int i, Index(p));
  return CheckSqlite(sqlite3_bind_null(stmt_, i), db_, sql_);
}

Result<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  MEDSOC_TRY(CheckSqlite(rc, db_, sql_));
  return Error(ErrorCode::kInternal, "sqlite: unexpected step result " + std::to_string(rc));
}

Status Statement::Run() {
  for (;;) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Ok();
  }
}

int Statement::ColumnCount() const { return sqlite3_column_count(stmt_); }

bool Statement::ColumnIsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

std::int64_t Statement::ColumnInt64(int col) const { return sqlite3_column_int64(stmt_, col); }

double Statement::ColumnDouble(int col) const { return sqlite3_column_double(stmt_, col); }

std::string Statement::ColumnText(int col) const {
  const auto* text = sqlite3_column_text(stmt_, col);  // before _bytes, as SQLite requires
  int n = sqlite3_column_bytes(stmt_, col);
  return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(n));
}

std::string Statement::ColumnBlob(int col) const {
  const void* blob = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return blob == nullptr ? std::string() : std::string(static_cast<const char*>(blob), static_cast<std::size_t>(n));
}

void Statement::Reset() {
  // sqlite3_reset repeats the error of the last step, which was already reported through Step().
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

// --- Database ---

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, const ConnectionOptions& options) {
  MEDSOC_ASSERT(!path.empty());
  const bool in_memory = path == ":memory:";
  if (!in_memory) {
    MEDSOC_TRY(EnsureDataDirectory(std::filesystem::path(path).parent_path()));
    MEDSOC_TRY(SecureDatabaseFile(path));
  }

  sqlite3* raw = nullptr;
  // NOMUTEX: the owner serializes all use of the connection (see the header).
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status status = CheckSqlite(rc, raw, "open " + path);
    sqlite3_close_v2(raw);  // a handle is returned even on failure
    return std::move(status).error();
  }
  std::unique_ptr<Database> db(new Database(raw, path));

  MEDSOC_TRY(CheckSqlite(sqlite3_extended_result_codes(raw, 1), raw, "extended_result_codes"));
  MEDSOC_TRY(CheckSqlite(sqlite3_busy_timeout(raw, options.busy_timeout_ms), raw, "busy_timeout"));
  // Defensive mode: SQL cannot corrupt the file (writable_schema, raw page writes).
  MEDSOC_TRY(CheckSqlite(sqlite3_db_config(raw, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr), raw, "DBCONFIG_DEFENSIVE"));
  // Schema-embedded SQL (triggers, views) may only call functions marked innocuous.
  MEDSOC_TRY(CheckSqlite(sqlite3_db_config(raw, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr), raw,
                         "DBCONFIG_TRUSTED_SCHEMA"));

  if (!in_memory) {
    // journal_mode answers with the mode in effect; anything but "wal" means WAL is unavailable
    // (e.g. a network file system), which we refuse rather than silently running without it.
    MEDSOC_ASSIGN_OR_RETURN(auto stmt, db->Prepare("PRAGMA journal_mode=WAL"));
    MEDSOC_ASSIGN_OR_RETURN(bool row, stmt->Step());
    std::string mode = row ? stmt->ColumnText(0) : "";
    if (mode != "wal") {
      return Error(ErrorCode::kFailedPrecondition, "sqlite: cannot enable WAL on " + path + " (mode is '" + mode + "')");
    }
  }
  MEDSOC_TRY(db->ExecScript("PRAGMA foreign_keys=ON"));
  MEDSOC_TRY(db->SetSynchronous(options.synchronous));
  // Reading the schema creates -wal and -shm; make sure they are private whatever created them.
  MEDSOC_TRY(db->ExecScript("SELECT count(*) FROM sqlite_schema"));
  if (!in_memory) MEDSOC_TRY(SecureSideFiles(path));
  return db;
}

Database::~Database() {
  cache_.clear();  // finalize every statement before closing, or close would fail with BUSY
  sqlite3_close_v2(db_);
}

Result<StatementRef> Database::Prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    MEDSOC_TRY(CheckSqlite(
        sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, &tail),
        db_, sql));
    if (stmt == nullptr) return Error(ErrorCode::kInternal, "sqlite: empty statement `" + std::string(sql) + "`");
    if (tail != nullptr && std::string_view(tail).find_first_not_of(" \t\r\n;") != std::string_view::npos) {
      sqlite3_finalize(stmt);
      return Error(ErrorCode::kInternal, "sqlite: more than one statement in `" + std::string(sql.substr(0, 80)) + "`");
    }
    it = cache_.emplace(std::string(sql), std::make_unique<Statement>(db_, stmt, std::string(sql))).first;
  }
  return StatementRef(it->second.get());
}

Status Database::ExecScript(std::string_view sql) {
  std::string text(sql);  // sqlite3_exec needs a terminated string
  return CheckSqlite(sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr), db_, sql);
}

Status Database::SetSynchronous(Synchronous level) {
  return ExecScript(level == Synchronous::kFull ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
}

Status Database::Checkpoint() {
  int log_frames = 0;
  int checkpointed = 0;
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log_frames, &checkpointed);
  return CheckSqlite(rc, db_, "wal_checkpoint(TRUNCATE)");
}

std::int64_t Database::Changes() const { return sqlite3_changes64(db_); }

bool Database::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

// --- Transaction ---

Result<Transaction> Transaction::Begin(Database& db) {
  MEDSOC_ASSIGN_OR_RETURN(auto stmt, db.Prepare("BEGIN IMMEDIATE"));
  MEDSOC_TRY(stmt->Run());
  return Transaction(&db);
}

Status Transaction::Commit() {
  MEDSOC_ASSERT(db_ != nullptr);
  {
    MEDSOC_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("COMMIT"));
    MEDSOC_TRY(stmt->Run());  // on failure db_ stays set and the destructor rolls back
  }
  db_ = nullptr;
  return Ok();
}

Transaction::~Transaction() {
  if (db_ == nullptr || !db_->InTransaction()) return;  // committed, or SQLite already rolled back
  auto stmt = db_->Prepare("ROLLBACK");
  if (stmt.ok()) (void)(*stmt)->Run();  // nothing more can be done about a failed rollback here
}

}  // namespace medsoc::store::sqlite
