#include "store/sqlite/state_store.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "store/sqlite/migrations.h"

namespace medsoc::store::sqlite {
namespace {

// Column lists, spelled once; the Read* functions below depend on their order.
#define MEDSOC_USER_COLUMNS                                                                              \
  "id, tenant_id, username, display_name, role, provider_wide, disabled, password_hash, "              \
  "must_change_password, password_changed_at, locked_until, created_at, last_login_at"
#define MEDSOC_SESSION_COLUMNS \
  "id_hash, user_id, tenant_id, active_tenant_id, csrf_token, source_ip, created_at, last_seen_at"
#define MEDSOC_TOKEN_COLUMNS \
  "id, tenant_id, name, token_hash, role, scopes, created_by, created_at, expires_at, revoked_at, last_used_at"
#define MEDSOC_AUDIT_COLUMNS \
  "seq, time, tenant_id, user, role, source_ip, action, target, outcome, detail, prev_hash, hash"

constexpr int kAuditDefaultLimit = 100;
constexpr int kAuditMaxLimit = 1000;
constexpr int kVerifyChunk = 2000;  // rows per lock hold in VerifyAudit

Status WithContext(Status status, std::string_view context) {
  if (status.ok()) return status;
  return status.error().WithContext(context);
}

Error Invalid(std::string message) { return Error(ErrorCode::kInvalidArgument, std::move(message)); }

bool IsTenantSlug(std::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

core::Timestamp Ts(const Statement& s, int col) { return core::Timestamp{s.ColumnInt64(col)}; }

Tenant ReadTenant(const Statement& s) { return Tenant{s.ColumnText(0), s.ColumnText(1), Ts(s, 2)}; }

User ReadUser(const Statement& s) {
  User u;
  u.id = s.ColumnText(0);
  u.tenant_id = s.ColumnText(1);
  u.username = s.ColumnText(2);
  u.display_name = s.ColumnText(3);
  u.role = s.ColumnText(4);
  u.provider_wide = s.ColumnInt64(5) != 0;
  u.disabled = s.ColumnInt64(6) != 0;
  u.password_hash = s.ColumnText(7);
  u.must_change_password = s.ColumnInt64(8) != 0;
  u.password_changed_at = Ts(s, 9);
  u.locked_until = Ts(s, 10);
  u.created_at = Ts(s, 11);
  u.last_login_at = Ts(s, 12);
  return u;
}

Session ReadSession(const Statement& s) {
  Session x;
  x.id_hash = s.ColumnText(0);
  x.user_id = s.ColumnText(1);
  x.tenant_id = s.ColumnText(2);
  x.active_tenant_id = s.ColumnText(3);
  x.csrf_token = s.ColumnText(4);
  x.source_ip = s.ColumnText(5);
  x.created_at = Ts(s, 6);
  x.last_seen_at = Ts(s, 7);
  return x;
}

AuditRecord ReadAudit(const Statement& s) {
  AuditRecord r;
  r.seq = s.ColumnInt64(0);
  r.time = Ts(s, 1);
  r.tenant_id = s.ColumnText(2);
  r.user = s.ColumnText(3);
  r.role = s.ColumnText(4);
  r.source_ip = s.ColumnText(5);
  r.action = s.ColumnText(6);
  r.target = s.ColumnText(7);
  r.outcome = s.ColumnText(8);
  r.detail = s.ColumnText(9);
  r.prev_hash = s.ColumnText(10);
  r.hash = s.ColumnText(11);
  return r;
}

// --- token scopes as a JSON array of strings ---

std::string EncodeScopes(const std::vector<std::string>& scopes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "[";
  for (std::size_t i = 0; i < scopes.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (unsigned char c : scopes[i]) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20) {
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
      } else {
        out += static_cast<char>(c);
      }
    }
    out += '"';
  }
  out += ']';
  return out;
}

void AppendUtf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// Parses a JSON array of strings (RFC 8259: whitespace, all string escapes, surrogate pairs).
Result<std::vector<std::string>> DecodeScopes(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Error(ErrorCode::kCorruption, "api_tokens.scopes is not a JSON array of strings (" + std::string(why) + ")");
  };
  std::size_t i = 0;
  auto skip_ws = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
  };
  auto hex4 = [&](std::uint32_t& v) {
    if (i + 4 > text.size()) return false;
    v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = text[i++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else return false;
    }
    return true;
  };
  std::vector<std::string> out;
  skip_ws();
  if (i >= text.size() || text[i++] != '[') return bad("no '['");
  skip_ws();
  if (i < text.size() && text[i] == ']') {
    ++i;
  } else {
    for (;;) {
      skip_ws();
      if (i >= text.size() || text[i++] != '"') return bad("expected a string");
      std::string s;
      for (;;) {
        if (i >= text.size()) return bad("unterminated string");
        char c = text[i++];
        if (c == '"') break;
        if (static_cast<unsigned char>(c) < 0x20) return bad("control character");
        if (c != '\\') {
          s += c;
          continue;
        }
        if (i >= text.size()) return bad("unterminated escape");
        char e = text[i++];
        switch (e) {
          case '"': s += '"'; break;
          case '\\': s += '\\'; break;
          case '/': s += '/'; break;
          case 'b': s += '\b'; break;
          case 'f': s += '\f'; break;
          case 'n': s += '\n'; break;
          case 'r': s += '\r'; break;
          case 't': s += '\t'; break;
          case 'u': {
            std::uint32_t cp = 0;
            if (!hex4(cp)) return bad("bad \\u escape");
            if (cp >= 0xd800 && cp <= 0xdbff) {
              std::uint32_t lo = 0;
              if (i + 2 > text.size() || text[i] != '\\' || text[i + 1] != 'u') return bad("lone surrogate");
              i += 2;
              if (!hex4(lo) || lo < 0xdc00 || lo > 0xdfff) return bad("lone surrogate");
              cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
              return bad("lone surrogate");
            }
            AppendUtf8(s, cp);
            break;
          }
          default:
            return bad("unknown escape");
        }
      }
      out.push_back(std::move(s));
      skip_ws();
      if (i >= text.size()) return bad("unterminated array");
      char c = text[i++];
      if (c == ']') break;
      if (c != ',') return bad("expected ',' or ']'");
    }
  }
  skip_ws();
  if (i != text.size()) return bad("trailing characters");
  return out;
}

Result<ApiToken> ReadToken(const Statement& s) {
  ApiToken t;
  t.id = s.ColumnText(0);
  t.tenant_id = s.ColumnText(1);
  t.name = s.ColumnText(2);
  t.token_hash = s.ColumnText(3);
  t.role = s.ColumnText(4);
  MEDSOC_ASSIGN_OR_RETURN(t.scopes, DecodeScopes(s.ColumnText(5)));
  t.created_by = s.ColumnText(6);
  t.created_at = Ts(s, 7);
  t.expires_at = Ts(s, 8);
  t.revoked_at = Ts(s, 9);
  t.last_used_at = Ts(s, 10);
  return t;
}

// Runs a statement that yields at most one row of type T.
template <typename T, typename Reader>
Result<std::optional<T>> QueryOne(StatementRef& stmt, Reader read) {
  MEDSOC_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return std::optional<T>();
  if constexpr (std::is_same_v<decltype(read(*stmt)), Result<T>>) {
    MEDSOC_ASSIGN_OR_RETURN(T value, read(*stmt));
    return std::optional<T>(std::move(value));
  } else {
    return std::optional<T>(read(*stmt));
  }
}

template <typename T, typename Reader>
Result<std::vector<T>> QueryAll(StatementRef& stmt, Reader read) {
  std::vector<T> out;
  for (;;) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) return out;
    if constexpr (std::is_same_v<decltype(read(*stmt)), Result<T>>) {
      MEDSOC_ASSIGN_OR_RETURN(T value, read(*stmt));
      out.push_back(std::move(value));
    } else {
      out.push_back(read(*stmt));
    }
  }
}

// For UPDATEs addressed by key: no row changed means no such row (in this scope).
Status ExpectChanged(Database& db, std::string_view what) {
  if (db.Changes() == 0) return Error(ErrorCode::kNotFound, std::string(what) + " not found");
  return Ok();
}

}  // namespace

Result<std::unique_ptr<SqliteStateStore>> SqliteStateStore::Open(const std::string& path, int busy_timeout_ms) {
  ConnectionOptions options;
  options.busy_timeout_ms = busy_timeout_ms;
  options.synchronous = Synchronous::kNormal;
  MEDSOC_ASSIGN_OR_RETURN(auto db, Database::Open(path, options));
  MEDSOC_TRY(RunMigrations(*db, StateMigrations()));
  return std::unique_ptr<SqliteStateStore>(new SqliteStateStore(std::move(db)));
}

SqliteStateStore::~SqliteStateStore() = default;

// --- tenants ---

Status SqliteStateStore::CreateTenant(const Tenant& tenant) {
  if (!IsTenantSlug(tenant.id)) return Invalid("tenant id must match [a-z0-9-]{1,63}: '" + tenant.id + "'");
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto stmt,
                          db_->Prepare("INSERT INTO tenants (id, tenant_id, name, created_at) VALUES (?1, ?1, ?2, ?3)"));
  MEDSOC_TRY(stmt->BindAll(tenant.id, tenant.name, tenant.created_at.ns));
  Status status = stmt->Run();
  if (!status.ok() && status.error().code() == ErrorCode::kAlreadyExists) {
    return Error(ErrorCode::kAlreadyExists, "tenant '" + tenant.id + "' already exists");
  }
  return WithContext(std::move(status), "CreateTenant");
}

Result<std::vector<Tenant>> SqliteStateStore::ListTenants() {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT id, name, created_at FROM tenants ORDER BY id"));
  return QueryAll<Tenant>(stmt, ReadTenant);
}

Result<std::optional<Tenant>> SqliteStateStore::GetTenant(const std::string& id) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT id, name, created_at FROM tenants WHERE id = ?"));
  MEDSOC_TRY(stmt->BindAll(id));
  return QueryOne<Tenant>(stmt, ReadTenant);
}

// --- users ---

Status SqliteStateStore::CreateUser(const TenantScope& scope, const User& user) {
  if (user.tenant_id != scope.tenant_id()) {
    return Invalid("user tenant '" + user.tenant_id + "' differs from the scope's '" + scope.tenant_id() + "'");
  }
  if (user.id.empty() || user.username.empty()) return Invalid("user id and username must be non-empty");
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("INSERT INTO users (" MEDSOC_USER_COLUMNS
                                                  ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  MEDSOC_TRY(stmt->BindAll(user.id, scope.tenant_id(), user.username, user.display_name, user.role,
                           user.provider_wide, user.disabled, user.password_hash, user.must_change_password,
                           user.password_changed_at.ns, user.locked_until.ns, user.created_at.ns,
                           user.last_login_at.ns));
  Status status = stmt->Run();
  if (!status.ok() && status.error().code() == ErrorCode::kAlreadyExists) {
    return Error(ErrorCode::kAlreadyExists, "a user with id '" + user.id + "' or username '" + user.username +
                                                "' (compared case-insensitively) already exists");
  }
  return WithContext(std::move(status), "CreateUser");
}

Result<std::optional<User>> SqliteStateStore::GetUser(const TenantScope& scope, const std::string& id) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto stmt,
                          db_->Prepare("SELECT " MEDSOC_USER_COLUMNS " FROM users WHERE tenant_id = ? AND id = ?"));
  MEDSOC_TRY(stmt->BindAll(scope.tenant_id(), id));
  return QueryOne<User>(stmt, ReadUser);
}

Result<std::optional<User>> SqliteStateStore::GetUserByName(const TenantScope& scope, const std::string& username) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(
      auto stmt, db_->Prepare("SELECT " MEDSOC_USER_COLUMNS " FROM users WHERE tenant_id = ? AND username = ?"));
  MEDSOC_TRY(stmt->BindAll(scope.tenant_id(), username));
  return QueryOne<User>(stmt, ReadUser);
}

Result<std::vector<User>> SqliteStateStore::ListUsers(const TenantScope& scope) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(
      auto stmt, db_->Prepare("SELECT " MEDSOC_USER_COLUMNS " FROM users WHERE tenant_id = ? ORDER BY username"));
  MEDSOC_TRY(stmt->BindAll(scope.tenant_id()));
  return QueryAll<User>(stmt, ReadUser);
}

Status SqliteStateStore::UpdateUser(const TenantScope& scope, const User& user) {
  std::lock_guard lock(mu_);
  {
    MEDSOC_ASSIGN_OR_RETURN(auto stmt,
                            db_->Prepare("UPDATE users SET username = ?, display_name = ?, role = ?, provider_wide = ?, "
                                         "disabled = ?, password_hash = ?, must_change_password = ?, "
                                         "password_changed_at = ?, locked_until = ?, last_login_at = ? "
                                         "WHERE tenant_id = ? AND id = ? AND ? = tenant_id"));
    // The last condition refuses to move a user to another tenant; it is told apart from "no such
    // user" below. created_at is immutable.
    MEDSOC_TRY(stmt->BindAll(user.username, user.display_name, user.role, user.provider_wide, user.disabled,
                             user.password_hash, user.must_change_password, user.password_changed_at.ns,
                             user.locked_until.ns, user.last_login_at.ns, scope.tenant_id(), user.id,
                             user.tenant_id));
    Status status = stmt->Run();
    if (!status.ok() && status.error().code() == ErrorCode::kAlreadyExists) {
      return Error(ErrorCode::kAlreadyExists, "username '" + user.username + "' is taken");
    }
    MEDSOC_TRY(WithContext(std::move(status), "UpdateUser"));
  }
  if (db_->Changes() > 0) return Ok();
  if (user.tenant_id != scope.tenant_id()) {
    MEDSOC_ASSIGN_OR_RETURN(auto exists, db_->Prepare("SELECT 1 FROM users WHERE tenant_id = ? AND id = ?"));
    MEDSOC_TRY(exists->BindAll(scope.tenant_id(), user.id));
    MEDSOC_ASSIGN_OR_RETURN(bool row, exists->Step());
    if (row) return Invalid("UpdateUser cannot move a user to another tenant");
  }
  return Error(ErrorCode::kNotFound, "user '" + user.id + "' not found");
}

Result<std::optional<User>> SqliteStateStore::FindUserForLogin(const std::string& username) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT " MEDSOC_USER_COLUMNS " FROM users WHERE username = ?"));
  MEDSOC_TRY(stmt->BindAll(username));
  return QueryOne<User>(stmt, ReadUser);
}

Result<std::int64_t> SqliteStateStore::CountUsers() {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT count(*) FROM users"));
  MEDSOC_ASSIGN_OR_RETURN(bool row, stmt->Step());
  return row ? stmt->ColumnInt64(0) : std::int64_t{0};
}

// --- password history ---

Status SqliteStateStore::AddPasswordHistory(const TenantScope& scope, const std::string& user_id,
                                            const std::string& password_hash, core::Timestamp at) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(
      auto stmt,
      db_->Prepare("INSERT INTO password_history (tenant_id, user_id, password_hash, created_at) VALUES (?, ?, ?, ?)"));
  MEDSOC_TRY(stmt->BindAll(scope.tenant_id(), user_id, password_hash, at.ns));
  // The composite foreign key turns another tenant's user into kNotFound.
  return WithContext(stmt->Run(), "AddPasswordHistory: user '" + user_id + "'");
}

Result<std::vector<std::string>> SqliteStateStore::RecentPasswordHashes(const TenantScope& scope,
                                                                        const std::string& user_id, int limit) {
  if (limit <= 0) return std::vector<std::string>();
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT password_hash FROM password_history "
                                                  "WHERE tenant_id = ? AND user_id = ? "
                                                  "ORDER BY created_at DESC, id DESC LIMIT ?"));
  MEDSOC_TRY(stmt->BindAll(scope.tenant_id(), user_id, limit));
  return QueryAll<std::string>(stmt, [](const Statement& s) { return s.ColumnText(0); });
}

// --- login failures ---

Status SqliteStateStore::RecordLoginFailure(const TenantScope& scope, const std::string& user_id, core::Timestamp at) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto stmt,
                          db_->Prepare("INSERT INTO login_failures (tenant_id, user_id, at) VALUES (?, ?, ?)"));
  MEDSOC_TRY(stmt->BindAll(scope.tenant_id(), user_id, at.ns));
  return WithContext(stmt->Run(), "RecordLoginFailure: user '" + user_id + "'");
}

Result<int> SqliteStateStore::CountLoginFailures(const TenantScope& scope, const std::string& user_id,
                                                 core::Timestamp since) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(
      auto stmt, db_->Prepare("SELECT count(*) FROM login_failures WHERE tenant_id = ? AND user_id = ? AND at >= ?"));
  MEDSOC_TRY(stmt->BindAll(scope.tenant_id(), user_id, since.ns));
  MEDSOC_ASSIGN_OR_RETURN(bool row, stmt->Step());
  return row ? static_cast<int>(stmt->ColumnInt64(0)) : 0;
}

Status SqliteStateStore::ClearLoginFailures(const TenantScope& scope, const std::string& user_id) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("DELETE FROM login_failures WHERE tenant_id = ? AND user_id = ?"));
  MEDSOC_TRY(stmt->BindAll(scope.tenant_id(), user_id));
  return WithContext(stmt->Run(), "ClearLoginFailures");
}

// --- sessions ---

Status SqliteStateStore::CreateSession(const Session& session) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto stmt,
                          db_->Prepare("INSERT INTO sessions (" MEDSOC_SESSION_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  MEDSOC_TRY(stmt->BindAll(session.id_hash, session.user_id, session.tenant_id, session.active_tenant_id,
                           session.csrf_token, session.source_ip, session.created_at.ns, session.last_seen_at.ns));
  return WithContext(stmt->Run(), "CreateSession");
}

Result<std::optional<Session>> SqliteStateStore::FindSession(const std::string& id_hash) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto stmt,
                          db_->Prepare("SELECT " MEDSOC_SESSION_COLUMNS " FROM sessions WHERE id_hash = ?"));
  MEDSOC_TRY(stmt->BindAll(id_hash));
  return QueryOne<Session>(stmt, ReadSession);
}

Status SqliteStateStore::TouchSession(const std::string& id_hash, core::Timestamp at) {
  std::lock_guard lock(mu_);
  {
    MEDSOC_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?"));
    MEDSOC_TRY(stmt->BindAll(at.ns, id_hash));
    MEDSOC_TRY(WithContext(stmt->Run(), "TouchSession"));
  }
  return ExpectChanged(*db_, "session");
}

Status SqliteStateStore::SetSessionTenant(const std::string& id_hash, const std::string& active_tenant_id) {
  std::lock_guard lock(mu_);
  {
    MEDSOC_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("UPDATE sessions SET active_tenant_id = ? WHERE id_hash = ?"));
    MEDSOC_TRY(stmt->BindAll(active_tenant_id, id_hash));
    MEDSOC_TRY(WithContext(stmt->Run(), "SetSessionTenant: tenant '" + active_tenant_id + "'"));
  }
  return ExpectChanged(*db_, "session");
}

Status SqliteStateStore::DeleteSession(const std::string& id_hash) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("DELETE FROM sessions WHERE id_hash = ?"));
  MEDSOC_TRY(stmt->BindAll(id_hash));
  return WithContext(stmt->Run(), "DeleteSession");
}

Status SqliteStateStore::DeleteUserSessions(const TenantScope& scope, const std::string& user_id) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("DELETE FROM sessions WHERE tenant_id = ? AND user_id = ?"));
  MEDSOC_TRY(stmt->BindAll(scope.tenant_id(), user_id));
  return WithContext(stmt->Run(), "DeleteUserSessions");
}

Status SqliteStateStore::DeleteSessionsIdleSince(core::Timestamp idle_before) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("DELETE FROM sessions WHERE last_seen_at < ?"));
  MEDSOC_TRY(stmt->BindAll(idle_before.ns));
  return WithContext(stmt->Run(), "DeleteSessionsIdleSince");
}

// --- API tokens ---

Status SqliteStateStore::CreateApiToken(const TenantScope& scope, const ApiToken& token) {
  if (token.tenant_id != scope.tenant_id()) {
    return Invalid("token tenant '" + token.tenant_id + "' differs from the scope's '" + scope.tenant_id() + "'");
  }
  if (token.id.empty()) return Invalid("token id must be non-empty");
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("INSERT INTO api_tokens (" MEDSOC_TOKEN_COLUMNS
                                                  ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  MEDSOC_TRY(stmt->BindAll(token.id, scope.tenant_id(), token.name, token.token_hash, token.role,
                           EncodeScopes(token.scopes), token.created_by, token.created_at.ns, token.expires_at.ns,
                           token.revoked_at.ns, token.last_used_at.ns));
  return WithContext(stmt->Run(), "CreateApiToken");
}

Result<std::vector<ApiToken>> SqliteStateStore::ListApiTokens(const TenantScope& scope) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT " MEDSOC_TOKEN_COLUMNS
                                                  " FROM api_tokens WHERE tenant_id = ? ORDER BY created_at, id"));
  MEDSOC_TRY(stmt->BindAll(scope.tenant_id()));
  return QueryAll<ApiToken>(stmt, ReadToken);
}

Result<std::optional<ApiToken>> SqliteStateStore::GetApiToken(const TenantScope& scope, const std::string& id) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(
      auto stmt, db_->Prepare("SELECT " MEDSOC_TOKEN_COLUMNS " FROM api_tokens WHERE tenant_id = ? AND id = ?"));
  MEDSOC_TRY(stmt->BindAll(scope.tenant_id(), id));
  return QueryOne<ApiToken>(stmt, ReadToken);
}

Status SqliteStateStore::RevokeApiToken(const TenantScope& scope, const std::string& id, core::Timestamp at) {
  std::lock_guard lock(mu_);
  {
    MEDSOC_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("UPDATE api_tokens "
                                                    "SET revoked_at = CASE WHEN revoked_at = 0 THEN ? ELSE revoked_at END "
                                                    "WHERE tenant_id = ? AND id = ?"));
    MEDSOC_TRY(stmt->BindAll(at.ns, scope.tenant_id(), id));
    MEDSOC_TRY(WithContext(stmt->Run(), "RevokeApiToken"));
  }
  return ExpectChanged(*db_, "API token");
}

Result<std::optional<ApiToken>> SqliteStateStore::FindApiToken(const std::string& token_hash) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto stmt,
                          db_->Prepare("SELECT " MEDSOC_TOKEN_COLUMNS " FROM api_tokens WHERE token_hash = ?"));
  MEDSOC_TRY(stmt->BindAll(token_hash));
  return QueryOne<ApiToken>(stmt, ReadToken);
}

Status SqliteStateStore::TouchApiToken(const std::string& id, core::Timestamp at) {
  std::lock_guard lock(mu_);
  {
    MEDSOC_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("UPDATE api_tokens SET last_used_at = ? WHERE id = ?"));
    MEDSOC_TRY(stmt->BindAll(at.ns, id));
    MEDSOC_TRY(WithContext(stmt->Run(), "TouchApiToken"));
  }
  return ExpectChanged(*db_, "API token");
}

// --- audit trail ---

Result<AuditRecord> SqliteStateStore::AppendAudit(AuditRecord record) {
  if (record.tenant_id.empty()) return Invalid("audit record without tenant_id");
  if (record.time.ns == 0) record.time = core::Now();
  std::lock_guard lock(mu_);
  // FULL for this commit only: the fsync of the WAL makes the row durable before we return.
  MEDSOC_TRY(db_->SetSynchronous(Synchronous::kFull));
  auto append = [&]() -> Status {
    // BEGIN IMMEDIATE holds the write lock from the read of the chain head to the commit, so no
    // other connection (or process) can append in between: the chain cannot fork.
    MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_));
    {
      MEDSOC_ASSIGN_OR_RETURN(auto head, db_->Prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"));
      MEDSOC_ASSIGN_OR_RETURN(bool row, head->Step());
      record.seq = row ? head->ColumnInt64(0) + 1 : 1;
      record.prev_hash = row ? head->ColumnText(1) : std::string();
    }
    record.hash = AuditRowHash(record);
    {
      MEDSOC_ASSIGN_OR_RETURN(auto insert, db_->Prepare("INSERT INTO audit_log (" MEDSOC_AUDIT_COLUMNS
                                                        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
      MEDSOC_TRY(insert->BindAll(record.seq, record.time.ns, record.tenant_id, record.user, record.role,
                                 record.source_ip, record.action, record.target, record.outcome, record.detail,
                                 record.prev_hash, record.hash));
      MEDSOC_TRY(insert->Run());
    }
    return tx.Commit();
  };
  Status appended = WithContext(append(), "AppendAudit");
  Status restored = db_->SetSynchronous(Synchronous::kNormal);
  MEDSOC_TRY(appended);
  MEDSOC_TRY(restored);
  return record;
}

Result<std::vector<AuditRecord>> SqliteStateStore::ListAudit(const TenantScope& scope, const AuditQuery& query) {
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  const int limit = query.limit <= 0 ? kAuditDefaultLimit : std::min(query.limit, kAuditMaxLimit);
  std::lock_guard lock(mu_);
  // Open bounds are bound as the extreme values rather than written as "(:x = 0 OR ...)", so the
  // (tenant_id, seq) index serves both the filter and the newest-first order.
  MEDSOC_ASSIGN_OR_RETURN(auto stmt,
                          db_->Prepare("SELECT " MEDSOC_AUDIT_COLUMNS " FROM audit_log "
                                       "WHERE tenant_id = :tenant AND seq < :before "
                                       "AND time >= :from AND time < :to "
                                       "AND (:user = '' OR user = :user) "
                                       "AND (:prefix = '' OR substr(action, 1, length(:prefix)) = :prefix) "
                                       "AND (:outcome = '' OR outcome = :outcome) "
                                       "ORDER BY seq DESC LIMIT :limit"));
  MEDSOC_TRY(stmt->BindText(":tenant", scope.tenant_id()));
  MEDSOC_TRY(stmt->BindInt64(":before", query.before_seq > 0 ? query.before_seq : kMax));
  MEDSOC_TRY(stmt->BindInt64(":from", query.from.ns != 0 ? query.from.ns : kMin));
  MEDSOC_TRY(stmt->BindInt64(":to", query.to.ns != 0 ? query.to.ns : kMax));
  MEDSOC_TRY(stmt->BindText(":user", query.user));
  MEDSOC_TRY(stmt->BindText(":prefix", query.action_prefix));
  MEDSOC_TRY(stmt->BindText(":outcome", query.outcome));
  MEDSOC_TRY(stmt->BindInt64(":limit", limit));
  return QueryAll<AuditRecord>(stmt, ReadAudit);
}

Result<AuditVerification> SqliteStateStore::VerifyAudit() {
  AuditVerification v;
  std::int64_t prev_seq = 0;
  std::string prev_hash;
  // Walks in chunks, taking the lock per chunk, so a long trail does not stall other callers. Rows
  // already read cannot change underneath (the table is append-only); rows appended meanwhile are
  // picked up by later chunks.
  for (;;) {
    std::vector<AuditRecord> chunk;
    {
      std::lock_guard lock(mu_);
      MEDSOC_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT " MEDSOC_AUDIT_COLUMNS
                                                      " FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?"));
      MEDSOC_TRY(stmt->BindAll(prev_seq, kVerifyChunk));
      MEDSOC_ASSIGN_OR_RETURN(chunk, QueryAll<AuditRecord>(stmt, ReadAudit));
    }
    if (chunk.empty()) return v;
    for (AuditRecord& row : chunk) {
      ++v.rows_checked;
      std::string reason;
      if (row.seq != prev_seq + 1) {
        reason = "seq " + std::to_string(row.seq) + " follows seq " + std::to_string(prev_seq) +
                 ": rows are missing (deleted)";
      } else if (row.prev_hash != prev_hash) {
        reason = "prev_hash does not match the hash of the previous row (seq " + std::to_string(prev_seq) + ")";
      } else if (AuditRowHash(row) != row.hash) {
        reason = "stored hash does not match the row's contents (the row was modified)";
      }
      if (!reason.empty()) {
        v.intact = false;
        v.reason = std::move(reason);
        v.first_broken = std::move(row);
        return v;
      }
      prev_seq = row.seq;
      prev_hash = row.hash;
    }
  }
}

// --- settings ---

Result<std::optional<std::string>> SqliteStateStore::GetSetting(const std::string& key) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("SELECT value FROM settings WHERE tenant_id = ? AND key = ?"));
  MEDSOC_TRY(stmt->BindAll(kDeploymentSettingsTenant, key));
  return QueryOne<std::string>(stmt, [](const Statement& s) { return s.ColumnText(0); });
}

Status SqliteStateStore::PutSetting(const std::string& key, const std::string& value) {
  if (key.empty()) return Invalid("setting key must be non-empty");
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto stmt, db_->Prepare("INSERT INTO settings (tenant_id, key, value, updated_at) "
                                                  "VALUES (?, ?, ?, ?) ON CONFLICT (tenant_id, key) "
                                                  "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"));
  MEDSOC_TRY(stmt->BindAll(kDeploymentSettingsTenant, key, value, core::Now().ns));
  return WithContext(stmt->Run(), "PutSetting");
}

Status SqliteStateStore::Flush() {
  std::lock_guard lock(mu_);
  return WithContext(db_->Checkpoint(), "Flush");
}

}  // namespace medsoc::store::sqlite
