#include "auth/principal.h"

#include <algorithm>

namespace medsoc::auth {

bool Principal::Has(Permission p) const {
  if (!RoleHas(role, p)) return false;
  if (kind == Kind::kToken && !token_scopes.empty() && p != Permission::kPublic && p != Permission::kAuthenticated)
    return std::find(token_scopes.begin(), token_scopes.end(), p) != token_scopes.end();
  return true;
}

std::string Principal::AuditName() const {
  if (kind == Kind::kToken) return "token:" + token_id + "(" + username + ")";
  return username;
}

}  // namespace medsoc::auth
