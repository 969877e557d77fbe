// AuthService: users, passwords, logins with lockout, sessions with idle and absolute timeouts,
// API tokens, tenant switching, and the first administrator. The HTTP layer and the CLI both call
// it; it knows nothing about HTTP.
//
// Error codes callers map to HTTP: kUnauthenticated (401), kLocked (423), kPermissionDenied (403),
// kInvalidArgument (400, e.g. password policy), kNotFound (404), kAlreadyExists (409).
//
// Thread-safety: thread-safe; state lives in the StateStore.
#pragma once

#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/audit.h"
#include "auth/principal.h"
#include "core/options.h"
#include "store/state_store.h"

namespace medsoc::auth {

struct LoginResult {
  std::string session_token;  // the cookie value (only its hash is stored)
  std::string csrf_token;
  Principal principal;
  bool password_expired = false;  // must_change was set because of max_age_days
};

struct NewUser {
  std::string username;
  std::string display_name;
  Role role = Role::kViewer;
  bool provider_wide = false;
  std::string password;
  bool must_change_password = true;  // an administrator-set password must be changed at first login
};

struct CreatedToken {
  store::ApiToken token;  // without the secret
  std::string secret;     // shown once: "mst_<id>_<random>"
};

class AuthService {
 public:
  AuthService(store::StateStore& store, AuditTrail& audit, AuthOptions options);

  // --- login and sessions ---
  // Verifies the password, applies lockout, creates a session. Every attempt is audited.
  Result<LoginResult> Login(const std::string& username, const std::string& password, const std::string& source_ip);
  // Resolves a session cookie; enforces idle and absolute timeouts and disabled users; touches it.
  Result<Principal> AuthenticateSession(const std::string& cookie_value);
  // Resolves "Authorization: Bearer <secret>"; enforces expiry and revocation.
  Result<Principal> AuthenticateToken(const std::string& secret);
  Status Logout(const Principal& principal);
  // Provider-wide users only: act in another (existing) tenant for the rest of the session.
  Status SwitchTenant(Principal& principal, const std::string& tenant_id);

  // --- users ---
  Result<store::User> CreateUser(const store::TenantScope& scope, const NewUser& user);
  // Changes the principal's own password after checking the current one.
  Status ChangeOwnPassword(const Principal& principal, const std::string& current, const std::string& next);
  // Sets a user's password (administrator reset or CLI). Ends the user's sessions.
  Status SetPassword(const store::TenantScope& scope, const std::string& user_id, const std::string& next,
                     bool must_change);
  Status SetDisabled(const store::TenantScope& scope, const std::string& user_id, bool disabled);
  Status SetRole(const store::TenantScope& scope, const std::string& user_id, Role role);
  // Clears a lockout.
  Status Unlock(const store::TenantScope& scope, const std::string& user_id);

  // --- API tokens ---
  // The token acts with `principal`'s role, restricted to `scopes` (each must be held by that role).
  Result<CreatedToken> CreateToken(const Principal& principal, const std::string& name,
                                   const std::vector<Permission>& scopes, int valid_days);

  // --- first start ---
  // When no user exists: creates the provider-wide system administrator `username` with a random
  // password (must be changed at first login) and returns that password, once. Otherwise nullopt.
  Result<std::optional<std::string>> BootstrapAdmin(const std::string& username = "admin");

  const AuthOptions& options() const { return options_; }

 private:
  Status CheckNewPassword(const store::TenantScope& scope, const store::User& user, const std::string& next);
  Status StorePassword(const store::TenantScope& scope, store::User& user, const std::string& next, bool must_change);
  Result<Principal> PrincipalFor(const store::User& user);
  // Failed logins per source address (in memory: a restart forgets them, the per-account lockout
  // is persistent). True when `source_ip` has reached auth.source_failure_threshold.
  bool SourceThrottled(const std::string& source_ip, core::Timestamp now);
  void RecordSourceFailure(const std::string& source_ip, core::Timestamp now);

  store::StateStore& store_;
  AuditTrail& audit_;
  AuthOptions options_;
  std::string dummy_hash_;  // verified against for unknown usernames, to equalize timing
  std::mutex source_mu_;
  std::unordered_map<std::string, std::deque<core::Timestamp>> source_failures_;  // bounded, see .cpp
};

// "medsoc_session"
inline constexpr const char* kSessionCookie = "medsoc_session";

}  // namespace medsoc::auth
