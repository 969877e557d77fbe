// Principal: who is making a request, resolved from a session cookie or an API token, and the
// tenant the request acts in. The TenantScope for storage calls comes only from here.
//
// Thread-safety: value type.
#pragma once

#include <string>
#include <vector>

#include "auth/permissions.h"
#include "store/tenant.h"

namespace medsoc::auth {

struct Principal {
  enum class Kind { kSession, kToken };
  Kind kind = Kind::kSession;
  std::string user_id;
  std::string username;          // for tokens: the token creator's username
  Role role = Role::kViewer;
  bool provider_wide = false;
  std::string home_tenant_id;
  std::string active_tenant_id;  // equals home_tenant_id unless a provider-wide user switched
  bool must_change_password = false;
  // Session only.
  std::string session_hash;
  std::string csrf_token;
  // Token only.
  std::string token_id;
  std::vector<Permission> token_scopes;  // empty: all of the role's permissions

  bool Has(Permission p) const;
  store::TenantScope scope() const { return store::TenantScope::Of(active_tenant_id); }
  // How the audit trail names this principal: the username, or "token:<id>(<username>)".
  std::string AuditName() const;
};

}  // namespace medsoc::auth
