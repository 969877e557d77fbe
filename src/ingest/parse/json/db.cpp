// Database logs in text form.
//
// MySQL general query log ("mysql_general"), one entry per line:
//   MySQL >= 5.7:  2024-03-03T10:01:02.123456Z\t   12 Query\tSELECT * FROM patient WHERE id=1
//   MySQL 5.6:     240303 10:01:02\t   12 Query\tSELECT 1          (local time, YYMMDD)
//                  \t\t   13 Connect\troot@10.0.0.5 on his using TCP/IP   (same second: no time)
//   Columns: time, thread id, command (Connect, Quit, Query, Init DB, Execute, Prepare, ...),
//   argument. Connect arguments "user@host on db using TCP/IP" and "Access denied for user
//   'u'@'h' (using password: YES)" are decoded. The server's header lines ("... started with:",
//   "Tcp port: ...", "Time  Id Command  Argument") yield events with event.action "log-header".
//   A multi-line statement continues on lines that match none of these shapes: such a line is a
//   parse error (stored raw) - the general log has no framing that would allow joining it.
//
// PostgreSQL csvlog ("postgresql_csv"), one CSV record (see csv.h; quoted fields may span lines,
// so a csvlog source frames with CsvRecordFramer, not by line). Columns, PostgreSQL 9.0-16:
//   log_time, user_name, database_name, process_id, connection_from, session_id,
//   session_line_num, command_tag, session_start_time, virtual_transaction_id, transaction_id,
//   error_severity, sql_state_code, message, detail, hint, internal_query, internal_query_pos,
//   context, query, query_pos, location, application_name[, backend_type (13+)[, leader_pid,
//   query_id (14+)]]
//   log_time is "2024-03-03 10:01:02.123 CST": a zone abbreviation other than UTC/GMT is taken
//   as the source's configured zone (abbreviations are ambiguous: CST is China or US Central).
#include <string>
#include <vector>

#include "ingest/parse/json/common.h"
#include "ingest/parse/json/csv.h"
#include "ingest/parse/json/parsers.h"

namespace medsoc::ingest::json {

bool CsvRecordFramer::Next(std::string_view& record, std::uint64_t& offset, bool& truncated) {
  truncated = false;
  while (scan_ < buf_.size()) {
    const char c = buf_[scan_];
    if (c == '"') {
      in_quotes_ = !in_quotes_;  // a doubled quote toggles twice
    } else if (c == '\n' && !in_quotes_) {
      std::size_t end = scan_;
      if (end > consumed_ && buf_[end - 1] == '\r') --end;
      const std::size_t start = consumed_;
      ++scan_;
      consumed_ = scan_;
      if (skipping_) {
        skipping_ = false;
        continue;
      }
      if (end == start) continue;  // blank line
      record = std::string_view(buf_).substr(start, end - start);
      offset = base_ + start;
      return true;
    }
    ++scan_;
    if (!skipping_ && scan_ - consumed_ > max_) {
      // Oversized: hand out the first max_ bytes and drop the rest of this record.
      record = std::string_view(buf_).substr(consumed_, max_);
      offset = base_ + consumed_;
      truncated = true;
      skipping_ = true;
      consumed_ = scan_;
      return true;
    }
    if (skipping_) consumed_ = scan_;
  }
  // Compact what was handed out.
  if (consumed_ > 0 && consumed_ == scan_) {
    base_ += consumed_;
    buf_.erase(0, consumed_);
    scan_ -= consumed_;
    consumed_ = 0;
  } else if (consumed_ > (1u << 16)) {
    base_ += consumed_;
    buf_.erase(0, consumed_);
    scan_ -= consumed_;
    consumed_ = 0;
  }
  return false;
}

bool CsvRecordFramer::Finish(std::string_view& record, std::uint64_t& offset) {
  if (consumed_ >= buf_.size() || skipping_) return false;
  std::size_t end = buf_.size();
  while (end > consumed_ && (buf_[end - 1] == '\r' || buf_[end - 1] == '\n')) --end;
  if (end == consumed_) return false;
  record = std::string_view(buf_).substr(consumed_, end - consumed_);
  offset = base_ + consumed_;
  consumed_ = scan_ = buf_.size();
  return true;
}

namespace {

using event::Value;

std::string ErrAt(std::size_t at, std::string_view what) {
  return "at byte " + std::to_string(at) + ": " + std::string(what);
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// "user@host" / "user[user] @ host [ip]" -> user, host.
void SplitUserHost(std::string_view s, std::string_view& user, std::string_view& host) {
  const auto at = s.find('@');
  if (at == std::string_view::npos) {
    user = Trim(s);
    return;
  }
  user = Trim(s.substr(0, at));
  if (auto b = user.find('['); b != std::string_view::npos) user = user.substr(0, b);
  host = Trim(s.substr(at + 1));
  if (auto sp = host.find(' '); sp != std::string_view::npos) host = host.substr(0, sp);
}

std::string_view Unquote(std::string_view s) {
  if (s.size() >= 2 && (s.front() == '\'' || s.front() == '`') && s.back() == s.front()) return s.substr(1, s.size() - 2);
  return s;
}

class MysqlGeneralParser final : public Parser {
 public:
  std::string_view name() const override { return "mysql_general"; }

  int Detect(std::string_view s) const override {
    std::size_t pos = 0;
    if (!Header(s, pos)) return 0;
    return Body(s, pos) ? 90 : 0;
  }

  Status Parse(std::string_view message, const ParseContext& ctx, event::Event& e) override {
    MEDSOC_TRY(CheckSize(message, ctx));
    std::string_view s = Anchor(message, e);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
    const Fields& f = F();
    e.Set(f.db_system, Value::String("mysql"));
    e.Set(f.event_module, Value::String("mysql"));
    e.Set(f.event_dataset, Value::String("mysql.general"));
    if (s.find(", Version: ") != std::string_view::npos || s.substr(0, 9) == "Tcp port:" ||
        (s.substr(0, 4) == "Time" && s.find("Command") != std::string_view::npos)) {
      e.Set(f.event_action, Value::String("log-header"));
      e.Set(f.message, Value::String(s));
      return Ok();
    }
    std::size_t pos = 0;
    std::string_view time;
    if (!Header(s, pos, &time)) return Error(ErrorCode::kParse, ErrAt(0, "expected a MySQL general log time or tab"));
    // id
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t')) ++pos;
    const std::size_t id_start = pos;
    while (pos < s.size() && IsDigit(s[pos])) ++pos;
    if (pos == id_start) return Error(ErrorCode::kParse, ErrAt(pos, "expected the thread id"));
    const std::string_view id = s.substr(id_start, pos - id_start);
    if (pos >= s.size() || s[pos] != ' ') return Error(ErrorCode::kParse, ErrAt(pos, "expected a space after the thread id"));
    ++pos;
    const std::size_t cmd_start = pos;
    const auto tab = s.find('\t', pos);
    std::string_view command = Trim(s.substr(cmd_start, tab == std::string_view::npos ? std::string_view::npos : tab - cmd_start));
    std::string_view arg = tab == std::string_view::npos ? std::string_view() : s.substr(tab + 1);
    if (command.empty() || command.size() > 32) return Error(ErrorCode::kParse, ErrAt(cmd_start, "expected a command"));
    if (!time.empty()) SetTimeFrom(e, time, ctx);
    Orig(e, "thread_id", id);
    Orig(e, "command", command);
    if (!arg.empty()) Orig(e, "argument", arg);
    e.Set(f.db_connection_id, Value::String(id));
    e.Set(f.event_action, Value::String(command));
    e.Set(f.event_category, Value::String("database"));
    if (command == "Connect") {
      e.Append(f.event_category, Value::String("authentication"));
      if (arg.substr(0, 24) == "Access denied for user '") {
        e.Set(f.event_outcome, Value::String("failure"));
        // Access denied for user 'u'@'h' (using password: YES)
        const std::string_view rest = arg.substr(23);
        const auto at = rest.find("'@'");
        if (at != std::string_view::npos) {
          SetUser(e, Unquote(rest.substr(0, at + 1)));
          const auto end = rest.find('\'', at + 3);
          if (end != std::string_view::npos) SetHost(e, rest.substr(at + 3, end - at - 3));
        }
      } else {
        e.Set(f.event_outcome, Value::String("success"));
        // user@host on db using TCP/IP
        std::string_view who = arg, db;
        if (auto on = arg.find(" on "); on != std::string_view::npos) {
          who = arg.substr(0, on);
          db = arg.substr(on + 4);
          if (auto u = db.find(" using "); u != std::string_view::npos) db = db.substr(0, u);
          db = Trim(db);
        }
        std::string_view user, host;
        SplitUserHost(who, user, host);
        SetUser(e, user);
        SetHost(e, host);
        if (!db.empty()) e.Set(f.db_name, Value::String(db));
      }
    } else if (command == "Init DB") {
      e.Set(f.db_name, Value::String(Trim(arg)));
    } else if (command == "Query" || command == "Execute" || command == "Prepare") {
      e.Set(f.db_statement, Value::String(arg));
      std::size_t b = 0;
      while (b < arg.size() && (arg[b] == ' ' || arg[b] == '(' || arg[b] == '\t')) ++b;
      std::size_t w = b;
      while (w < arg.size() && ((arg[w] >= 'A' && arg[w] <= 'Z') || (arg[w] >= 'a' && arg[w] <= 'z'))) ++w;
      if (w > b) {
        char* p = e.arena().Allocate(w - b);
        for (std::size_t i = b; i < w; ++i) p[i - b] = (arg[i] >= 'a' && arg[i] <= 'z') ? static_cast<char>(arg[i] - 32) : arg[i];
        e.Set(f.db_operation, Value::String(std::string_view(p, w - b)));
      }
    }
    return Ok();
  }

 private:
  // Reads the time column (or the two tabs of a line without time). `pos` ends after it.
  static bool Header(std::string_view s, std::size_t& pos, std::string_view* time = nullptr) {
    if (s.size() >= 27 && s[4] == '-' && s[10] == 'T') {
      const auto tab = s.find('\t');
      if (tab == std::string_view::npos || tab > 40 || tab < 19) return false;  // a time is >= 19 chars
      if (time) *time = s.substr(0, tab);
      pos = tab + 1;
      return s[tab - 1] == 'Z' || s[tab - 3] == ':' || IsDigit(s[tab - 1]);
    }
    if (s.size() >= 16 && IsDigit(s[0]) && s[6] == ' ') {
      const auto tab = s.find('\t');
      if (tab == std::string_view::npos || tab > 16) return false;
      if (time) *time = s.substr(0, tab);
      pos = tab + 1;
      return true;
    }
    if (s.size() >= 3 && s[0] == '\t' && s[1] == '\t') {
      pos = 2;
      return true;
    }
    return false;
  }
  static bool Body(std::string_view s, std::size_t pos) {
    while (pos < s.size() && s[pos] == ' ') ++pos;
    const std::size_t d = pos;
    while (pos < s.size() && IsDigit(s[pos])) ++pos;
    if (pos == d || pos >= s.size() || s[pos] != ' ') return false;
    static constexpr std::string_view kCommands[] = {"Query", "Connect", "Quit", "Init DB", "Execute", "Prepare",
                                                     "Close stmt", "Field List", "Statistics", "Ping", "Shutdown",
                                                     "Change user", "Binlog Dump", "Refresh", "Reset stmt"};
    const std::string_view rest = s.substr(pos + 1);
    for (std::string_view c : kCommands)
      if (rest.substr(0, c.size()) == c) return true;
    return false;
  }
  void Orig(event::Event& e, std::string_view name, std::string_view v) {
    const event::FieldId id = names_.Get(name);
    if (id.valid()) e.Set(id, Value::String(v), event::FieldSpace::kOriginal);
  }
  static void SetUser(event::Event& e, std::string_view user) {
    if (user.empty()) return;
    e.Set(F().user_name, Value::String(user));
    e.Set(F().db_user, Value::String(user));
    e.Append(F().related_user, Value::String(user));
  }
  static void SetHost(event::Event& e, std::string_view host) {
    if (host.empty()) return;
    e.Set(F().source_address, Value::String(host));
    if (SetIp(e, F().source_ip, Value::String(host))) e.Append(F().related_ip, e.Get(F().source_ip));
  }
  NameCache names_;
};

// ---- PostgreSQL csvlog ---------------------------------------------------------------------

constexpr std::string_view kPgColumns[] = {
    "log_time", "user_name", "database_name", "process_id", "connection_from", "session_id", "session_line_num",
    "command_tag", "session_start_time", "virtual_transaction_id", "transaction_id", "error_severity",
    "sql_state_code", "message", "detail", "hint", "internal_query", "internal_query_pos", "context", "query",
    "query_pos", "location", "application_name", "backend_type", "leader_pid", "query_id"};
constexpr std::size_t kPgMinColumns = 22;
enum PgCol { kLogTime, kUser, kDb, kPid, kConn, kSession, kLineNum, kTag, kSessStart, kVxid, kXid, kSeverity,
             kState, kMessage, kDetail, kHint, kIntQuery, kIntQueryPos, kContext, kQuery, kQueryPos, kLocation,
             kAppName };

class PostgresCsvParser final : public Parser {
 public:
  PostgresCsvParser() {
    for (std::string_view n : kPgColumns) ids_.push_back(*event::DefaultFieldTable().Intern(n));
  }
  std::string_view name() const override { return "postgresql_csv"; }

  int Detect(std::string_view s) const override {
    // 2024-03-03 10:01:02.123 CST,"user","db",1234,"10.0.0.5:5123",65e4...,1,"idle",...
    if (s.size() < 40 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':') return 0;
    const auto comma = s.find(',');
    if (comma == std::string_view::npos || comma > 40) return 0;
    int commas = 0;
    for (char c : s) commas += c == ',';
    if (commas < static_cast<int>(kPgMinColumns) - 1) return 0;
    for (std::string_view sev : {",LOG,", ",ERROR,", ",FATAL,", ",WARNING,", ",NOTICE,", ",PANIC,", ",INFO,",
                                 ",DEBUG1,", ",DEBUG2,", ",STATEMENT,"})
      if (s.find(sev) != std::string_view::npos) return 93;
    return 40;
  }

  Status Parse(std::string_view message, const ParseContext& ctx, event::Event& e) override {
    MEDSOC_TRY(CheckSize(message, ctx));
    std::string_view s = Anchor(message, e);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
    std::size_t error_at = 0;
    if (!SplitCsv(s, cols_, scratch_, [&](std::string_view x) { return e.CopyString(x); }, error_at))
      return Error(ErrorCode::kParse, ErrAt(error_at, "malformed CSV (unterminated quote or text after a closing quote)"));
    if (cols_.size() < kPgMinColumns || cols_.size() > std::size(kPgColumns))
      return Error(ErrorCode::kParse, ErrAt(0, "expected 22 to 26 csvlog columns, found " + std::to_string(cols_.size())));
    if (!SetTimeFrom(e, cols_[kLogTime], ctx))
      return Error(ErrorCode::kParse, ErrAt(0, "log_time is not a timestamp"));
    for (std::size_t i = 1; i < cols_.size(); ++i)
      if (!cols_[i].empty()) e.Set(ids_[i], Value::String(cols_[i]), event::FieldSpace::kOriginal);
    const Fields& f = F();
    e.Set(f.db_system, Value::String("postgresql"));
    e.Set(f.event_module, Value::String("postgresql"));
    e.Set(f.event_dataset, Value::String("postgresql.log"));
    e.Set(f.event_category, Value::String("database"));
    auto col = [&](int i) { return cols_[static_cast<std::size_t>(i)]; };
    if (!col(kUser).empty()) {
      e.Set(f.user_name, Value::String(col(kUser)));
      e.Set(f.db_user, Value::String(col(kUser)));
      e.Append(f.related_user, Value::String(col(kUser)));
    }
    if (!col(kDb).empty()) e.Set(f.db_name, Value::String(col(kDb)));
    if (auto p = ToInt(col(kPid))) e.Set(f.process_pid, Value::Int(*p));
    if (std::string_view c = col(kConn); !c.empty() && c != "[local]") {
      std::string_view host = c;
      if (auto colon = c.rfind(':'); colon != std::string_view::npos) {
        if (auto port = ToInt(c.substr(colon + 1)); port && SetIp(e, f.source_ip, Value::String(c.substr(0, colon)))) {
          e.Set(f.source_port, Value::Int(*port));
          host = {};
        } else if (port) {
          host = c.substr(0, colon);
        }
      }
      if (!host.empty() && !SetIp(e, f.source_ip, Value::String(host))) e.Set(f.source_address, Value::String(host));
      if (const Value* ip = e.Find(f.source_ip)) e.Append(f.related_ip, *ip);
    }
    if (!col(kSession).empty()) e.Set(f.db_session_id, Value::String(col(kSession)));
    if (!col(kTag).empty()) e.Set(f.event_action, Value::String(col(kTag)));
    const std::string_view sev = col(kSeverity);
    if (!sev.empty()) e.Set(f.log_level, Value::String(sev));
    if (!col(kState).empty()) e.Set(f.db_sql_state, Value::String(col(kState)));
    const std::string_view msg = col(kMessage);
    if (!msg.empty()) e.Set(f.message, Value::String(msg));
    if (!col(kQuery).empty()) e.Set(f.db_statement, Value::String(col(kQuery)));
    else if (msg.substr(0, 11) == "statement: ") e.Set(f.db_statement, Value::String(msg.substr(11)));
    else if (msg.substr(0, 9) == "execute " && msg.find(": ") != std::string_view::npos)
      e.Set(f.db_statement, Value::String(msg.substr(msg.find(": ") + 2)));
    const bool failed = sev == "ERROR" || sev == "FATAL" || sev == "PANIC";
    if (failed) {
      e.Set(f.event_outcome, Value::String("failure"));
      if (!col(kState).empty()) e.Set(f.error_code, Value::String(col(kState)));
      if (!msg.empty()) e.Set(f.error_message, Value::String(msg));
    }
    // Authentication: "password authentication failed for user ...", "connection authorized: ...".
    if (msg.find("authentication failed") != std::string_view::npos ||
        msg.substr(0, 22) == "connection authorized:" || msg.substr(0, 22) == "connection authenticated") {
      e.Append(f.event_category, Value::String("authentication"));
      if (!failed) e.Set(f.event_outcome, Value::String("success"));
    }
    return Ok();
  }

 private:
  std::vector<event::FieldId> ids_;
  std::vector<std::string_view> cols_;
  std::string scratch_;
};

}  // namespace

std::unique_ptr<Parser> MakeMysqlGeneralParser() { return std::make_unique<MysqlGeneralParser>(); }
std::unique_ptr<Parser> MakePostgresCsvParser() { return std::make_unique<PostgresCsvParser>(); }

}  // namespace medsoc::ingest::json
