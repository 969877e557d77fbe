// /api/v1/auth/*: login, logout, the current principal, own password, tenant switch.
#include "api/routes.h"
#include "core/time.h"

namespace medsoc::api {
namespace {

using auth::Permission;

std::string SessionCookie(const std::string& value, bool tls, bool expire) {
  std::string c = std::string(auth::kSessionCookie) + "=" + value + "; Path=/; HttpOnly; SameSite=Strict";
  if (tls) c += "; Secure";
  if (expire) c += "; Max-Age=0";
  return c;
}

nlohmann::json PrincipalJson(const auth::Principal& p) {
  nlohmann::json perms = nlohmann::json::array();
  for (Permission perm : auth::AllPermissions())
    if (p.Has(perm)) perms.push_back(auth::PermissionName(perm));
  nlohmann::json j = {{"user_id", p.user_id},
                      {"username", p.username},
                      {"role", auth::RoleName(p.role)},
                      {"role_name", auth::RoleDisplayNameZh(p.role)},
                      {"provider_wide", p.provider_wide},
                      {"home_tenant", p.home_tenant_id},
                      {"tenant", p.active_tenant_id},
                      {"must_change_password", p.must_change_password},
                      {"permissions", perms},
                      {"kind", p.kind == auth::Principal::Kind::kSession ? "session" : "token"}};
  if (p.kind == auth::Principal::Kind::kSession) j["csrf_token"] = p.csrf_token;
  return j;
}

constexpr const char* kLoginSchema = R"({"type":"object","required":["username","password"],
  "properties":{"username":{"type":"string"},"password":{"type":"string"}}})";
constexpr const char* kPrincipalSchema = R"({"type":"object","properties":{
  "user_id":{"type":"string"},"username":{"type":"string"},"role":{"type":"string"},
  "provider_wide":{"type":"boolean"},"tenant":{"type":"string"},"must_change_password":{"type":"boolean"},
  "permissions":{"type":"array","items":{"type":"string"}},"csrf_token":{"type":"string"}}})";

}  // namespace

void RegisterAuthRoutes(Router& router, ApiServices& s) {
  router.Add({.method = Method::kPost,
              .pattern = "/api/v1/auth/login",
              .permission = Permission::kPublic,
              .summary = "Log in with username and password; sets the session cookie and returns the CSRF token",
              .tag = "auth",
              .request_schema = kLoginSchema,
              .response_schema = kPrincipalSchema,
              .csrf_exempt = true},
             [&s](RequestContext& ctx) {
               auto body = ctx.JsonBody();
               if (!body.ok()) return ErrorFrom(body.error());
               auto username = RequiredString(*body, "username");
               if (!username.ok()) return ErrorFrom(username.error());
               auto password = RequiredString(*body, "password");
               if (!password.ok()) return ErrorFrom(password.error());
               ctx.audit_recorded_by_handler = true;  // AuthService audits every attempt
               auto result = s.auth.Login(*username, *password, ctx.request().remote_ip);
               if (!result.ok()) {
                 Response r = ErrorFrom(result.error());
                 if (result.error().code() == ErrorCode::kResourceExhausted)
                   r.SetHeader("Retry-After", std::to_string(s.auth.options().lockout_window_minutes * 60));
                 return r;
               }
               Response r = JsonResponse(200, PrincipalJson(result->principal));
               r.SetHeader("Set-Cookie", SessionCookie(result->session_token, ctx.request().tls, false));
               return r;
             });

  router.Add({.method = Method::kPost,
              .pattern = "/api/v1/auth/logout",
              .permission = Permission::kAuthenticated,
              .summary = "End the current session",
              .tag = "auth",
              .success_status = 204},
             [&s](RequestContext& ctx) {
               auto st = s.auth.Logout(ctx.principal());
               if (!st.ok()) return ErrorFrom(st.error());
               Response r;
               r.status = 204;
               r.SetHeader("Set-Cookie", SessionCookie("", ctx.request().tls, true));
               return r;
             });

  router.Add({.method = Method::kGet,
              .pattern = "/api/v1/auth/me",
              .permission = Permission::kAuthenticated,
              .summary = "The signed-in principal: role, permissions, tenant and CSRF token",
              .tag = "auth",
              .response_schema = kPrincipalSchema},
             [](RequestContext& ctx) { return JsonResponse(200, PrincipalJson(ctx.principal())); });

  router.Add({.method = Method::kPost,
              .pattern = "/api/v1/auth/password",
              .permission = Permission::kAuthenticated,
              .summary = "Change your own password (policy: length, classes, history)",
              .tag = "auth",
              .request_schema = R"({"type":"object","required":["current_password","new_password"],
                "properties":{"current_password":{"type":"string"},"new_password":{"type":"string"}}})",
              .success_status = 204},
             [&s](RequestContext& ctx) {
               auto body = ctx.JsonBody();
               if (!body.ok()) return ErrorFrom(body.error());
               auto current = RequiredString(*body, "current_password");
               if (!current.ok()) return ErrorFrom(current.error());
               auto next = RequiredString(*body, "new_password");
               if (!next.ok()) return ErrorFrom(next.error());
               if (ctx.principal().kind != auth::Principal::Kind::kSession)
                 return ErrorResponse(403, "forbidden", "API tokens cannot change passwords");
               ctx.audit_action = "auth.password_change";
               ctx.audit_target = "user:" + ctx.principal().user_id;
               auto st = s.auth.ChangeOwnPassword(ctx.principal(), *current, *next);
               if (!st.ok()) return ErrorFrom(st.error());
               Response r;
               r.status = 204;
               return r;
             });

  router.Add({.method = Method::kPost,
              .pattern = "/api/v1/auth/tenant",
              .permission = Permission::kAuthenticated,
              .summary = "Provider-wide users: switch the tenant (hospital) this session acts in",
              .tag = "auth",
              .request_schema = R"({"type":"object","required":["tenant"],"properties":{"tenant":{"type":"string"}}})",
              .response_schema = kPrincipalSchema},
             [&s](RequestContext& ctx) {
               auto body = ctx.JsonBody();
               if (!body.ok()) return ErrorFrom(body.error());
               auto tenant = RequiredString(*body, "tenant");
               if (!tenant.ok()) return ErrorFrom(tenant.error());
               ctx.audit_action = "auth.switch_tenant";
               ctx.audit_target = "tenant:" + *tenant;
               auto st = s.auth.SwitchTenant(ctx.principal(), *tenant);
               if (!st.ok()) return ErrorFrom(st.error());
               return JsonResponse(200, PrincipalJson(ctx.principal()));
             });
}

}  // namespace medsoc::api
