// Route registration. Each Register...Routes adds one area's routes, with their permissions and
// documentation, to the router; app/ calls them in order at start-up. Handlers live in
// routes_<area>.cpp.
#pragma once

#include <string>

#include "api/dispatcher.h"
#include "api/router.h"

namespace medsoc::api {

void RegisterSystemRoutes(Router& router, ApiServices& services);  // /healthz, /metrics, OpenAPI, audit
void RegisterAuthRoutes(Router& router, ApiServices& services);    // login, logout, me, password, tenant
void RegisterAdminRoutes(Router& router, ApiServices& services);   // users, tokens, tenants, roles

// The OpenAPI route needs the finished table; app/ registers it last through this.
void RegisterOpenApiRoute(Router& router, const std::string& version);

// JSON views shared by handlers (never containing secrets or hashes).
nlohmann::json UserJson(const store::User& user);
nlohmann::json TokenJson(const store::ApiToken& token);

}  // namespace medsoc::api
