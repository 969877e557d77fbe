// Triage routes: alerts, incidents (lifecycle, owner, watchers, comments, evidence, links, timeline,
// SLA, report), suppressions, allow-lists, maintenance windows, verdicts, noise-reduction figures,
// the minimal asset directory, SLA policies and the on-call roster. All under /api/v1/triage/.
// Every state-changing request is audited by the dispatcher; handlers set audit_target.
#pragma once

#include "api/dispatcher.h"
#include "api/router.h"
#include "triage/service.h"

namespace medsoc::triage::notify {
class NotificationService;
}

namespace medsoc::api {

void RegisterTriageRoutes(Router& router, ApiServices& services, triage::TriageService& triage);

// Notification channels, routes, test-send and the delivery log under /api/v1/triage/notify/.
void RegisterNotifyRoutes(Router& router, ApiServices& services, triage::notify::NotificationService& notify);

}  // namespace medsoc::api
