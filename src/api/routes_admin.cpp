// Administration: users, API tokens, tenants, roles. Every storage call goes through the
// request's TenantScope, so an administrator of one hospital never reaches another's objects.
#include "api/routes.h"
#include "core/ids.h"
#include "core/time.h"

namespace medsoc::api {
namespace {

using auth::Permission;

nlohmann::json NullableTime(core::Timestamp t) {
  if (t.ns == 0) return nullptr;
  return core::FormatRfc3339(t);
}

constexpr const char* kUserSchema = R"({"type":"object","properties":{
  "id":{"type":"string"},"tenant":{"type":"string"},"username":{"type":"string"},"display_name":{"type":"string"},
  "role":{"type":"string"},"provider_wide":{"type":"boolean"},"disabled":{"type":"boolean"},
  "must_change_password":{"type":"boolean"},"locked_until":{"type":["string","null"]},
  "created_at":{"type":"string"},"last_login_at":{"type":["string","null"]}}})";
constexpr const char* kTokenSchema = R"({"type":"object","properties":{
  "id":{"type":"string"},"name":{"type":"string"},"role":{"type":"string"},
  "scopes":{"type":"array","items":{"type":"string"}},"created_at":{"type":"string"},
  "expires_at":{"type":"string"},"revoked_at":{"type":["string","null"]},"last_used_at":{"type":["string","null"]},
  "secret":{"type":"string","description":"only in the response to creation"}}})";

bool ValidTenantId(const std::string& id) {
  if (id.empty() || id.size() > 63) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0);
    if (!ok) return false;
  }
  return true;
}

std::string ListSchema(const char* item) {
  return std::string(R"({"type":"object","properties":{"items":{"type":"array","items":)") + item + "}}}";
}

Response NotFound(const std::string& what) { return ErrorResponse(404, "not_found", what + " not found"); }

}  // namespace

nlohmann::json UserJson(const store::User& u) {
  return {{"id", u.id},
          {"tenant", u.tenant_id},
          {"username", u.username},
          {"display_name", u.display_name},
          {"role", u.role},
          {"provider_wide", u.provider_wide},
          {"disabled", u.disabled},
          {"must_change_password", u.must_change_password},
          {"locked_until", u.locked_until > core::Now() ? NullableTime(u.locked_until) : nullptr},
          {"password_changed_at", NullableTime(u.password_changed_at)},
          {"created_at", NullableTime(u.created_at)},
          {"last_login_at", NullableTime(u.last_login_at)}};
}

nlohmann::json TokenJson(const store::ApiToken& t) {
  return {{"id", t.id},
          {"tenant", t.tenant_id},
          {"name", t.name},
          {"role", t.role},
          {"scopes", t.scopes},
          {"created_by", t.created_by},
          {"created_at", NullableTime(t.created_at)},
          {"expires_at", NullableTime(t.expires_at)},
          {"revoked_at", NullableTime(t.revoked_at)},
          {"last_used_at", NullableTime(t.last_used_at)}};
}

void RegisterAdminRoutes(Router& router, ApiServices& s) {
  // ---- users ----
  router.Add({.method = Method::kGet,
              .pattern = "/api/v1/users",
              .permission = Permission::kUsersRead,
              .summary = "List the users of the current tenant",
              .tag = "users",
              .response_schema = ListSchema(kUserSchema)},
             [&s](RequestContext& ctx) {
               auto users = s.store.ListUsers(ctx.scope());
               if (!users.ok()) return ErrorFrom(users.error());
               nlohmann::json items = nlohmann::json::array();
               for (const auto& u : *users) items.push_back(UserJson(u));
               return JsonResponse(200, {{"items", items}});
             });

  router.Add({.method = Method::kPost,
              .pattern = "/api/v1/users",
              .permission = Permission::kUsersWrite,
              .summary = "Create a user in the current tenant; the password must be changed at first login",
              .tag = "users",
              .request_schema = R"({"type":"object","required":["username","role","password"],"properties":{
                "username":{"type":"string"},"display_name":{"type":"string"},
                "role":{"type":"string","enum":["sysadmin","secadmin","analyst","auditor","viewer"]},
                "password":{"type":"string"},"provider_wide":{"type":"boolean"}}})",
              .response_schema = kUserSchema,
              .success_status = 201},
             [&s](RequestContext& ctx) {
               auto body = ctx.JsonBody();
               if (!body.ok()) return ErrorFrom(body.error());
               auto username = RequiredString(*body, "username");
               if (!username.ok()) return ErrorFrom(username.error());
               auto role_name = RequiredString(*body, "role");
               if (!role_name.ok()) return ErrorFrom(role_name.error());
               auto password = RequiredString(*body, "password");
               if (!password.ok()) return ErrorFrom(password.error());
               auto display = OptionalString(*body, "display_name");
               if (!display.ok()) return ErrorFrom(display.error());
               auto provider_wide = OptionalBool(*body, "provider_wide");
               if (!provider_wide.ok()) return ErrorFrom(provider_wide.error());
               auto role = auth::ParseRole(*role_name);
               if (!role) return ErrorResponse(400, "invalid_argument", "unknown role '" + *role_name + "'");
               if (provider_wide->value_or(false) && !ctx.principal().provider_wide)
                 return ErrorResponse(403, "forbidden", "only provider-wide administrators may create provider-wide users");
               ctx.audit_target = "user:" + *username;
               auto user = s.auth.CreateUser(ctx.scope(), {.username = *username,
                                                           .display_name = display->value_or(""),
                                                           .role = *role,
                                                           .provider_wide = provider_wide->value_or(false),
                                                           .password = *password,
                                                           .must_change_password = true});
               if (!user.ok()) return ErrorFrom(user.error());
               ctx.audit_target = "user:" + user->id;
               ctx.audit_detail = "created " + *username + " with role " + *role_name;
               return JsonResponse(201, UserJson(*user));
             });

  router.Add({.method = Method::kGet,
              .pattern = "/api/v1/users/{id}",
              .permission = Permission::kUsersRead,
              .summary = "One user of the current tenant",
              .tag = "users",
              .response_schema = kUserSchema},
             [&s](RequestContext& ctx) {
               auto user = s.store.GetUser(ctx.scope(), ctx.request().path_params["id"]);
               if (!user.ok()) return ErrorFrom(user.error());
               if (!*user) return NotFound("user");
               return JsonResponse(200, UserJson(**user));
             });

  router.Add({.method = Method::kPatch,
              .pattern = "/api/v1/users/{id}",
              .permission = Permission::kUsersWrite,
              .summary = "Change a user's role, display name, disabled flag, or clear a lockout",
              .tag = "users",
              .request_schema = R"({"type":"object","properties":{
                "role":{"type":"string"},"display_name":{"type":"string"},"disabled":{"type":"boolean"},
                "unlock":{"type":"boolean"}}})",
              .response_schema = kUserSchema},
             [&s](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "user:" + id;
               auto body = ctx.JsonBody();
               if (!body.ok()) return ErrorFrom(body.error());
               auto role_name = OptionalString(*body, "role");
               auto display = OptionalString(*body, "display_name");
               auto disabled = OptionalBool(*body, "disabled");
               auto unlock = OptionalBool(*body, "unlock");
               for (const Status& st : {role_name.ok() ? Ok() : Status(role_name.error()),
                                        display.ok() ? Ok() : Status(display.error()),
                                        disabled.ok() ? Ok() : Status(disabled.error()),
                                        unlock.ok() ? Ok() : Status(unlock.error())})
                 if (!st.ok()) return ErrorFrom(st.error());
               auto user = s.store.GetUser(ctx.scope(), id);
               if (!user.ok()) return ErrorFrom(user.error());
               if (!*user) return NotFound("user");
               if (id == ctx.principal().user_id && (*role_name || disabled->value_or(false)))
                 return ErrorResponse(409, "failed_precondition", "you cannot change your own role or disable yourself");
               std::string detail;
               if (*role_name) {
                 auto role = auth::ParseRole(**role_name);
                 if (!role) return ErrorResponse(400, "invalid_argument", "unknown role '" + **role_name + "'");
                 if (auto st = s.auth.SetRole(ctx.scope(), id, *role); !st.ok()) return ErrorFrom(st.error());
                 detail += "role=" + **role_name + " ";
               }
               if (*disabled) {
                 if (auto st = s.auth.SetDisabled(ctx.scope(), id, **disabled); !st.ok()) return ErrorFrom(st.error());
                 detail += std::string("disabled=") + (**disabled ? "true " : "false ");
               }
               if (unlock->value_or(false)) {
                 if (auto st = s.auth.Unlock(ctx.scope(), id); !st.ok()) return ErrorFrom(st.error());
                 detail += "unlocked ";
               }
               if (*display) {
                 auto fresh = s.store.GetUser(ctx.scope(), id);
                 if (!fresh.ok() || !*fresh) return ErrorResponse(500, "internal", "internal error");
                 (*fresh)->display_name = **display;
                 if (auto st = s.store.UpdateUser(ctx.scope(), **fresh); !st.ok()) return ErrorFrom(st.error());
                 detail += "display_name ";
               }
               ctx.audit_detail = detail.empty() ? "no change" : detail;
               auto after = s.store.GetUser(ctx.scope(), id);
               if (!after.ok() || !*after) return ErrorResponse(500, "internal", "internal error");
               return JsonResponse(200, UserJson(**after));
             });

  router.Add({.method = Method::kPost,
              .pattern = "/api/v1/users/{id}/password",
              .permission = Permission::kUsersWrite,
              .summary = "Reset a user's password; the user must change it at next login and their sessions end",
              .tag = "users",
              .request_schema = R"({"type":"object","required":["password"],"properties":{"password":{"type":"string"}}})",
              .success_status = 204},
             [&s](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "user:" + id;
               ctx.audit_action = "users.password_reset";
               auto body = ctx.JsonBody();
               if (!body.ok()) return ErrorFrom(body.error());
               auto password = RequiredString(*body, "password");
               if (!password.ok()) return ErrorFrom(password.error());
               auto st = s.auth.SetPassword(ctx.scope(), id, *password, /*must_change=*/true);
               if (!st.ok()) return ErrorFrom(st.error());
               Response r;
               r.status = 204;
               return r;
             });

  // ---- API tokens ----
  router.Add({.method = Method::kGet,
              .pattern = "/api/v1/tokens",
              .permission = Permission::kTokensManage,
              .summary = "List the API tokens of the current tenant (never their secrets)",
              .tag = "tokens",
              .response_schema = ListSchema(kTokenSchema)},
             [&s](RequestContext& ctx) {
               auto tokens = s.store.ListApiTokens(ctx.scope());
               if (!tokens.ok()) return ErrorFrom(tokens.error());
               nlohmann::json items = nlohmann::json::array();
               for (const auto& t : *tokens) items.push_back(TokenJson(t));
               return JsonResponse(200, {{"items", items}});
             });

  router.Add({.method = Method::kPost,
              .pattern = "/api/v1/tokens",
              .permission = Permission::kTokensManage,
              .summary = "Create an API token for a machine or collector; the secret is returned once",
              .tag = "tokens",
              .request_schema = R"({"type":"object","required":["name","scopes"],"properties":{
                "name":{"type":"string"},"scopes":{"type":"array","items":{"type":"string"}},
                "expires_in_days":{"type":"integer","minimum":1}}})",
              .response_schema = kTokenSchema,
              .success_status = 201},
             [&s](RequestContext& ctx) {
               auto body = ctx.JsonBody();
               if (!body.ok()) return ErrorFrom(body.error());
               auto name = RequiredString(*body, "name");
               if (!name.ok()) return ErrorFrom(name.error());
               auto days = OptionalInt(*body, "expires_in_days");
               if (!days.ok()) return ErrorFrom(days.error());
               auto it = body->find("scopes");
               if (it == body->end() || !it->is_array() || it->empty())
                 return ErrorResponse(400, "invalid_argument", "field 'scopes' must be a non-empty array of permission names");
               std::vector<Permission> scopes;
               for (const auto& v : *it) {
                 auto p = v.is_string() ? auth::ParsePermission(v.get<std::string>()) : std::nullopt;
                 if (!p || *p == Permission::kPublic || *p == Permission::kAuthenticated)
                   return ErrorResponse(400, "invalid_argument", "unknown scope " + v.dump());
                 scopes.push_back(*p);
               }
               int valid_days = static_cast<int>(
                   std::clamp<std::int64_t>(days->value_or(90), -1, s.auth.options().token_max_days + 1LL));
               auto created = s.auth.CreateToken(ctx.principal(), *name, scopes, valid_days);
               if (!created.ok()) return ErrorFrom(created.error());
               ctx.audit_target = "token:" + created->token.id;
               ctx.audit_detail = "created token '" + *name + "' scopes " + it->dump();
               nlohmann::json j = TokenJson(created->token);
               j["secret"] = created->secret;
               return JsonResponse(201, j);
             });

  router.Add({.method = Method::kDelete,
              .pattern = "/api/v1/tokens/{id}",
              .permission = Permission::kTokensManage,
              .summary = "Revoke an API token",
              .tag = "tokens",
              .success_status = 204},
             [&s](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "token:" + id;
               auto st = s.store.RevokeApiToken(ctx.scope(), id, core::Now());
               if (!st.ok()) return ErrorFrom(st.error());
               Response r;
               r.status = 204;
               return r;
             });

  // ---- tenants ----
  router.Add({.method = Method::kGet,
              .pattern = "/api/v1/tenants",
              .permission = Permission::kTenantsRead,
              .summary = "Tenants (hospitals): all for provider-wide users, else only your own",
              .tag = "tenants"},
             [&s](RequestContext& ctx) {
               nlohmann::json items = nlohmann::json::array();
               auto tenants = s.store.ListTenants();
               if (!tenants.ok()) return ErrorFrom(tenants.error());
               for (const auto& t : *tenants)
                 if (ctx.principal().provider_wide || t.id == ctx.principal().home_tenant_id)
                   items.push_back({{"id", t.id}, {"name", t.name}, {"created_at", NullableTime(t.created_at)}});
               return JsonResponse(200, {{"items", items}});
             });

  router.Add({.method = Method::kPost,
              .pattern = "/api/v1/tenants",
              .permission = Permission::kTenantsWrite,
              .summary = "Create a tenant (provider-wide system administrators only)",
              .tag = "tenants",
              .request_schema = R"({"type":"object","required":["id","name"],"properties":{
                "id":{"type":"string","pattern":"^[a-z0-9][a-z0-9-]{0,62}$"},"name":{"type":"string"}}})",
              .success_status = 201},
             [&s](RequestContext& ctx) {
               if (!ctx.principal().provider_wide)
                 return ErrorResponse(403, "forbidden", "only provider-wide administrators may create tenants");
               auto body = ctx.JsonBody();
               if (!body.ok()) return ErrorFrom(body.error());
               auto id = RequiredString(*body, "id");
               if (!id.ok()) return ErrorFrom(id.error());
               auto name = RequiredString(*body, "name");
               if (!name.ok()) return ErrorFrom(name.error());
               if (!ValidTenantId(*id))
                 return ErrorResponse(400, "invalid_argument", "tenant id must match ^[a-z0-9][a-z0-9-]{0,62}$");
               if (name->empty() || name->size() > 256)
                 return ErrorResponse(400, "invalid_argument", "tenant name must be 1-256 bytes");
               ctx.audit_target = "tenant:" + *id;
               store::Tenant t{.id = *id, .name = *name, .created_at = core::Now()};
               if (auto st = s.store.CreateTenant(t); !st.ok()) return ErrorFrom(st.error());
               return JsonResponse(201, {{"id", t.id}, {"name", t.name}, {"created_at", NullableTime(t.created_at)}});
             });

  // ---- roles ----
  router.Add({.method = Method::kGet,
              .pattern = "/api/v1/roles",
              .permission = Permission::kAuthenticated,
              .summary = "Roles and the permissions each holds",
              .tag = "users"},
             [](RequestContext&) {
               nlohmann::json items = nlohmann::json::array();
               for (auth::Role r : auth::AllRoles()) {
                 nlohmann::json perms = nlohmann::json::array();
                 for (Permission p : auth::RolePermissions(r)) perms.push_back(auth::PermissionName(p));
                 items.push_back({{"id", auth::RoleName(r)}, {"name", auth::RoleDisplayNameZh(r)}, {"permissions", perms}});
               }
               return JsonResponse(200, {{"items", items}});
             });
}

}  // namespace medsoc::api
