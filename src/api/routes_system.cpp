// System routes: health, metrics, the OpenAPI document, and the audit trail (auditor only).
#include <mutex>

#include "api/routes.h"
#include "core/config.h"
#include "core/time.h"

namespace medsoc::api {
namespace {

using auth::Permission;

nlohmann::json AuditJson(const store::AuditRecord& r) {
  return {{"seq", r.seq},         {"time", core::FormatRfc3339(r.time)}, {"tenant", r.tenant_id},
          {"user", r.user},       {"role", r.role},                      {"source_ip", r.source_ip},
          {"action", r.action},   {"target", r.target},                  {"outcome", r.outcome},
          {"detail", r.detail},   {"hash", r.hash},                      {"prev_hash", r.prev_hash}};
}

Result<core::Timestamp> TimeParam(const Request& req, std::string_view name) {
  auto v = req.Query(name);
  if (!v || v->empty()) return core::Timestamp{};
  auto t = core::ParseRfc3339(*v);
  if (!t.ok()) return Error(ErrorCode::kInvalidArgument, "query parameter '" + std::string(name) + "': " + t.error().message());
  return *t;
}

Result<std::int64_t> IntParam(const Request& req, std::string_view name, std::int64_t fallback, std::int64_t lo,
                              std::int64_t hi) {
  auto v = req.Query(name);
  if (!v || v->empty()) return fallback;
  std::int64_t out = 0;
  for (char c : *v) {
    if (c < '0' || c > '9' || out > (hi + 1))
      return Error(ErrorCode::kInvalidArgument, "query parameter '" + std::string(name) + "' must be an integer");
    out = out * 10 + (c - '0');
  }
  if (out < lo || out > hi)
    return Error(ErrorCode::kInvalidArgument, "query parameter '" + std::string(name) + "' must be between " +
                                                  std::to_string(lo) + " and " + std::to_string(hi));
  return out;
}

}  // namespace

void RegisterSystemRoutes(Router& router, ApiServices& s) {
  router.Add({.method = Method::kGet,
              .pattern = "/healthz",
              .permission = Permission::kPublic,
              .summary = "Liveness and readiness: 200 when the state store answers",
              .tag = "system"},
             [&s](RequestContext&) {
               auto probe = s.store.GetSetting("health.probe");
               if (!probe.ok()) return JsonResponse(503, {{"status", "unavailable"}, {"store", "error"}});
               return JsonResponse(200, {{"status", "ok"}, {"version", MEDSOC_VERSION}});
             });

  router.Add({.method = Method::kGet,
              .pattern = "/metrics",
              .permission = Permission::kMetricsRead,
              .summary = "Prometheus metrics (text exposition format 0.0.4); use an API token with scope metrics.read",
              .tag = "system",
              .content_type = "text/plain; version=0.0.4"},
             [&s](RequestContext&) {
               s.metrics.SetGauge("medsoc_audit_append_failures", static_cast<double>(s.audit.failures()));
               Response r;
               r.content_type = "text/plain; version=0.0.4; charset=utf-8";
               r.body = s.metrics.Render();
               return r;
             });

  router.Add({.method = Method::kGet,
              .pattern = "/api/v1/config",
              .permission = Permission::kConfigRead,
              .summary = "The effective configuration, key by key with defaults; secrets are never shown",
              .tag = "system",
              .response_schema = R"({"type":"object","properties":{"items":{"type":"array","items":{
                "type":"object","properties":{"key":{"type":"string"},"value":{"type":"string"},
                "default":{"type":"string"},"secret":{"type":"boolean"}}}}}})"},
             [&s](RequestContext&) {
               nlohmann::json items = nlohmann::json::array();
               for (const auto& e : core::EffectiveConfig(s.options))
                 items.push_back({{"key", e.key}, {"value", e.value}, {"default", e.default_value}, {"secret", e.secret}});
               return JsonResponse(200, {{"items", items}});
             });

  router.Add({.method = Method::kGet,
              .pattern = "/api/v1/audit",
              .permission = Permission::kAuditRead,
              .summary = "The audit trail of the current tenant, newest first (auditors only)",
              .tag = "audit",
              .query_params = {{.name = "from", .description = "RFC 3339, inclusive"},
                               {.name = "to", .description = "RFC 3339, exclusive"},
                               {.name = "user", .description = "exact user name"},
                               {.name = "action", .description = "action prefix, e.g. auth."},
                               {.name = "outcome", .description = "success, failure or denied"},
                               {.name = "before", .type = "integer", .description = "cursor: rows with seq below this"},
                               {.name = "limit", .type = "integer", .description = "1-1000, default 100"}}},
             [&s](RequestContext& ctx) {
               const Request& req = ctx.request();
               store::AuditQuery q;
               auto from = TimeParam(req, "from");
               if (!from.ok()) return ErrorFrom(from.error());
               auto to = TimeParam(req, "to");
               if (!to.ok()) return ErrorFrom(to.error());
               auto before = IntParam(req, "before", 0, 0, INT64_MAX / 16);
               if (!before.ok()) return ErrorFrom(before.error());
               auto limit = IntParam(req, "limit", 100, 1, 1000);
               if (!limit.ok()) return ErrorFrom(limit.error());
               q.from = *from;
               q.to = *to;
               q.before_seq = *before;
               q.limit = static_cast<int>(*limit);
               q.user = std::string(req.Query("user").value_or(""));
               q.action_prefix = std::string(req.Query("action").value_or(""));
               q.outcome = std::string(req.Query("outcome").value_or(""));
               auto rows = s.store.ListAudit(ctx.scope(), q);
               if (!rows.ok()) return ErrorFrom(rows.error());
               nlohmann::json items = nlohmann::json::array();
               for (const auto& r : *rows) items.push_back(AuditJson(r));
               nlohmann::json out = {{"items", items}};
               if (!rows->empty() && static_cast<int>(rows->size()) == q.limit) out["next_before"] = rows->back().seq;
               return JsonResponse(200, out);
             });
}

void RegisterOpenApiRoute(Router& router, const std::string& version) {
  // Built on first request, when the table is complete and immutable, then served as is.
  struct Cache {
    std::once_flag once;
    std::string doc;
  };
  auto cache = std::make_shared<Cache>();
  router.Add({.method = Method::kGet,
              .pattern = "/api/v1/openapi.json",
              .permission = Permission::kPublic,
              .summary = "This API's OpenAPI 3.1 document, generated from the route table",
              .tag = "system"},
             [&router, version, cache](RequestContext&) {
               std::call_once(cache->once, [&] { cache->doc = router.OpenApi(version).dump(2); });
               Response r;
               r.body = cache->doc;
               return r;
             });
}

}  // namespace medsoc::api
