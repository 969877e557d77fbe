// A small, disciplined layer over the SQLite C API. Everything medsoc does with SQLite goes through
// here so that the rules hold in one place:
//
//   * every SQLite return code is checked by CheckSqlite(), the one function that turns a code into
//     an Error (with the first 80 characters of the SQL and sqlite3_errmsg);
//   * statements are prepared once per connection, cached by their SQL text, and handed out as a
//     StatementRef that resets the statement and clears its bindings when it goes out of scope;
//   * writes happen inside a Transaction (BEGIN IMMEDIATE ... COMMIT), rolled back on destruction
//     unless committed.
//
// Connection settings applied by Database::Open (see ConnectionOptions for the reasons):
//   journal_mode=WAL, foreign_keys=ON, synchronous=NORMAL (callers raise it to FULL around commits
//   that must survive a power loss, e.g. the audit trail), busy_timeout, defensive mode,
//   trusted_schema=OFF. Files: the data directory is created 0700 when missing; the database file
//   and its -wal and -shm files are 0600; a symlink in place of the database file is refused.
//
// Thread-safety: a Database (and the Statements it hands out) is NOT thread-safe. The connection is
// opened with SQLITE_OPEN_NOMUTEX; the owner serializes all use (SqliteStateStore holds a mutex).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace medsoc::store::sqlite {

// THE check: returns Ok for SQLITE_OK, SQLITE_ROW and SQLITE_DONE, otherwise an Error whose code is
// mapped from the (extended) result code:
//   UNIQUE / PRIMARY KEY constraint  -> kAlreadyExists
//   FOREIGN KEY constraint           -> kNotFound (a referenced row does not exist)
//   CHECK / NOT NULL / STRICT type   -> kInvalidArgument (a value the schema does not accept)
//   other constraints, incl. RAISE() -> kFailedPrecondition
//   BUSY / LOCKED                    -> kUnavailable
//   CORRUPT / NOTADB                 -> kCorruption
//   IOERR / CANTOPEN / FULL / PERM / READONLY -> kIo
//   everything else                  -> kInternal
// The message is "sqlite: <errmsg> [<errstr>] in `<first 80 chars of sql>`". `db` may be null.
Status CheckSqlite(int rc, sqlite3* db, std::string_view sql);

// A parameter of a prepared statement: a 1-based index or a name including its prefix (":name").
struct Param {
  Param(int i) : index(i) {}                  // NOLINT: implicit by design
  Param(const char* n) : name(n) {}           // NOLINT
  int index = 0;
  const char* name = nullptr;
};

// One prepared statement. Owned by its Database's cache; use it through a StatementRef.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt, std::string sql);
  ~Statement();  // finalizes
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Status BindText(Param p, std::string_view value);
  Status BindBlob(Param p, std::string_view bytes);
  Status BindInt64(Param p, std::int64_t value);
  Status BindDouble(Param p, double value);
  Status BindNull(Param p);

  // Binds `values` to parameters 1, 2, 3 ... Accepts string-like values, integers (incl. bool),
  // doubles and nullptr.
  template <typename... Args>
  Status BindAll(const Args&... values) {
    int index = 0;
    Status status;
    ((status.ok() ? (status = BindOne(++index, values), 0) : 0), ...);
    return status;
  }

  // Advances: true when a row is available, false when the statement is done.
  Result<bool> Step();
  // Steps to completion, discarding any rows.
  Status Run();

  int ColumnCount() const;
  bool ColumnIsNull(int col) const;  // 0-based, like every column getter
  std::int64_t ColumnInt64(int col) const;
  double ColumnDouble(int col) const;
  std::string ColumnText(int col) const;
  std::string ColumnBlob(int col) const;

  // Resets the statement and clears its bindings (done by StatementRef on scope exit).
  void Reset();

  const std::string& sql() const { return sql_; }

 private:
  Result<int> Index(Param p) const;
  Status BindOne(int i, std::string_view v) { return BindText(i, v); }
  Status BindOne(int i, const std::string& v) { return BindText(i, v); }
  Status BindOne(int i, const char* v) { return BindText(i, v); }
  Status BindOne(int i, double v) { return BindDouble(i, v); }
  Status BindOne(int i, std::nullptr_t) { return BindNull(i); }
  template <typename T, typename = std::enable_if_t<std::is_integral_v<T>>>
  Status BindOne(int i, T v) {
    return BindInt64(i, static_cast<std::int64_t>(v));
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string sql_;
};

// A borrowed, cached statement. On destruction the statement is reset and its bindings cleared, so
// the next user starts clean and no read transaction is left open by an unfinished SELECT.
class StatementRef {
 public:
  explicit StatementRef(Statement* s) : s_(s) {}
  StatementRef(StatementRef&& other) noexcept : s_(other.s_) { other.s_ = nullptr; }
  StatementRef& operator=(StatementRef&&) = delete;
  StatementRef(const StatementRef&) = delete;
  ~StatementRef() {
    if (s_ != nullptr) s_->Reset();
  }
  Statement* operator->() const { return s_; }
  Statement& operator*() const { return *s_; }

 private:
  Statement* s_;
};

enum class Synchronous { kNormal, kFull };

struct ConnectionOptions {
  // How long a statement waits for another connection's (or process's) lock before SQLITE_BUSY.
  int busy_timeout_ms = 5000;
  // NORMAL in WAL mode never corrupts the database, but a power loss may undo the most recent
  // commits. Commits that must be durable when the call returns switch to FULL around themselves
  // (Database::SetSynchronous); an fsync of the WAL also makes every earlier commit durable.
  Synchronous synchronous = Synchronous::kNormal;
};

class Database {
 public:
  // Opens (creating if needed) the database at `path`. ":memory:" opens a private in-memory
  // database (no files, no WAL). REQUIRES: path is non-empty.
  static Result<std::unique_ptr<Database>> Open(const std::string& path, const ConnectionOptions& options);

  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // The cached prepared statement for `sql` (prepared on first use). `sql` must be one statement.
  Result<StatementRef> Prepare(std::string_view sql);

  // Runs one or more statements without caching them (migration scripts, pragmas).
  Status ExecScript(std::string_view sql);

  Status SetSynchronous(Synchronous level);

  // PRAGMA wal_checkpoint(TRUNCATE): copies the WAL into the database and truncates it.
  Status Checkpoint();

  std::int64_t Changes() const;  // rows changed by the last INSERT/UPDATE/DELETE
  bool InTransaction() const;
  const std::string& path() const { return path_; }
  sqlite3* raw() const { return db_; }

 private:
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  sqlite3* db_;
  std::string path_;
  std::map<std::string, std::unique_ptr<Statement>, std::less<>> cache_;
};

// BEGIN IMMEDIATE ... COMMIT. IMMEDIATE takes the write lock up front, so a read-then-write
// transaction (such as an audit append reading the last hash) cannot be overtaken by another
// writer, and lock waits happen at BEGIN (under busy_timeout) rather than at the first write.
class Transaction {
 public:
  static Result<Transaction> Begin(Database& db);

  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction();  // ROLLBACK unless Commit() succeeded

  Status Commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;  // null once committed or moved from
};

}  // namespace medsoc::store::sqlite
