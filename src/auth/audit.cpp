#include "auth/audit.h"

#include <spdlog/spdlog.h>

namespace medsoc::auth {

void AuditTrail::Record(const AuditEntry& e) {
  store::AuditRecord row;
  row.time = core::Now();
  row.tenant_id = e.tenant_id.empty() ? std::string(store::kDefaultTenant) : e.tenant_id;
  row.user = e.user.empty() ? "-" : e.user;
  row.role = e.role;
  row.source_ip = e.source_ip;
  row.action = e.action;
  row.target = e.target;
  row.outcome = e.outcome;
  row.detail = e.detail.substr(0, 512);
  auto r = store_.AppendAudit(std::move(row));
  if (!r.ok()) {
    failures_.fetch_add(1);
    spdlog::error("audit: failed to record {} {} by {}: {}", e.action, e.outcome, e.user, r.error().ToString());
  }
}

}  // namespace medsoc::auth
