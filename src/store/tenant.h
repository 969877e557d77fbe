// TenantScope: the tenant context that every tenant-scoped storage call requires. There is no
// default constructor and no way to build a scope that means "all tenants", so a query cannot
// forget its tenant: the SQLite implementation binds scope.tenant_id() into every statement on a
// tenant-scoped table.
//
// Thread-safety: immutable value type.
#pragma once

#include <string>
#include <string_view>

namespace medsoc::store {

inline constexpr std::string_view kDefaultTenant = "default";

class TenantScope {
 public:
  // REQUIRES: tenant_id is non-empty. The auth layer builds scopes from the authenticated
  // principal (a hospital user's own tenant, or the tenant a provider-wide user switched to).
  static TenantScope Of(std::string tenant_id);

  const std::string& tenant_id() const { return tenant_id_; }

 private:
  explicit TenantScope(std::string tenant_id) : tenant_id_(std::move(tenant_id)) {}
  std::string tenant_id_;
};

}  // namespace medsoc::store
