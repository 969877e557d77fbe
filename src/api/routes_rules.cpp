// Rule management routes (routes_rules.h). Tenancy: the caller's active tenant (ctx.scope()) is the
// tenant whose enable state and custom rules a request reads or changes.
#include "api/routes_rules.h"

#include <nlohmann/json.hpp>

namespace medsoc::api {
namespace {

using auth::Permission;

constexpr const char* kRuleSchema = R"({"type":"object","properties":{
  "id":{"type":"string"},"name":{"type":"string"},"title":{"type":"string"},"description":{"type":"string"},
  "level":{"type":"string","enum":["informational","low","medium","high","critical"]},"status":{"type":"string"},
  "tags":{"type":"array","items":{"type":"string"}},"falsepositives":{"type":"array","items":{"type":"string"}},
  "logsource":{"type":"object","properties":{"product":{"type":"string"},"category":{"type":"string"},"service":{"type":"string"}}},
  "kind":{"type":"string","enum":["detection","correlation"]},"correlation_type":{"type":"string"},
  "origin":{"type":"string","enum":["builtin","sigmahq","custom"]},"enabled":{"type":"boolean"},
  "file":{"type":"string"},"line":{"type":"integer"},
  "stats":{"type":"object","properties":{"hits":{"type":"integer"},"evaluations":{"type":"integer"},"avg_cost_ns":{"type":"number"}}},
  "source":{"type":"string","description":"the rule's YAML; only in GET /api/v1/rules/{id}"}}})";

std::string ListSchema() {
  return std::string(R"({"type":"object","properties":{"items":{"type":"array","items":)") + kRuleSchema +
         R"(},"total":{"type":"integer"},"offset":{"type":"integer"},"limit":{"type":"integer"}}})";
}

Result<std::size_t> SizeParam(const Request& r, std::string_view name, std::size_t fallback, std::size_t max) {
  auto v = r.Query(name);
  if (!v || v->empty()) return fallback;
  std::size_t n = 0;
  for (char c : *v) {
    if (c < '0' || c > '9' || n > 100'000'000) return Error(ErrorCode::kInvalidArgument, std::string(name) + " must be a non-negative integer");
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  return std::min(n, max);
}

Response ProblemsResponse(const std::vector<detect::Problem>& problems) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& p : problems)
    list.push_back({{"line", p.pos.line},
                    {"column", p.pos.column},
                    {"severity", std::string(detect::SeverityName(p.severity))},
                    {"rule_id", p.rule_id},
                    {"reason", p.reason},
                    {"text", p.ToString()}});
  std::string summary = "the rule has " + std::to_string(problems.size()) + " problem(s)";
  if (!problems.empty()) summary += "; first: " + problems.front().ToString();
  return JsonResponse(400, {{"error", {{"code", "invalid_argument"}, {"message", summary}, {"problems", list}}}});
}

}  // namespace

nlohmann::json RuleJson(const detect::RuleView& r, bool with_source) {
  nlohmann::json j = {{"id", r.id},
                      {"name", r.name},
                      {"title", r.title},
                      {"description", r.description},
                      {"level", r.level},
                      {"status", r.status},
                      {"tags", r.tags},
                      {"falsepositives", r.falsepositives},
                      {"logsource",
                       {{"product", r.logsource.product}, {"category", r.logsource.category}, {"service", r.logsource.service}}},
                      {"kind", r.kind},
                      {"origin", std::string(detect::RuleOriginName(r.origin))},
                      {"enabled", r.enabled},
                      {"file", r.file},
                      {"line", r.pos.line},
                      {"stats", {{"hits", r.hits}, {"evaluations", r.evaluations}, {"avg_cost_ns", r.avg_cost_ns}}}};
  if (!r.correlation_type.empty()) j["correlation_type"] = r.correlation_type;
  if (with_source) j["source"] = r.source_text;
  return j;
}

void RegisterRuleRoutes(Router& router, ApiServices& /*services*/, detect::RuleService& rules) {
  router.Add({.method = Method::kGet,
              .pattern = "/api/v1/rules",
              .permission = Permission::kContentRead,
              .summary = "List and search the detection rules visible to the current tenant",
              .tag = "rules",
              .query_params = {{"q", "string", "text in id, name, title or description (case-insensitive)"},
                               {"level", "string", "informational, low, medium, high or critical"},
                               {"tag", "string", "a tag (attack.t1110) or a prefix ending in '.' (attack.)"},
                               {"logsource", "string", "text in 'product=.. category=.. service=..'"},
                               {"enabled", "boolean", "true or false, for the current tenant"},
                               {"origin", "string", "builtin, sigmahq or custom"},
                               {"offset", "integer", "skip this many (default 0)"},
                               {"limit", "integer", "at most this many (default 100, at most 1000)"}},
              .response_schema = ListSchema()},
             [&rules](RequestContext& ctx) {
               const Request& r = ctx.request();
               detect::RuleQuery q;
               q.text = std::string(r.Query("q").value_or(""));
               q.level = std::string(r.Query("level").value_or(""));
               q.tag = std::string(r.Query("tag").value_or(""));
               q.logsource = std::string(r.Query("logsource").value_or(""));
               q.origin = std::string(r.Query("origin").value_or(""));
               if (auto e = r.Query("enabled"); e && !e->empty()) {
                 if (*e != "true" && *e != "false")
                   return ErrorResponse(400, "invalid_argument", "enabled must be true or false");
                 q.enabled = *e == "true";
               }
               auto offset = SizeParam(r, "offset", 0, static_cast<std::size_t>(-1) / 2);
               if (!offset.ok()) return ErrorFrom(offset.error());
               auto limit = SizeParam(r, "limit", 100, 1000);
               if (!limit.ok()) return ErrorFrom(limit.error());
               q.offset = *offset;
               q.limit = *limit;
               auto page = rules.List(ctx.scope().tenant_id(), q);
               nlohmann::json items = nlohmann::json::array();
               for (const auto& v : page.items) items.push_back(RuleJson(v, false));
               return JsonResponse(200, {{"items", items}, {"total", page.total}, {"offset", q.offset}, {"limit", q.limit}});
             });

  router.Add({.method = Method::kGet,
              .pattern = "/api/v1/rules/stats",
              .permission = Permission::kContentRead,
              .summary = "Rules with the most hits, and the load summary of the rule packs",
              .tag = "rules",
              .query_params = {{"limit", "integer", "how many rules (default 20, at most 500)"}}},
             [&rules](RequestContext& ctx) {
               auto limit = SizeParam(ctx.request(), "limit", 20, 500);
               if (!limit.ok()) return ErrorFrom(limit.error());
               nlohmann::json top = nlohmann::json::array();
               for (const auto& v : rules.Top(ctx.scope().tenant_id(), *limit)) top.push_back(RuleJson(v, false));
               const auto s = rules.summary();
               return JsonResponse(200, {{"top", top},
                                         {"summary",
                                          {{"loaded", s.loaded},
                                           {"unsupported", s.unsupported},
                                           {"errors", s.errors},
                                           {"warnings", s.warnings}}}});
             });

  router.Add({.method = Method::kGet,
              .pattern = "/api/v1/rules/{id}",
              .permission = Permission::kContentRead,
              .summary = "One rule with its YAML source and statistics (hits, evaluations, cost)",
              .tag = "rules",
              .response_schema = kRuleSchema},
             [&rules](RequestContext& ctx) {
               auto v = rules.Get(ctx.scope().tenant_id(), ctx.request().path_params["id"]);
               if (!v) return ErrorResponse(404, "not_found", "rule not found");
               return JsonResponse(200, RuleJson(*v, true));
             });

  for (const bool enable : {true, false}) {
    router.Add({.method = Method::kPost,
                .pattern = enable ? "/api/v1/rules/{id}/enable" : "/api/v1/rules/{id}/disable",
                .permission = Permission::kContentWrite,
                .summary = enable ? "Enable a rule for the current tenant" : "Disable a rule for the current tenant",
                .tag = "rules",
                .response_schema = kRuleSchema},
               [&rules, enable](RequestContext& ctx) {
                 const std::string id = ctx.request().path_params["id"];
                 const std::string tenant = ctx.scope().tenant_id();
                 ctx.audit_target = "rule:" + id;
                 ctx.audit_detail = enable ? "enabled" : "disabled";
                 if (auto st = rules.SetEnabled(tenant, id, enable); !st.ok()) return ErrorFrom(st.error());
                 auto v = rules.Get(tenant, id);
                 if (!v) return ErrorResponse(404, "not_found", "rule not found");
                 return JsonResponse(200, RuleJson(*v, false));
               });
  }

  router.Add({.method = Method::kPost,
              .pattern = "/api/v1/rules",
              .permission = Permission::kContentWrite,
              .summary = "Upload a custom Sigma rule file for the current tenant (validated, then hot-reloaded); "
                         "an upload with the id of one of the tenant's rules replaces it",
              .tag = "rules",
              .request_schema = R"J({"type":"object","required":["yaml"],"properties":{
                "yaml":{"type":"string","description":"one or more Sigma documents (rules, correlations, filters)"}}})J",
              .response_schema = std::string(R"({"type":"object","properties":{"items":{"type":"array","items":)") +
                                 kRuleSchema + "}}}",
              .success_status = 201},
             [&rules](RequestContext& ctx) {
               auto body = ctx.JsonBody();
               if (!body.ok()) return ErrorFrom(body.error());
               auto yaml = RequiredString(*body, "yaml");
               if (!yaml.ok()) return ErrorFrom(yaml.error());
               if (yaml->size() > 256 * 1024)
                 return ErrorResponse(413, "resource_exhausted", "a custom rule file is limited to 256 KiB");
               std::vector<detect::Problem> problems;
               auto created = rules.Upload(ctx.scope().tenant_id(), *yaml, problems);
               ctx.audit_target = "rules:custom";
               if (!created.ok()) {
                 ctx.audit_detail = "rejected: " + std::to_string(problems.size()) + " problem(s)";
                 if (created.error().code() == ErrorCode::kInvalidArgument) return ProblemsResponse(problems);
                 return ErrorFrom(created.error());
               }
               nlohmann::json items = nlohmann::json::array();
               std::string ids;
               for (const auto& v : *created) {
                 items.push_back(RuleJson(v, true));
                 ids += (ids.empty() ? "" : ",") + v.id;
               }
               ctx.audit_target = "rule:" + ids;
               ctx.audit_detail = "uploaded custom rule(s)";
               return JsonResponse(201, {{"items", items}});
             });

  router.Add({.method = Method::kDelete,
              .pattern = "/api/v1/rules/{id}",
              .permission = Permission::kContentWrite,
              .summary = "Delete a custom rule of the current tenant (with the other documents of its file)",
              .tag = "rules"},
             [&rules](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "rule:" + id;
               if (auto st = rules.Delete(ctx.scope().tenant_id(), id); !st.ok()) return ErrorFrom(st.error());
               return JsonResponse(200, {{"deleted", id}});
             });
}

}  // namespace medsoc::api
