// Rule management: the Sigma rule packs detection runs (built-in medsoc and SigmaHQ packs, and
// each tenant's custom rules), per-tenant enable/disable, custom uploads validated with
// line:column problems, and per-rule statistics. Reading needs content.read, changing
// content.write; the dispatcher records every state-changing request in the audit trail.
//
//   GET    /api/v1/rules                 list and search (q, level, tag, logsource, enabled,
//                                        origin, offset, limit)
//   GET    /api/v1/rules/stats           rules with the most hits, and the load summary
//   GET    /api/v1/rules/{id}            one rule with its YAML source and statistics
//   POST   /api/v1/rules/{id}/enable     enable for the caller's tenant
//   POST   /api/v1/rules/{id}/disable    disable for the caller's tenant
//   POST   /api/v1/rules                 upload a custom rule {"yaml": "..."}: 201, or 400 with
//                                        error.problems [{line, column, severity, rule_id, reason}]
//   DELETE /api/v1/rules/{id}            delete a custom rule of the caller's tenant
#pragma once

#include "api/dispatcher.h"
#include "api/router.h"
#include "detect/rule_store.h"

namespace medsoc::api {

void RegisterRuleRoutes(Router& router, ApiServices& services, detect::RuleService& rules);

nlohmann::json RuleJson(const detect::RuleView& rule, bool with_source);

}  // namespace medsoc::api
