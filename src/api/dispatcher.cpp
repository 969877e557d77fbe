#include "api/dispatcher.h"

#include <spdlog/spdlog.h>

#include "api/static_files.h"
#include "core/crypto.h"
#include "core/strings.h"

namespace medsoc::api {
namespace {


std::string OutcomeFor(int status) {
  if (status == 401 || status == 403) return "denied";
  return status < 400 ? "success" : "failure";
}

}  // namespace

Result<nlohmann::json> RequestContext::JsonBody() const {
  if (request_.body.empty()) return Error(ErrorCode::kInvalidArgument, "request body is empty; expected a JSON object");
  nlohmann::json j = nlohmann::json::parse(request_.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Re-parse with exceptions only to learn the position; still inside this adapter.
    try {
      (void)nlohmann::json::parse(request_.body);
    } catch (const nlohmann::json::parse_error& e) {
      return Error(ErrorCode::kInvalidArgument, "invalid JSON at byte " + std::to_string(e.byte));
    }
    return Error(ErrorCode::kInvalidArgument, "invalid JSON");
  }
  if (!j.is_object()) return Error(ErrorCode::kInvalidArgument, "expected a JSON object");
  return j;
}

Dispatcher::Dispatcher(const Router& router, ApiServices services) : router_(router), services_(services) {}

std::optional<auth::Principal> Dispatcher::Authenticate(const Request& request, std::string& why) {
  if (auto authz = request.Header("authorization")) {
    std::string_view v = core::TrimAscii(*authz);
    if (v.size() > 7 && (v.substr(0, 7) == "Bearer " || v.substr(0, 7) == "bearer ")) {
      auto p = services_.auth.AuthenticateToken(std::string(core::TrimAscii(v.substr(7))));
      if (p.ok()) return std::move(*p);
      why = p.error().message();
      return std::nullopt;
    }
    why = "unsupported Authorization scheme (use Bearer)";
    return std::nullopt;
  }
  if (auto cookie = request.Cookie(auth::kSessionCookie)) {
    auto p = services_.auth.AuthenticateSession(*cookie);
    if (p.ok()) return std::move(*p);
    why = p.error().message();
    return std::nullopt;
  }
  why = "未登录 (authentication required)";
  return std::nullopt;
}

Response Dispatcher::Handle(Request& request) {
  RouteMatch match = router_.Match(request.method, request.path);
  if (!match.route) {
    if (portal_ && !match.method_not_allowed) {
      if (auto page = portal_->Serve(request)) return std::move(*page);
    }
    Response r = match.method_not_allowed ? ErrorResponse(405, "method_not_allowed", "method not allowed on this path")
                                          : ErrorResponse(404, "not_found", "no such endpoint: " + request.path);
    if (match.method_not_allowed) {
      std::string allow;
      for (Method m : match.allowed) allow += (allow.empty() ? "" : ", ") + std::string(MethodName(m));
      r.SetHeader("Allow", allow);
    }
    r.SetHeader("X-Medsoc-Route", "unmatched");
    return r;
  }
  const Route& route = *match.route;
  request.path_params = std::move(match.params);
  const auth::Permission permission = *route.spec.permission;  // Validate() guarantees one

  std::string why;
  std::optional<auth::Principal> principal;
  const bool has_credentials = request.Header("authorization") || request.Cookie(auth::kSessionCookie);
  if (permission != auth::Permission::kPublic || has_credentials) principal = Authenticate(request, why);

  RequestContext ctx(request, principal);
  ctx.audit_action = std::string(MethodName(request.method)) + " " + route.spec.pattern;

  Response response;
  if (permission != auth::Permission::kPublic && !principal) {
    response = ErrorResponse(401, "unauthenticated", why);
  } else if (principal && principal->must_change_password && permission != auth::Permission::kPublic &&
             permission != auth::Permission::kAuthenticated) {
    response = ErrorResponse(403, "password_change_required",
                             "请先修改初始密码或已过期的密码 (change your password first: POST /api/v1/auth/password)");
  } else if (principal && !principal->Has(permission)) {
    response = ErrorResponse(403, "forbidden",
                             "角色无此权限 (role '" + std::string(auth::RoleName(principal->role)) +
                                 "' lacks permission '" + std::string(auth::PermissionName(permission)) + "')");
  } else if (principal && principal->kind == auth::Principal::Kind::kSession && IsStateChanging(request.method) &&
             !route.spec.csrf_exempt &&
             !core::ConstantTimeEquals(request.Header("x-csrf-token").value_or(""), principal->csrf_token)) {
    response = ErrorResponse(403, "csrf_failed", "missing or wrong X-CSRF-Token header");
  } else {
    try {
      response = route.handler(ctx);
    } catch (const std::exception& e) {
      spdlog::error("handler {} {} threw: {}", MethodName(request.method), route.spec.pattern, e.what());
      response = ErrorResponse(500, "internal", "internal error");
    }
  }

  const bool denied = response.status == 401 || response.status == 403;
  if ((IsStateChanging(request.method) || denied) && !ctx.audit_recorded_by_handler) {
    auth::AuditEntry entry;
    if (principal) {
      entry.tenant_id = principal->active_tenant_id;
      entry.user = principal->AuditName();
      entry.role = std::string(auth::RoleName(principal->role));
    }
    entry.source_ip = request.remote_ip;
    entry.action = ctx.audit_action;
    entry.target = ctx.audit_target.empty() ? request.path : ctx.audit_target;
    entry.outcome = OutcomeFor(response.status);
    entry.detail = ctx.audit_detail.empty() ? "HTTP " + std::to_string(response.status) : ctx.audit_detail;
    services_.audit.Record(entry);
  }
  response.SetHeader("X-Medsoc-Route", route.spec.pattern);
  return response;
}

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kParse: return 400;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kFailedPrecondition: return 409;
    case ErrorCode::kLocked: return 423;
    case ErrorCode::kResourceExhausted: return 429;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kIo:
    case ErrorCode::kCorruption:
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

Response ErrorFrom(const Error& error) {
  int status = HttpStatusFor(error.code());
  if (status >= 500) {
    spdlog::error("request failed: {}", error.ToString());
    return ErrorResponse(status, ErrorCodeName(error.code()), "internal error");
  }
  return ErrorResponse(status, ErrorCodeName(error.code()), error.ToString());
}

Response JsonResponse(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Result<std::optional<std::string>> OptionalString(const nlohmann::json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return Error(ErrorCode::kInvalidArgument, std::string("field '") + field + "' must be a string");
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::string> RequiredString(const nlohmann::json& body, const char* field) {
  MEDSOC_ASSIGN_OR_RETURN(auto v, OptionalString(body, field));
  if (!v) return Error(ErrorCode::kInvalidArgument, std::string("field '") + field + "' is required");
  return *v;
}

Result<std::optional<bool>> OptionalBool(const nlohmann::json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return Error(ErrorCode::kInvalidArgument, std::string("field '") + field + "' must be a boolean");
  return std::optional<bool>(it->get<bool>());
}

Result<std::optional<std::int64_t>> OptionalInt(const nlohmann::json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::optional<std::int64_t>();
  if (!it->is_number_integer())
    return Error(ErrorCode::kInvalidArgument, std::string("field '") + field + "' must be an integer");
  return std::optional<std::int64_t>(it->get<std::int64_t>());
}

}  // namespace medsoc::api
