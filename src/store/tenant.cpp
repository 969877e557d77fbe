#include "store/tenant.h"

#include "core/assert.h"

namespace medsoc::store {

TenantScope TenantScope::Of(std::string tenant_id) {
  MEDSOC_ASSERT(!tenant_id.empty());
  return TenantScope(std::move(tenant_id));
}

}  // namespace medsoc::store
