#include "auth/permissions.h"

#include <algorithm>
#include <array>

namespace medsoc::auth {
namespace {

struct PermissionEntry {
  Permission p;
  std::string_view name;
};

constexpr std::array<PermissionEntry, 25> kPermissions{{
    {Permission::kPublic, "public"},
    {Permission::kAuthenticated, "authenticated"},
    {Permission::kUsersRead, "users.read"},
    {Permission::kUsersWrite, "users.write"},
    {Permission::kTenantsRead, "tenants.read"},
    {Permission::kTenantsWrite, "tenants.write"},
    {Permission::kTokensManage, "tokens.manage"},
    {Permission::kConfigRead, "config.read"},
    {Permission::kMetricsRead, "metrics.read"},
    {Permission::kAuditRead, "audit.read"},
    {Permission::kContentRead, "content.read"},
    {Permission::kContentWrite, "content.write"},
    {Permission::kAlertsRead, "alerts.read"},
    {Permission::kAlertsWrite, "alerts.write"},
    {Permission::kIncidentsRead, "incidents.read"},
    {Permission::kIncidentsWrite, "incidents.write"},
    {Permission::kFindingsRead, "findings.read"},
    {Permission::kFindingsWrite, "findings.write"},
    {Permission::kAssetsRead, "assets.read"},
    {Permission::kAssetsWrite, "assets.write"},
    {Permission::kEventsRead, "events.read"},
    {Permission::kIngestWrite, "ingest.write"},
    {Permission::kDashboardsRead, "dashboards.read"},
    {Permission::kReportsRead, "reports.read"},
    {Permission::kReportsWrite, "reports.write"},
}};

using P = Permission;

// The role table. Changing it changes who may do what: the authorization test in
// tests/integration walks every route against every role.
const std::vector<Permission>& Grants(Role role) {
  static const std::vector<Permission> kSysAdmin = {P::kUsersRead,    P::kUsersWrite,  P::kTenantsRead,
                                                    P::kTenantsWrite, P::kTokensManage, P::kConfigRead,
                                                    P::kMetricsRead,  P::kIngestWrite, P::kDashboardsRead};
  static const std::vector<Permission> kSecAdmin = {
      P::kTokensManage,   P::kContentRead,   P::kContentWrite,  P::kAlertsRead,   P::kAlertsWrite,
      P::kIncidentsRead,  P::kIncidentsWrite, P::kFindingsRead, P::kFindingsWrite, P::kAssetsRead,
      P::kAssetsWrite,    P::kEventsRead,    P::kIngestWrite,   P::kDashboardsRead, P::kReportsRead,
      P::kReportsWrite,   P::kMetricsRead};
  static const std::vector<Permission> kAnalyst = {P::kContentRead,    P::kAlertsRead,    P::kAlertsWrite,
                                                   P::kIncidentsRead,  P::kIncidentsWrite, P::kFindingsRead,
                                                   P::kFindingsWrite,  P::kAssetsRead,    P::kEventsRead,
                                                   P::kDashboardsRead, P::kReportsRead};
  static const std::vector<Permission> kAuditor = {P::kAuditRead};
  static const std::vector<Permission> kViewer = {P::kDashboardsRead, P::kReportsRead};
  switch (role) {
    case Role::kSysAdmin: return kSysAdmin;
    case Role::kSecAdmin: return kSecAdmin;
    case Role::kAnalyst: return kAnalyst;
    case Role::kAuditor: return kAuditor;
    case Role::kViewer: return kViewer;
  }
  return kViewer;
}

}  // namespace

std::string_view PermissionName(Permission p) {
  for (const auto& e : kPermissions)
    if (e.p == p) return e.name;
  return "unknown";
}

std::optional<Permission> ParsePermission(std::string_view name) {
  for (const auto& e : kPermissions)
    if (e.name == name) return e.p;
  return std::nullopt;
}

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kSysAdmin: return "sysadmin";
    case Role::kSecAdmin: return "secadmin";
    case Role::kAnalyst: return "analyst";
    case Role::kAuditor: return "auditor";
    case Role::kViewer: return "viewer";
  }
  return "viewer";
}

std::string_view RoleDisplayNameZh(Role r) {
  switch (r) {
    case Role::kSysAdmin: return "系统管理员";
    case Role::kSecAdmin: return "安全管理员";
    case Role::kAnalyst: return "安全分析员";
    case Role::kAuditor: return "审计员";
    case Role::kViewer: return "只读用户";
  }
  return "";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role r : AllRoles())
    if (RoleName(r) == name) return r;
  return std::nullopt;
}

const std::vector<Role>& AllRoles() {
  static const std::vector<Role> kRoles = {Role::kSysAdmin, Role::kSecAdmin, Role::kAnalyst, Role::kAuditor,
                                           Role::kViewer};
  return kRoles;
}

const std::vector<Permission>& AllPermissions() {
  static const std::vector<Permission> kAll = [] {
    std::vector<Permission> v;
    for (const auto& e : kPermissions)
      if (e.p != P::kPublic && e.p != P::kAuthenticated) v.push_back(e.p);
    return v;
  }();
  return kAll;
}

bool RoleHas(Role role, Permission p) {
  if (p == P::kPublic || p == P::kAuthenticated) return true;
  const auto& g = Grants(role);
  return std::find(g.begin(), g.end(), p) != g.end();
}

std::vector<Permission> RolePermissions(Role role) { return Grants(role); }

}  // namespace medsoc::auth
