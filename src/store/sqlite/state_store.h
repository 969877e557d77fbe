// SqliteStateStore: the embedded StateStore, one SQLite database file (WAL mode).
//
// Concurrency: one connection, guarded by one mutex; every method takes the mutex for its whole
// duration, and its statements are prepared once and cached on that connection. SQLite allows only
// one writer at a time anyway, and the state database sees low traffic (logins, administration,
// audit appends), so a reader pool would add complexity for no measurable gain. Work that could
// hold the lock for long (VerifyAudit over a large trail) releases it between chunks. Writers in
// other processes (the CLI) are handled by BEGIN IMMEDIATE plus busy_timeout.
//
// Durability: synchronous=NORMAL, except that AppendAudit commits with synchronous=FULL: when it
// returns, the audit row, and every state change committed before it, has been fsynced. Other
// writes (session touches on every request, ...) may be lost to a power cut, never corrupted.
//
// Tenant isolation: every statement of a scoped method binds scope.tenant_id() into
// `tenant_id = ?`; child rows of users carry a composite foreign key (tenant_id, user_id), so a row
// cannot point at another tenant's user. Calls that name another tenant's object behave as if it
// did not exist (nullopt, empty, or kNotFound) and change nothing.
//
// Error codes beyond the interface's: kAlreadyExists for a duplicate id, username (also
// case-insensitively) or token hash; kNotFound for a reference to a missing user or tenant;
// kInvalidArgument for malformed input (empty ids, a tenant slug outside [a-z0-9-]{1,63});
// kUnavailable when the database stays locked past busy_timeout; kCorruption for unreadable rows.
//
// Idempotent deletes: DeleteSession, DeleteUserSessions, ClearLoginFailures succeed when there is
// nothing to delete. TouchSession, SetSessionTenant, UpdateUser, RevokeApiToken and TouchApiToken
// return kNotFound when the row is absent. Revoking a revoked token keeps the first revocation time.
//
// Thread-safety: safe to call from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "store/sqlite/db.h"
#include "store/state_store.h"

namespace medsoc::store::sqlite {

// Settings rows that belong to the deployment rather than to a tenant use this tenant_id.
inline constexpr std::string_view kDeploymentSettingsTenant = "*";

class SqliteStateStore final : public StateStore {
 public:
  // Opens or creates the database at `path` (its directory is created 0700 when missing) and runs
  // the migrations. Fails with kFailedPrecondition when the file's schema is newer than this binary.
  static Result<std::unique_ptr<SqliteStateStore>> Open(const std::string& path, int busy_timeout_ms = 5000);

  ~SqliteStateStore() override;

  Status CreateTenant(const Tenant& tenant) override;
  Result<std::vector<Tenant>> ListTenants() override;
  Result<std::optional<Tenant>> GetTenant(const std::string& id) override;

  Status CreateUser(const TenantScope& scope, const User& user) override;
  Result<std::optional<User>> GetUser(const TenantScope& scope, const std::string& id) override;
  Result<std::optional<User>> GetUserByName(const TenantScope& scope, const std::string& username) override;
  Result<std::vector<User>> ListUsers(const TenantScope& scope) override;
  Status UpdateUser(const TenantScope& scope, const User& user) override;
  Result<std::optional<User>> FindUserForLogin(const std::string& username) override;
  Result<std::int64_t> CountUsers() override;

  Status AddPasswordHistory(const TenantScope& scope, const std::string& user_id, const std::string& password_hash,
                            core::Timestamp at) override;
  Result<std::vector<std::string>> RecentPasswordHashes(const TenantScope& scope, const std::string& user_id,
                                                        int limit) override;

  Status RecordLoginFailure(const TenantScope& scope, const std::string& user_id, core::Timestamp at) override;
  Result<int> CountLoginFailures(const TenantScope& scope, const std::string& user_id,
                                 core::Timestamp since) override;
  Status ClearLoginFailures(const TenantScope& scope, const std::string& user_id) override;

  Status CreateSession(const Session& session) override;
  Result<std::optional<Session>> FindSession(const std::string& id_hash) override;
  Status TouchSession(const std::string& id_hash, core::Timestamp at) override;
  Status SetSessionTenant(const std::string& id_hash, const std::string& active_tenant_id) override;
  Status DeleteSession(const std::string& id_hash) override;
  Status DeleteUserSessions(const TenantScope& scope, const std::string& user_id) override;
  Status DeleteSessionsIdleSince(core::Timestamp idle_before) override;

  Status CreateApiToken(const TenantScope& scope, const ApiToken& token) override;
  Result<std::vector<ApiToken>> ListApiTokens(const TenantScope& scope) override;
  Result<std::optional<ApiToken>> GetApiToken(const TenantScope& scope, const std::string& id) override;
  Status RevokeApiToken(const TenantScope& scope, const std::string& id, core::Timestamp at) override;
  Result<std::optional<ApiToken>> FindApiToken(const std::string& token_hash) override;
  Status TouchApiToken(const std::string& id, core::Timestamp at) override;

  // record.time of 0 is replaced by core::Now(). REQUIRES nothing else; an empty tenant_id is
  // kInvalidArgument, an unknown one kNotFound.
  Result<AuditRecord> AppendAudit(AuditRecord record) override;
  // Newest first (by seq). query.limit <= 0 means 100; it is capped at 1000.
  Result<std::vector<AuditRecord>> ListAudit(const TenantScope& scope, const AuditQuery& query) override;
  Result<AuditVerification> VerifyAudit() override;

  Result<std::optional<std::string>> GetSetting(const std::string& key) override;
  Status PutSetting(const std::string& key, const std::string& value) override;

  Status Flush() override;

 private:
  explicit SqliteStateStore(std::unique_ptr<Database> db) : db_(std::move(db)) {}

  std::mutex mu_;
  std::unique_ptr<Database> db_;  // guarded by mu_
};

}  // namespace medsoc::store::sqlite
