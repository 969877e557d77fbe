// Permissions and roles. Every HTTP route declares exactly one Permission (api/router.h refuses to
// start with a route that has none). Roles follow MLPS 2.0's separation of duties (三权分立):
//
//   sysadmin  system administrator: users, tenants, API tokens, configuration, metrics.
//             Cannot read the audit trail or change security content.
//   secadmin  security administrator: detection content, alerts, incidents, findings, assets.
//   analyst   security analyst: works alerts, incidents and findings; reads content and assets.
//   auditor   reads the audit trail and nothing else.
//   viewer    hospital leadership: read-only dashboards and reports.
//
// Thread-safety: constant tables; all functions are pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace medsoc::auth {

enum class Permission : std::uint8_t {
  kPublic,         // no authentication (login, health, OpenAPI)
  kAuthenticated,  // any signed-in principal acting on itself (logout, own password, whoami)
  kUsersRead,
  kUsersWrite,
  kTenantsRead,
  kTenantsWrite,
  kTokensManage,
  kConfigRead,
  kMetricsRead,
  kAuditRead,
  kContentRead,
  kContentWrite,
  kAlertsRead,
  kAlertsWrite,
  kIncidentsRead,
  kIncidentsWrite,
  kFindingsRead,
  kFindingsWrite,
  kAssetsRead,
  kAssetsWrite,
  kEventsRead,
  kIngestWrite,
  kDashboardsRead,
  kReportsRead,
  kReportsWrite,
};

enum class Role : std::uint8_t { kSysAdmin, kSecAdmin, kAnalyst, kAuditor, kViewer };

// Stable names used in the API, the CLI, the database and OpenAPI ("users.read", "sysadmin").
std::string_view PermissionName(Permission p);
std::optional<Permission> ParsePermission(std::string_view name);
std::string_view RoleName(Role r);
std::optional<Role> ParseRole(std::string_view name);
std::string_view RoleDisplayNameZh(Role r);  // 系统管理员, 安全管理员, 安全分析员, 审计员, 只读用户

const std::vector<Role>& AllRoles();
const std::vector<Permission>& AllPermissions();  // excluding kPublic and kAuthenticated

// True when `role` holds `p`. kPublic and kAuthenticated are held by every role.
bool RoleHas(Role role, Permission p);
std::vector<Permission> RolePermissions(Role role);

}  // namespace medsoc::auth
