#include "auth/service.h"

#include <spdlog/spdlog.h>

#include "auth/passwords.h"
#include "core/crypto.h"
#include "core/ids.h"

namespace medsoc::auth {
namespace {

constexpr const char* kBadCredentials = "用户名或密码错误 (invalid username or password)";
constexpr const char* kTokenPrefix = "mst_";
// Sessions and tokens are "touched" at most this often, to keep reads from becoming writes.
constexpr std::int64_t kTouchInterval = core::Seconds(15);

bool ValidUsername(const std::string& name) {
  if (name.size() < 2 || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-' || c == '@';
    if (!ok) return false;
  }
  return true;
}

std::string TimeText(core::Timestamp t) { return core::FormatRfc3339(t, 0); }

}  // namespace

AuthService::AuthService(store::StateStore& store, AuditTrail& audit, AuthOptions options)
    : store_(store), audit_(audit), options_(std::move(options)) {
  // A real argon2id hash of a random password: verifying unknown usernames against it costs the
  // same as verifying a real user, so response time does not reveal which usernames exist.
  auto h = HashPassword(core::RandomToken(16), options_.argon2_strength);
  dummy_hash_ = h.ok() ? *h : std::string();
}

Result<Principal> AuthService::PrincipalFor(const store::User& user) {
  auto role = ParseRole(user.role);
  if (!role) return Error(ErrorCode::kInternal, "user " + user.username + " has unknown role '" + user.role + "'");
  Principal p;
  p.user_id = user.id;
  p.username = user.username;
  p.role = *role;
  p.provider_wide = user.provider_wide;
  p.home_tenant_id = user.tenant_id;
  p.active_tenant_id = user.tenant_id;
  p.must_change_password = user.must_change_password;
  return p;
}

Result<LoginResult> AuthService::Login(const std::string& username, const std::string& password,
                                       const std::string& source_ip) {
  AuditEntry entry{.user = username.substr(0, 128), .source_ip = source_ip, .action = "auth.login"};
  auto fail = [&](ErrorCode code, const std::string& message, const std::string& outcome, const std::string& why) {
    entry.outcome = outcome;
    entry.detail = why;
    audit_.Record(entry);
    return Error(code, message);
  };

  const core::Timestamp start = core::Now();
  if (SourceThrottled(source_ip, start)) {
    return fail(ErrorCode::kResourceExhausted,
                "来自该地址的失败登录过多，请稍后再试 (too many failed logins from this address; try again later)",
                "denied", "source address throttled");
  }
  MEDSOC_ASSIGN_OR_RETURN(std::optional<store::User> found, store_.FindUserForLogin(username));
  if (!found) {
    VerifyPassword(dummy_hash_, password);
    RecordSourceFailure(source_ip, start);
    return fail(ErrorCode::kUnauthenticated, kBadCredentials, "failure", "unknown user");
  }
  store::User user = std::move(*found);
  auto scope = store::TenantScope::Of(user.tenant_id);
  entry.tenant_id = user.tenant_id;
  entry.role = user.role;
  entry.target = "user:" + user.id;
  const core::Timestamp now = core::Now();

  if (user.locked_until > now) {
    return fail(ErrorCode::kLocked, "账户已锁定，请于 " + TimeText(user.locked_until) + " 后重试 (account locked until " +
                                        TimeText(user.locked_until) + ")",
                "denied", "account locked");
  }
  const bool password_ok = VerifyPassword(user.password_hash, password);
  if (user.disabled) {
    RecordSourceFailure(source_ip, now);
    return fail(ErrorCode::kUnauthenticated, kBadCredentials, "failure", "account disabled");
  }
  if (!password_ok) {
    RecordSourceFailure(source_ip, now);
    MEDSOC_TRY(store_.RecordLoginFailure(scope, user.id, now));
    MEDSOC_ASSIGN_OR_RETURN(int failures,
                            store_.CountLoginFailures(scope, user.id, now - core::Minutes(options_.lockout_window_minutes)));
    if (options_.lockout_threshold > 0 && failures >= options_.lockout_threshold) {
      user.locked_until = now + core::Minutes(options_.lockout_duration_minutes);
      MEDSOC_TRY(store_.UpdateUser(scope, user));
      MEDSOC_TRY(store_.ClearLoginFailures(scope, user.id));
      return fail(ErrorCode::kLocked,
                  "连续登录失败次数过多，账户已锁定至 " + TimeText(user.locked_until) +
                      " (too many failed logins; account locked until " + TimeText(user.locked_until) + ")",
                  "failure", "wrong password; account locked after " + std::to_string(failures) + " failures");
    }
    return fail(ErrorCode::kUnauthenticated, kBadCredentials, "failure",
                "wrong password (" + std::to_string(failures) + " of " + std::to_string(options_.lockout_threshold) + ")");
  }

  MEDSOC_TRY(store_.ClearLoginFailures(scope, user.id));
  LoginResult result;
  if (options_.password.max_age_days > 0 && !user.must_change_password &&
      user.password_changed_at + core::Days(options_.password.max_age_days) < now) {
    user.must_change_password = true;
    result.password_expired = true;
  }
  user.last_login_at = now;
  user.locked_until = core::Timestamp{};
  MEDSOC_TRY(store_.UpdateUser(scope, user));

  result.session_token = core::RandomToken(32);
  result.csrf_token = core::RandomToken(24);
  store::Session session{.id_hash = core::Sha256Hex(result.session_token),
                         .user_id = user.id,
                         .tenant_id = user.tenant_id,
                         .active_tenant_id = user.tenant_id,
                         .csrf_token = result.csrf_token,
                         .source_ip = source_ip,
                         .created_at = now,
                         .last_seen_at = now};
  MEDSOC_TRY(store_.CreateSession(session));
  MEDSOC_ASSIGN_OR_RETURN(result.principal, PrincipalFor(user));
  result.principal.session_hash = session.id_hash;
  result.principal.csrf_token = result.csrf_token;
  entry.outcome = "success";
  entry.detail = result.password_expired ? "password expired; change required" : "";
  audit_.Record(entry);
  return result;
}

// The map is bounded: past kMaxSources addresses, entries whose newest failure left the window are
// dropped first, then (under a flood from many addresses) the whole map is cleared with a warning —
// the persistent per-account lockout still applies.
namespace {
constexpr std::size_t kMaxSources = 100'000;
}

bool AuthService::SourceThrottled(const std::string& source_ip, core::Timestamp now) {
  if (options_.source_failure_threshold <= 0) return false;
  std::lock_guard lock(source_mu_);
  auto it = source_failures_.find(source_ip);
  if (it == source_failures_.end()) return false;
  const core::Timestamp since = now - core::Minutes(options_.lockout_window_minutes);
  auto& q = it->second;
  while (!q.empty() && q.front() < since) q.pop_front();
  if (q.empty()) {
    source_failures_.erase(it);
    return false;
  }
  return static_cast<int>(q.size()) >= options_.source_failure_threshold;
}

void AuthService::RecordSourceFailure(const std::string& source_ip, core::Timestamp now) {
  if (options_.source_failure_threshold <= 0) return;
  std::lock_guard lock(source_mu_);
  if (source_failures_.size() >= kMaxSources && !source_failures_.count(source_ip)) {
    const core::Timestamp since = now - core::Minutes(options_.lockout_window_minutes);
    std::erase_if(source_failures_, [&](const auto& kv) { return kv.second.empty() || kv.second.back() < since; });
    if (source_failures_.size() >= kMaxSources) {
      spdlog::warn("login throttle: more than {} failing source addresses; resetting the table", kMaxSources);
      source_failures_.clear();
    }
  }
  auto& q = source_failures_[source_ip];
  q.push_back(now);
  // Keep at most what the decision needs.
  while (static_cast<int>(q.size()) > options_.source_failure_threshold) q.pop_front();
}

Result<Principal> AuthService::AuthenticateSession(const std::string& cookie_value) {
  if (cookie_value.empty() || cookie_value.size() > 256) return Error(ErrorCode::kUnauthenticated, "no session");
  const std::string hash = core::Sha256Hex(cookie_value);
  MEDSOC_ASSIGN_OR_RETURN(std::optional<store::Session> session, store_.FindSession(hash));
  if (!session) return Error(ErrorCode::kUnauthenticated, "会话无效或已过期 (session invalid or expired)");
  const core::Timestamp now = core::Now();
  if (session->last_seen_at + core::Minutes(options_.session_idle_minutes) < now ||
      session->created_at + core::Hours(options_.session_max_hours) < now) {
    MEDSOC_TRY(store_.DeleteSession(hash));
    return Error(ErrorCode::kUnauthenticated, "会话已超时 (session expired)");
  }
  MEDSOC_ASSIGN_OR_RETURN(std::optional<store::User> user,
                          store_.GetUser(store::TenantScope::Of(session->tenant_id), session->user_id));
  if (!user || user->disabled) {
    MEDSOC_TRY(store_.DeleteSession(hash));
    return Error(ErrorCode::kUnauthenticated, "会话无效或已过期 (session invalid or expired)");
  }
  if (session->last_seen_at + kTouchInterval < now) MEDSOC_TRY(store_.TouchSession(hash, now));
  MEDSOC_ASSIGN_OR_RETURN(Principal p, PrincipalFor(*user));
  p.kind = Principal::Kind::kSession;
  p.session_hash = hash;
  p.csrf_token = session->csrf_token;
  if (user->provider_wide) p.active_tenant_id = session->active_tenant_id;
  return p;
}

Result<Principal> AuthService::AuthenticateToken(const std::string& secret) {
  if (secret.rfind(kTokenPrefix, 0) != 0 || secret.size() > 256)
    return Error(ErrorCode::kUnauthenticated, "invalid API token");
  MEDSOC_ASSIGN_OR_RETURN(std::optional<store::ApiToken> token, store_.FindApiToken(core::Sha256Hex(secret)));
  if (!token) return Error(ErrorCode::kUnauthenticated, "invalid API token");
  const core::Timestamp now = core::Now();
  if (token->revoked_at.ns != 0) return Error(ErrorCode::kUnauthenticated, "API token has been revoked");
  if (token->expires_at <= now) return Error(ErrorCode::kUnauthenticated, "API token has expired");
  auto scope = store::TenantScope::Of(token->tenant_id);
  MEDSOC_ASSIGN_OR_RETURN(std::optional<store::User> creator, store_.GetUser(scope, token->created_by));
  if (!creator || creator->disabled)
    return Error(ErrorCode::kUnauthenticated, "API token's owner is disabled or deleted");
  auto role = ParseRole(token->role);
  if (!role) return Error(ErrorCode::kInternal, "API token has unknown role '" + token->role + "'");
  Principal p;
  p.kind = Principal::Kind::kToken;
  p.user_id = creator->id;
  p.username = creator->username;
  p.role = *role;
  p.home_tenant_id = token->tenant_id;
  p.active_tenant_id = token->tenant_id;
  p.token_id = token->id;
  for (const auto& s : token->scopes)
    if (auto perm = ParsePermission(s)) p.token_scopes.push_back(*perm);
  if (token->last_used_at + kTouchInterval < now) MEDSOC_TRY(store_.TouchApiToken(token->id, now));
  return p;
}

Status AuthService::Logout(const Principal& principal) {
  if (principal.kind != Principal::Kind::kSession) return Ok();
  return store_.DeleteSession(principal.session_hash);
}

Status AuthService::SwitchTenant(Principal& principal, const std::string& tenant_id) {
  if (!principal.provider_wide || principal.kind != Principal::Kind::kSession)
    return Error(ErrorCode::kPermissionDenied, "only provider-wide users may switch tenant");
  MEDSOC_ASSIGN_OR_RETURN(std::optional<store::Tenant> tenant, store_.GetTenant(tenant_id));
  if (!tenant) return Error(ErrorCode::kNotFound, "no tenant '" + tenant_id + "'");
  MEDSOC_TRY(store_.SetSessionTenant(principal.session_hash, tenant_id));
  principal.active_tenant_id = tenant_id;
  return Ok();
}

Status AuthService::CheckNewPassword(const store::TenantScope& scope, const store::User& user,
                                     const std::string& next) {
  MEDSOC_TRY(CheckPasswordPolicy(next, user.username, options_.password));
  if (options_.password.history > 0 && !user.id.empty()) {
    MEDSOC_ASSIGN_OR_RETURN(auto recent, store_.RecentPasswordHashes(scope, user.id, options_.password.history));
    for (const auto& h : recent)
      if (VerifyPassword(h, next))
        return Error(ErrorCode::kInvalidArgument, "password policy: 不能与最近 " +
                                                      std::to_string(options_.password.history) +
                                                      " 次使用的密码相同 (must differ from the last " +
                                                      std::to_string(options_.password.history) + " passwords)");
  }
  return Ok();
}

Status AuthService::StorePassword(const store::TenantScope& scope, store::User& user, const std::string& next,
                                  bool must_change) {
  MEDSOC_ASSIGN_OR_RETURN(user.password_hash, HashPassword(next, options_.argon2_strength));
  const core::Timestamp now = core::Now();
  user.password_changed_at = now;
  user.must_change_password = must_change;
  MEDSOC_TRY(store_.UpdateUser(scope, user));
  return store_.AddPasswordHistory(scope, user.id, user.password_hash, now);
}

Result<store::User> AuthService::CreateUser(const store::TenantScope& scope, const NewUser& in) {
  if (!ValidUsername(in.username))
    return Error(ErrorCode::kInvalidArgument,
                 "username must be 2-64 characters of letters, digits, '.', '_', '-' or '@'");
  store::User user;
  user.id = core::NewId();
  user.tenant_id = scope.tenant_id();
  user.username = in.username;
  user.display_name = in.display_name.empty() ? in.username : in.display_name;
  user.role = std::string(RoleName(in.role));
  user.provider_wide = in.provider_wide;
  user.must_change_password = in.must_change_password;
  user.created_at = core::Now();
  user.password_changed_at = user.created_at;
  MEDSOC_TRY(CheckPasswordPolicy(in.password, in.username, options_.password));
  MEDSOC_ASSIGN_OR_RETURN(user.password_hash, HashPassword(in.password, options_.argon2_strength));
  MEDSOC_TRY(store_.CreateUser(scope, user));
  MEDSOC_TRY(store_.AddPasswordHistory(scope, user.id, user.password_hash, user.created_at));
  return user;
}

Status AuthService::ChangeOwnPassword(const Principal& principal, const std::string& current,
                                      const std::string& next) {
  auto scope = store::TenantScope::Of(principal.home_tenant_id);
  MEDSOC_ASSIGN_OR_RETURN(std::optional<store::User> user, store_.GetUser(scope, principal.user_id));
  if (!user) return Error(ErrorCode::kNotFound, "user not found");
  if (!VerifyPassword(user->password_hash, current))
    return Error(ErrorCode::kPermissionDenied, "当前密码错误 (current password is wrong)");
  if (current == next) return Error(ErrorCode::kInvalidArgument, "password policy: 新密码不能与当前密码相同 (must differ from the current password)");
  MEDSOC_TRY(CheckNewPassword(scope, *user, next));
  return StorePassword(scope, *user, next, /*must_change=*/false);
}

Status AuthService::SetPassword(const store::TenantScope& scope, const std::string& user_id, const std::string& next,
                                bool must_change) {
  MEDSOC_ASSIGN_OR_RETURN(std::optional<store::User> user, store_.GetUser(scope, user_id));
  if (!user) return Error(ErrorCode::kNotFound, "user not found");
  MEDSOC_TRY(CheckNewPassword(scope, *user, next));
  MEDSOC_TRY(StorePassword(scope, *user, next, must_change));
  return store_.DeleteUserSessions(scope, user_id);
}

Status AuthService::SetDisabled(const store::TenantScope& scope, const std::string& user_id, bool disabled) {
  MEDSOC_ASSIGN_OR_RETURN(std::optional<store::User> user, store_.GetUser(scope, user_id));
  if (!user) return Error(ErrorCode::kNotFound, "user not found");
  user->disabled = disabled;
  MEDSOC_TRY(store_.UpdateUser(scope, *user));
  if (disabled) MEDSOC_TRY(store_.DeleteUserSessions(scope, user_id));
  return Ok();
}

Status AuthService::SetRole(const store::TenantScope& scope, const std::string& user_id, Role role) {
  MEDSOC_ASSIGN_OR_RETURN(std::optional<store::User> user, store_.GetUser(scope, user_id));
  if (!user) return Error(ErrorCode::kNotFound, "user not found");
  user->role = std::string(RoleName(role));
  MEDSOC_TRY(store_.UpdateUser(scope, *user));
  return store_.DeleteUserSessions(scope, user_id);  // new role applies from the next login
}

Status AuthService::Unlock(const store::TenantScope& scope, const std::string& user_id) {
  MEDSOC_ASSIGN_OR_RETURN(std::optional<store::User> user, store_.GetUser(scope, user_id));
  if (!user) return Error(ErrorCode::kNotFound, "user not found");
  user->locked_until = core::Timestamp{};
  MEDSOC_TRY(store_.UpdateUser(scope, *user));
  return store_.ClearLoginFailures(scope, user_id);
}

Result<CreatedToken> AuthService::CreateToken(const Principal& principal, const std::string& name,
                                              const std::vector<Permission>& scopes, int valid_days) {
  if (name.empty() || name.size() > 128) return Error(ErrorCode::kInvalidArgument, "token name must be 1-128 characters");
  if (valid_days <= 0 || valid_days > options_.token_max_days)
    return Error(ErrorCode::kInvalidArgument,
                 "expires_in_days must be between 1 and " + std::to_string(options_.token_max_days));
  for (Permission p : scopes)
    if (!principal.Has(p))
      return Error(ErrorCode::kPermissionDenied,
                   "cannot grant scope '" + std::string(PermissionName(p)) + "' that your role does not hold");
  CreatedToken out;
  auto& t = out.token;
  t.id = core::NewId();
  t.tenant_id = principal.active_tenant_id;
  t.name = name;
  t.role = std::string(RoleName(principal.role));
  for (Permission p : scopes) t.scopes.emplace_back(PermissionName(p));
  t.created_by = principal.user_id;
  t.created_at = core::Now();
  t.expires_at = t.created_at + core::Days(valid_days);
  out.secret = std::string(kTokenPrefix) + core::RandomToken(32);
  t.token_hash = core::Sha256Hex(out.secret);
  if (principal.active_tenant_id != principal.home_tenant_id)
    return Error(ErrorCode::kFailedPrecondition,
                 "switch back to your home tenant to create tokens (a token belongs to its creator's tenant)");
  MEDSOC_TRY(store_.CreateApiToken(principal.scope(), t));
  return out;
}

Result<std::optional<std::string>> AuthService::BootstrapAdmin(const std::string& username) {
  MEDSOC_ASSIGN_OR_RETURN(std::int64_t users, store_.CountUsers());
  if (users > 0) return std::optional<std::string>();
  NewUser admin{.username = username,
                .display_name = "系统管理员",
                .role = Role::kSysAdmin,
                .provider_wide = true,
                .password = GenerateRandomPassword(std::max(20, options_.password.min_length + 4)),
                .must_change_password = true};
  MEDSOC_ASSIGN_OR_RETURN(store::User user, CreateUser(store::TenantScope::Of(std::string(store::kDefaultTenant)), admin));
  audit_.Record({.tenant_id = user.tenant_id,
                 .user = "-",
                 .role = "",
                 .source_ip = "local",
                 .action = "bootstrap.admin",
                 .target = "user:" + user.id,
                 .outcome = "success",
                 .detail = "first start: created provider-wide system administrator '" + username + "'"});
  return std::optional<std::string>(admin.password);
}

}  // namespace medsoc::auth
