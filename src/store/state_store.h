// StateStore: the interface to medsoc's state (tenants, users, sessions, API tokens, audit trail;
// later issues add assets, findings, incidents, rules). The embedded default is SQLite
// (store/sqlite/); PostgreSQL can implement the same interface later.
//
// Tenant isolation: every tenant-scoped method takes a TenantScope and touches only rows of that
// tenant. A few lookups are by design cross-tenant and say so ("global"): finding the user for a
// login name, and resolving a session or API token by its hash; they return the row's tenant so
// the caller builds the scope from it.
//
// Secrets: session ids and API tokens are never stored, only their SHA-256 (hex).
//
// Thread-safety: implementations are safe to call from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/time.h"
#include "store/tenant.h"

namespace medsoc::store {

struct Tenant {
  std::string id;    // short slug, [a-z0-9-]{1,63}
  std::string name;  // display name, e.g. 某某市肿瘤医院
  core::Timestamp created_at;
};

struct User {
  std::string id;         // core::NewId()
  std::string tenant_id;  // home tenant
  std::string username;   // unique across the deployment (login name)
  std::string display_name;
  std::string role;       // auth::Role name: sysadmin, secadmin, analyst, auditor, viewer
  bool provider_wide = false;  // may switch to any tenant (provider staff)
  bool disabled = false;
  std::string password_hash;   // argon2id string from libsodium
  bool must_change_password = false;
  core::Timestamp password_changed_at;
  core::Timestamp locked_until;  // 0: not locked
  core::Timestamp created_at;
  core::Timestamp last_login_at;  // 0: never
};

struct Session {
  std::string id_hash;           // SHA-256 hex of the cookie value
  std::string user_id;
  std::string tenant_id;         // the user's home tenant
  std::string active_tenant_id;  // tenant the session acts in (differs only for provider-wide users)
  std::string csrf_token;        // random, returned at login, required on state-changing requests
  std::string source_ip;
  core::Timestamp created_at;
  core::Timestamp last_seen_at;
};

struct ApiToken {
  std::string id;
  std::string tenant_id;
  std::string name;
  std::string token_hash;           // SHA-256 hex of the secret
  std::string role;                 // the token acts with this role's permissions ...
  std::vector<std::string> scopes;  // ... restricted to these permissions (empty: all of the role's)
  std::string created_by;           // user id
  core::Timestamp created_at;
  core::Timestamp expires_at;
  core::Timestamp revoked_at;       // 0: active
  core::Timestamp last_used_at;     // 0: never
};

// One row of the audit trail. seq and hash are assigned by AppendAudit.
struct AuditRecord {
  std::int64_t seq = 0;       // 1, 2, 3 ... in append order
  core::Timestamp time;
  std::string tenant_id;
  std::string user;           // username, or "token:<id>", or "-" when anonymous
  std::string role;
  std::string source_ip;
  std::string action;         // e.g. "auth.login", "POST /api/v1/users"
  std::string target;         // object acted on, e.g. "user:01H..."
  std::string outcome;        // "success", "failure", "denied"
  std::string detail;         // short free text (never a secret)
  std::string prev_hash;      // hash of the previous row ("" for the first row)
  std::string hash;           // SHA-256 hex over prev_hash and this row's fields (see AuditRowHash)
};

// Canonical hash of an audit row: SHA-256 hex over prev_hash and every field above except hash,
// each length-prefixed so that no two different rows serialize alike.
std::string AuditRowHash(const AuditRecord& row);

struct AuditQuery {
  core::Timestamp from;                // inclusive; 0: no lower bound
  core::Timestamp to;                  // exclusive; 0: no upper bound
  std::string user;                    // exact; empty: any
  std::string action_prefix;           // empty: any
  std::string outcome;                 // empty: any
  std::int64_t before_seq = 0;         // cursor: rows with seq < before_seq; 0: newest first
  int limit = 100;
};

// The outcome of verifying the whole hash chain.
struct AuditVerification {
  bool intact = true;
  std::int64_t rows_checked = 0;
  std::optional<AuditRecord> first_broken;  // the first row whose hash or link does not match
  std::string reason;                       // why that row is broken
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // --- tenants (provider-level objects: not scoped) ---
  virtual Status CreateTenant(const Tenant& tenant) = 0;
  virtual Result<std::vector<Tenant>> ListTenants() = 0;
  virtual Result<std::optional<Tenant>> GetTenant(const std::string& id) = 0;

  // --- users ---
  virtual Status CreateUser(const TenantScope& scope, const User& user) = 0;  // user.tenant_id must equal scope's
  virtual Result<std::optional<User>> GetUser(const TenantScope& scope, const std::string& id) = 0;
  virtual Result<std::optional<User>> GetUserByName(const TenantScope& scope, const std::string& username) = 0;
  virtual Result<std::vector<User>> ListUsers(const TenantScope& scope) = 0;
  virtual Status UpdateUser(const TenantScope& scope, const User& user) = 0;  // by id; kNotFound if absent
  // Global: the user with this login name in any tenant (for login and the CLI).
  virtual Result<std::optional<User>> FindUserForLogin(const std::string& username) = 0;
  virtual Result<std::int64_t> CountUsers() = 0;  // global, for first-start bootstrap

  // Password history (hashes), newest first.
  virtual Status AddPasswordHistory(const TenantScope& scope, const std::string& user_id,
                                    const std::string& password_hash, core::Timestamp at) = 0;
  virtual Result<std::vector<std::string>> RecentPasswordHashes(const TenantScope& scope, const std::string& user_id,
                                                                int limit) = 0;

  // Failed logins, for lockout.
  virtual Status RecordLoginFailure(const TenantScope& scope, const std::string& user_id, core::Timestamp at) = 0;
  virtual Result<int> CountLoginFailures(const TenantScope& scope, const std::string& user_id,
                                         core::Timestamp since) = 0;
  virtual Status ClearLoginFailures(const TenantScope& scope, const std::string& user_id) = 0;

  // --- sessions ---
  virtual Status CreateSession(const Session& session) = 0;
  // Global: resolves a cookie's hash.
  virtual Result<std::optional<Session>> FindSession(const std::string& id_hash) = 0;
  virtual Status TouchSession(const std::string& id_hash, core::Timestamp at) = 0;
  virtual Status SetSessionTenant(const std::string& id_hash, const std::string& active_tenant_id) = 0;
  virtual Status DeleteSession(const std::string& id_hash) = 0;
  virtual Status DeleteUserSessions(const TenantScope& scope, const std::string& user_id) = 0;
  virtual Status DeleteSessionsIdleSince(core::Timestamp idle_before) = 0;  // housekeeping

  // --- API tokens ---
  virtual Status CreateApiToken(const TenantScope& scope, const ApiToken& token) = 0;
  virtual Result<std::vector<ApiToken>> ListApiTokens(const TenantScope& scope) = 0;
  virtual Result<std::optional<ApiToken>> GetApiToken(const TenantScope& scope, const std::string& id) = 0;
  virtual Status RevokeApiToken(const TenantScope& scope, const std::string& id, core::Timestamp at) = 0;
  // Global: resolves a presented token's hash.
  virtual Result<std::optional<ApiToken>> FindApiToken(const std::string& token_hash) = 0;
  virtual Status TouchApiToken(const std::string& id, core::Timestamp at) = 0;

  // --- audit trail (append-only; no update or delete exists) ---
  // Assigns seq, prev_hash and hash, and appends atomically. Returns the stored row.
  virtual Result<AuditRecord> AppendAudit(AuditRecord record) = 0;
  virtual Result<std::vector<AuditRecord>> ListAudit(const TenantScope& scope, const AuditQuery& query) = 0;
  // Global: walks the whole chain in seq order.
  virtual Result<AuditVerification> VerifyAudit() = 0;

  // --- settings (deployment-wide key/value, e.g. "bootstrap.admin_created") ---
  virtual Result<std::optional<std::string>> GetSetting(const std::string& key) = 0;
  virtual Status PutSetting(const std::string& key, const std::string& value) = 0;

  // Flushes and checkpoints (graceful shutdown).
  virtual Status Flush() = 0;
};

}  // namespace medsoc::store
