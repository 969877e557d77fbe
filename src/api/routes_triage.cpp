#include "api/routes_triage.h"

#include "core/crypto.h"
#include "core/time.h"
#include "triage/alert_json.h"
#include "triage/notify/notify_service.h"

namespace medsoc::api {
namespace {

using auth::Permission;
using nlohmann::json;
using namespace medsoc::triage;

json T(core::Timestamp t) { return t.ns == 0 ? json(nullptr) : json(core::FormatRfc3339(t)); }

json AlertJson(const AlertRecord& a) {
  json mf = json::object();
  for (const auto& [k, v] : a.matched_fields) mf[k] = v;
  return {{"id", a.id}, {"source", SourceKindName(a.source)}, {"rule_id", a.rule_id}, {"rule_title", a.rule_title},
          {"level", LevelName(a.level)}, {"attack_tactic", a.attack_tactic}, {"attack_technique", a.attack_technique},
          {"host", a.host}, {"user", a.user}, {"src_ip", a.src_ip}, {"dst_ip", a.dst_ip}, {"asset_id", a.asset_id},
          {"entities", a.entity_keys}, {"score", a.score}, {"count", a.count}, {"first_seen", T(a.first_seen)},
          {"last_seen", T(a.last_seen)}, {"status", AlertStatusName(a.status)},
          {"suppression", SuppressionKindName(a.suppression)}, {"suppressed_by", a.suppressed_by},
          {"incident_id", a.incident_id}, {"last_event_id", a.last_event_id}, {"matched_fields", mf},
          {"intel_hits", a.intel_hits}, {"blocked", a.blocked},
          {"verdict", a.verdict ? json(VerdictName(*a.verdict)) : json(nullptr)}};
}

json IncidentJson(const IncidentView& v) {
  const Incident& i = v.incident;
  char number[32];
  std::snprintf(number, sizeof number, "INC-%06lld", static_cast<long long>(v.number));
  return {{"id", i.id}, {"number", number}, {"title", i.title}, {"severity", SeverityName(i.severity)},
          {"status", IncidentStatusName(i.status)}, {"score", i.score}, {"risk", i.risk}, {"raised_by", i.raised_by},
          {"source", SourceKindName(i.source)}, {"owner", i.owner}, {"watchers", v.watchers},
          {"entity_count", v.entity_count}, {"entities", i.entity_keys}, {"entities_truncated", v.entities_truncated},
          {"tactics", i.tactics}, {"techniques", i.techniques}, {"alert_count", v.alert_count},
          {"alert_ids", i.alert_ids}, {"alert_ids_truncated", v.alert_ids_truncated},
          {"event_count", i.event_count}, {"merged_into", i.merged_into},
          {"verdict", i.verdict ? json(VerdictName(*i.verdict)) : json(nullptr)}, {"review", v.review},
          {"impact", v.impact}, {"root_cause", v.root_cause}, {"created_at", T(i.created_at)},
          {"updated_at", T(i.updated_at)}, {"first_seen", T(i.first_seen)}, {"last_seen", T(i.last_seen)},
          {"acknowledged_at", T(v.acknowledged_at)}, {"investigating_at", T(v.investigating_at)},
          {"onsite_at", T(v.onsite_at)}, {"contained_at", T(v.contained_at)}, {"resolved_at", T(v.resolved_at)},
          {"closed_at", T(v.closed_at)}, {"sla_paused", v.sla_paused_at.ns != 0},
          {"escalation_tier", v.escalation_tier}, {"breaches", v.breaches}};
}

json SuppressionJson(const Suppression& s) {
  json conds = json::array();
  for (const auto& c : s.conditions) conds.push_back({{"field", c.field}, {"values", c.values}});
  return {{"id", s.id}, {"status", s.status}, {"rule_id", s.rule_id}, {"conditions", conds},
          {"asset_group", s.asset_group}, {"reason", s.reason}, {"author", s.author}, {"approved_by", s.approved_by},
          {"origin", s.origin}, {"created_at", T(s.created_at)}, {"expires_at", T(s.expires_at)}, {"hits", s.hits},
          {"last_hit_at", T(s.last_hit_at)}};
}

json ShiftJson(const Shift& s) {
  return {{"id", s.id}, {"user_id", s.user_id}, {"display", s.display}, {"phone", s.phone}, {"tier", s.tier},
          {"kind", s.kind}, {"starts_at", T(s.starts_at)}, {"ends_at", T(s.ends_at)}};
}

json SlaJson(const std::vector<SlaClock>& clocks) {
  json out = json::array();
  for (const auto& c : clocks)
    out.push_back({{"clock", c.name}, {"target_minutes", c.target_minutes}, {"met_at", T(c.met_at)},
                   {"due_at", T(c.due_at)}, {"elapsed_seconds", c.elapsed_ns / core::kNanosPerSecond},
                   {"breached", c.breached}, {"paused", c.paused}});
  return out;
}

Response Bad(const std::string& msg) { return ErrorResponse(400, "invalid_argument", msg); }

// Optional RFC 3339 time field; 0 when absent.
Result<core::Timestamp> TimeField(const json& body, const char* field) {
  MEDSOC_ASSIGN_OR_RETURN(auto s, OptionalString(body, field));
  if (!s) return core::Timestamp{};
  auto t = core::ParseRfc3339(*s);
  if (!t.ok()) return Error(ErrorCode::kInvalidArgument, std::string(field) + ": " + t.error().message());
  return *t;
}

Result<std::vector<std::string>> StringArray(const json& body, const char* field) {
  std::vector<std::string> out;
  if (!body.contains(field)) return out;
  const json& a = body[field];
  if (!a.is_array()) return Error(ErrorCode::kInvalidArgument, std::string(field) + " must be an array of strings");
  for (const auto& x : a) {
    if (!x.is_string()) return Error(ErrorCode::kInvalidArgument, std::string(field) + " must be an array of strings");
    out.push_back(x.get<std::string>());
  }
  return out;
}

#define TRY_OR_RESPOND(lhs, expr)               \
  auto MEDSOC_CONCAT_(r_, __LINE__) = (expr);    \
  if (!MEDSOC_CONCAT_(r_, __LINE__).ok()) return ErrorFrom(MEDSOC_CONCAT_(r_, __LINE__).error()); \
  lhs = std::move(MEDSOC_CONCAT_(r_, __LINE__)).value()

#define STATUS_OR_RESPOND(expr)                        \
  if (auto st_ = (expr); !st_.ok()) return ErrorFrom(st_.error())

}  // namespace

void RegisterTriageRoutes(Router& router, ApiServices& s, TriageService& tr) {
  const std::string base = "/api/v1/triage";

  // ---- alerts ----
  router.Add({.method = Method::kPost, .pattern = base + "/alerts", .permission = Permission::kAlertsWrite,
              .summary = "Submit alerts (from detection or a sensor adapter); returns what triage did with each",
              .tag = "triage",
              .request_schema = R"({"type":"object","required":["alerts"],"properties":{"alerts":{"type":"array",
                "items":{"type":"object","required":["rule_id"]}}}})"},
             [&tr](RequestContext& ctx) {
               TRY_OR_RESPOND(auto body, ctx.JsonBody());
               if (!body.contains("alerts") || !body["alerts"].is_array()) return Bad("alerts must be an array");
               if (body["alerts"].size() > 10000) return ErrorResponse(413, "resource_exhausted", "at most 10000 alerts");
               std::vector<AlertInput> in;
               for (std::size_t i = 0; i < body["alerts"].size(); ++i) {
                 auto a = triage::ParseAlertInput(body["alerts"][i]);  // triage/alert_json.h
                 if (!a.ok()) return Bad("alerts[" + std::to_string(i) + "]: " + a.error().message());
                 in.push_back(std::move(*a));
               }
               TRY_OR_RESPOND(auto sum, tr.Ingest(ctx.scope(), std::move(in)));
               json results = json::array();
               for (const auto& r : sum.results)
                 results.push_back({{"alert_id", r.alert_id}, {"new", r.new_record},
                                    {"suppression", SuppressionKindName(r.suppression)}, {"score", r.score},
                                    {"incident_id", r.incident_id}, {"incident_created", r.incident_created}});
               ctx.audit_detail = std::to_string(sum.alerts) + " alerts, " + std::to_string(sum.incidents_created) + " incidents";
               return JsonResponse(200, {{"alerts", sum.alerts}, {"new_records", sum.new_records},
                                         {"suppressed", sum.suppressed}, {"incidents_created", sum.incidents_created},
                                         {"results", results}});
             });

  router.Add({.method = Method::kGet, .pattern = base + "/alerts", .permission = Permission::kAlertsRead,
              .summary = "List deduplicated alerts, newest last_seen first, a page at a time ('next': the cursor "
                         "for 'after' when more may follow)",
              .tag = "triage",
              .query_params = {{"status", "string", "open, suppressed, in_incident, closed"},
                               {"source", "string", "sigma, suricata, waf, firewall_ips, antivirus"},
                               {"incident_id", "string", ""}, {"since", "string", "RFC 3339"},
                               {"after", "string", "the previous page's 'next'"},
                               {"limit", "integer", "default 100, at most 500"}}},
             [&tr](RequestContext& ctx) {
               AlertQuery q;
               auto& r = ctx.request();
               q.status = std::string(r.Query("status").value_or(""));
               q.source = std::string(r.Query("source").value_or(""));
               q.incident_id = std::string(r.Query("incident_id").value_or(""));
               if (auto since = r.Query("since")) {
                 auto t = core::ParseRfc3339(*since);
                 if (!t.ok()) return Bad("since: " + t.error().message());
                 q.since = *t;
               }
               q.after = std::string(r.Query("after").value_or(""));
               if (auto l = r.Query("limit")) q.limit = std::min(std::atoi(std::string(*l).c_str()), kMaxAlertPage);
               TRY_OR_RESPOND(auto page, tr.ListAlertPage(ctx.scope(), q));
               json items = json::array();
               items.get_ref<json::array_t&>().reserve(page.items.size());
               for (const auto& a : page.items) items.push_back(AlertJson(a));
               json out = {{"items", std::move(items)}};
               if (!page.next.empty()) out["next"] = page.next;
               return JsonResponse(200, out);
             });

  router.Add({.method = Method::kGet, .pattern = base + "/alerts/{id}", .permission = Permission::kAlertsRead,
              .summary = "One alert", .tag = "triage"},
             [&tr](RequestContext& ctx) {
               TRY_OR_RESPOND(auto a, tr.GetAlert(ctx.scope(), ctx.request().path_params["id"]));
               if (!a) return ErrorResponse(404, "not_found", "alert not found");
               return JsonResponse(200, AlertJson(*a));
             });

  router.Add({.method = Method::kPost, .pattern = base + "/alerts/{id}/close", .permission = Permission::kAlertsWrite,
              .summary = "Close an alert outside an incident", .tag = "triage"},
             [&tr](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "alert:" + id;
               STATUS_OR_RESPOND(tr.CloseAlert(ctx.scope(), id, ctx.principal().user_id));
               return JsonResponse(200, {{"id", id}, {"status", "closed"}});
             });

  router.Add({.method = Method::kPost, .pattern = base + "/alerts/{id}/suppress", .permission = Permission::kAlertsWrite,
              .summary = "Create a suppression rule from an alert in one step (its rule plus chosen fields)",
              .tag = "triage",
              .request_schema = R"({"type":"object","required":["reason","expires_at"],"properties":{
                "fields":{"type":"array","items":{"type":"string"}},"reason":{"type":"string"},
                "expires_at":{"type":"string"}}})",
              .success_status = 201},
             [&tr](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "alert:" + id;
               TRY_OR_RESPOND(auto body, ctx.JsonBody());
               TRY_OR_RESPOND(auto reason, RequiredString(body, "reason"));
               TRY_OR_RESPOND(auto fields, StringArray(body, "fields"));
               TRY_OR_RESPOND(auto expires, TimeField(body, "expires_at"));
               if (expires.ns == 0) return Bad("expires_at is required: suppressions expire");
               TRY_OR_RESPOND(auto sup, tr.SuppressFromAlert(ctx.scope(), id, fields, reason, expires, ctx.principal().user_id));
               ctx.audit_detail =
                   "suppression " + sup.id + ": " + reason + " (expires " + core::FormatRfc3339(expires) + ")";
               return JsonResponse(201, SuppressionJson(sup));
             });

  auto verdict_route = [&tr](const std::string& kind) {
    return [&tr, kind](RequestContext& ctx) {
      const std::string id = ctx.request().path_params["id"];
      ctx.audit_target = kind + ":" + id;
      TRY_OR_RESPOND(auto body, ctx.JsonBody());
      TRY_OR_RESPOND(auto name, RequiredString(body, "verdict"));
      auto v = ParseVerdict(name);
      if (!v) return Bad("verdict must be true_positive, false_positive or benign_true_positive");
      TRY_OR_RESPOND(auto comment, OptionalString(body, "comment"));
      Verdict verdict;
      verdict.target_kind = kind;
      verdict.target_id = id;
      verdict.verdict = *v;
      verdict.comment = comment.value_or("");
      verdict.author = ctx.principal().user_id;
      TRY_OR_RESPOND(auto out, tr.SetVerdict(ctx.scope(), verdict));
      ctx.audit_detail = name;
      return JsonResponse(201, {{"id", out.id}, {"target_kind", kind}, {"target_id", id}, {"verdict", name},
                                {"comment", out.comment}, {"author", out.author}, {"created_at", T(out.created_at)}});
    };
  };
  const std::string verdict_schema = R"({"type":"object","required":["verdict"],"properties":{
    "verdict":{"type":"string","enum":["true_positive","false_positive","benign_true_positive"]},"comment":{"type":"string"}}})";
  router.Add({.method = Method::kPost, .pattern = base + "/alerts/{id}/verdict", .permission = Permission::kAlertsWrite,
              .summary = "Record an analyst verdict on an alert; repeated false positives propose a suppression",
              .tag = "triage", .request_schema = verdict_schema, .success_status = 201},
             verdict_route("alert"));
  router.Add({.method = Method::kPost, .pattern = base + "/incidents/{id}/verdict",
              .permission = Permission::kIncidentsWrite, .summary = "Record an analyst verdict on an incident",
              .tag = "triage", .request_schema = verdict_schema, .success_status = 201},
             verdict_route("incident"));

  // ---- incidents ----
  router.Add({.method = Method::kGet, .pattern = base + "/incidents", .permission = Permission::kIncidentsRead,
              .summary = "List incidents, newest first; each with alert_count and only its newest " +
                         std::to_string(kListAlertIds) + " alert_ids (alert_ids_truncated when it has more), and "
                         "entity_count and only its first " + std::to_string(kListEntities) +
                         " entities (entities_truncated when it has more); GET /incidents/{id} lists them all",
              .tag = "triage",
              .query_params = {{"status", "string", "a status or 'open'"}, {"severity", "string", ""},
                               {"owner", "string", "user id"},
                               {"entity", "string", "an entity key (host:pc7): incidents naming it among all their entities"},
                               {"limit", "integer", "at most 1000"}}},
             [&tr](RequestContext& ctx) {
               IncidentQuery q;
               auto& r = ctx.request();
               q.status = std::string(r.Query("status").value_or(""));
               q.severity = std::string(r.Query("severity").value_or(""));
               q.owner = std::string(r.Query("owner").value_or(""));
               q.entity = std::string(r.Query("entity").value_or(""));
               if (auto l = r.Query("limit")) q.limit = std::atoi(std::string(*l).c_str());
               TRY_OR_RESPOND(auto list, tr.ListIncidents(ctx.scope(), q));
               // Items are moved, not copied, into the array and the body (an lvalue in the
               // initializer list would deep-copy the whole page).
               json items = json::array();
               items.get_ref<json::array_t&>().reserve(list.size());
               for (const auto& v : list) items.push_back(IncidentJson(v));
               return JsonResponse(200, {{"items", std::move(items)}});
             });

  router.Add({.method = Method::kGet, .pattern = base + "/incidents/{id}", .permission = Permission::kIncidentsRead,
              .summary = "One incident with its timeline, comments, links, evidence and SLA clocks", .tag = "triage"},
             [&tr](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               TRY_OR_RESPOND(auto v, tr.GetIncident(ctx.scope(), id));
               if (!v) return ErrorResponse(404, "not_found", "incident not found");
               json out = IncidentJson(*v);
               TRY_OR_RESPOND(auto tl, tr.Timeline(ctx.scope(), id));
               json timeline = json::array();
               for (const auto& t : tl)
                 timeline.push_back({{"at", T(t.at)}, {"actor", t.actor}, {"kind", t.kind}, {"detail", t.detail}});
               out["timeline"] = timeline;
               TRY_OR_RESPOND(auto comments, tr.ListComments(ctx.scope(), id));
               json cs = json::array();
               for (const auto& c : comments)
                 cs.push_back({{"id", c.id}, {"author", c.author}, {"body", c.body}, {"created_at", T(c.created_at)}});
               out["comments"] = cs;
               TRY_OR_RESPOND(out["links"], tr.ListLinks(ctx.scope(), id));
               TRY_OR_RESPOND(out["evidence"], tr.ListEvidence(ctx.scope(), id));
               TRY_OR_RESPOND(auto sla, tr.IncidentSla(ctx.scope(), id, core::Now()));
               out["sla"] = SlaJson(sla);
               return JsonResponse(200, out);
             });

  router.Add({.method = Method::kPatch, .pattern = base + "/incidents/{id}", .permission = Permission::kIncidentsWrite,
              .summary = "Change status (lifecycle; closing needs a review), owner, impact or root cause",
              .tag = "triage",
              .request_schema = R"({"type":"object","properties":{"status":{"type":"string"},"note":{"type":"string"},
                "review":{"type":"string"},"owner":{"type":"string"},"impact":{"type":"string"},
                "root_cause":{"type":"string"}}})"},
             [&tr](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "incident:" + id;
               TRY_OR_RESPOND(auto body, ctx.JsonBody());
               TRY_OR_RESPOND(auto status, OptionalString(body, "status"));
               TRY_OR_RESPOND(auto note, OptionalString(body, "note"));
               TRY_OR_RESPOND(auto review, OptionalString(body, "review"));
               TRY_OR_RESPOND(auto owner, OptionalString(body, "owner"));
               TRY_OR_RESPOND(auto impact, OptionalString(body, "impact"));
               TRY_OR_RESPOND(auto root_cause, OptionalString(body, "root_cause"));
               const std::string actor = ctx.principal().user_id;
               std::string detail;
               if (owner) {
                 STATUS_OR_RESPOND(tr.Assign(ctx.scope(), id, *owner, actor));
                 detail += "owner=" + *owner + " ";
               }
               if (impact || root_cause) {
                 STATUS_OR_RESPOND(tr.SetAnalysis(ctx.scope(), id, impact, root_cause, actor));
                 detail += "analysis ";
               }
               if (status) {
                 auto to = ParseIncidentStatus(*status);
                 if (!to) return Bad("unknown status '" + *status + "'");
                 STATUS_OR_RESPOND(tr.Transition(ctx.scope(), id, *to, actor, note.value_or(""), review.value_or("")));
                 detail += "status=" + *status;
               }
               ctx.audit_detail = detail.empty() ? "no change" : detail;
               TRY_OR_RESPOND(auto v, tr.GetIncident(ctx.scope(), id));
               if (!v) return ErrorResponse(404, "not_found", "incident not found");
               return JsonResponse(200, IncidentJson(*v));
             });

  router.Add({.method = Method::kPost, .pattern = base + "/incidents/{id}/comments",
              .permission = Permission::kIncidentsWrite, .summary = "Add a comment", .tag = "triage",
              .request_schema = R"({"type":"object","required":["body"],"properties":{"body":{"type":"string"}}})",
              .success_status = 201},
             [&tr](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "incident:" + id;
               TRY_OR_RESPOND(auto body, ctx.JsonBody());
               TRY_OR_RESPOND(auto text, RequiredString(body, "body"));
               TRY_OR_RESPOND(auto c, tr.AddComment(ctx.scope(), id, ctx.principal().user_id, text));
               return JsonResponse(201, {{"id", c.id}, {"author", c.author}, {"body", c.body}, {"created_at", T(c.created_at)}});
             });

  router.Add({.method = Method::kPost, .pattern = base + "/incidents/{id}/watchers",
              .permission = Permission::kIncidentsWrite, .summary = "Add or remove a watcher", .tag = "triage",
              .request_schema = R"({"type":"object","required":["user_id"],"properties":{"user_id":{"type":"string"},
                "watch":{"type":"boolean"}}})"},
             [&tr](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "incident:" + id;
               TRY_OR_RESPOND(auto body, ctx.JsonBody());
               TRY_OR_RESPOND(auto user, RequiredString(body, "user_id"));
               TRY_OR_RESPOND(auto watch, OptionalBool(body, "watch"));
               STATUS_OR_RESPOND(tr.SetWatcher(ctx.scope(), id, user, watch.value_or(true), ctx.principal().user_id));
               return JsonResponse(200, {{"incident_id", id}, {"user_id", user}, {"watch", watch.value_or(true)}});
             });

  router.Add({.method = Method::kPost, .pattern = base + "/incidents/{id}/links",
              .permission = Permission::kIncidentsWrite, .summary = "Link an event, asset, finding, alert or incident",
              .tag = "triage",
              .request_schema = R"({"type":"object","required":["kind","ref"],"properties":{
                "kind":{"type":"string","enum":["event","asset","finding","incident","alert"]},"ref":{"type":"string"},
                "note":{"type":"string"}}})",
              .success_status = 201},
             [&tr](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "incident:" + id;
               TRY_OR_RESPOND(auto body, ctx.JsonBody());
               TRY_OR_RESPOND(auto kind, RequiredString(body, "kind"));
               TRY_OR_RESPOND(auto ref, RequiredString(body, "ref"));
               TRY_OR_RESPOND(auto note, OptionalString(body, "note"));
               STATUS_OR_RESPOND(tr.AddLink(ctx.scope(), id, kind, ref, note.value_or(""), ctx.principal().user_id));
               return JsonResponse(201, {{"kind", kind}, {"ref", ref}});
             });

  router.Add({.method = Method::kPost, .pattern = base + "/incidents/{id}/evidence",
              .permission = Permission::kIncidentsWrite,
              .summary = "Attach evidence (content base64url, at most 8 MiB); its SHA-256 goes to the timeline",
              .tag = "triage",
              .request_schema = R"({"type":"object","required":["name","content_base64url"],"properties":{
                "name":{"type":"string"},"media_type":{"type":"string"},"content_base64url":{"type":"string"},
                "description":{"type":"string"}}})",
              .success_status = 201},
             [&tr](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "incident:" + id;
               TRY_OR_RESPOND(auto body, ctx.JsonBody());
               TRY_OR_RESPOND(auto name, RequiredString(body, "name"));
               TRY_OR_RESPOND(auto b64, RequiredString(body, "content_base64url"));
               TRY_OR_RESPOND(auto media, OptionalString(body, "media_type"));
               TRY_OR_RESPOND(auto desc, OptionalString(body, "description"));
               auto content = core::Base64UrlDecode(b64);
               if (!content.ok()) return Bad("content_base64url: " + content.error().message());
               TRY_OR_RESPOND(auto out, tr.AddEvidence(ctx.scope(), id, name, media.value_or(""), *content,
                                                       desc.value_or(""), ctx.principal().user_id));
               ctx.audit_detail = "evidence " + name + " sha256:" + out["sha256"].get<std::string>();
               return JsonResponse(201, out);
             });

  router.Add({.method = Method::kPost, .pattern = base + "/incidents/{id}/onsite",
              .permission = Permission::kIncidentsWrite, .summary = "Record an engineer's on-site arrival (SLA clock)",
              .tag = "triage"},
             [&tr](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "incident:" + id;
               STATUS_OR_RESPOND(tr.RecordOnsite(ctx.scope(), id, ctx.principal().user_id));
               return JsonResponse(200, {{"incident_id", id}, {"onsite", true}});
             });

  router.Add({.method = Method::kPost, .pattern = base + "/incidents/{id}/sla-pause",
              .permission = Permission::kIncidentsWrite, .summary = "Pause or resume the SLA clocks (with a reason)",
              .tag = "triage",
              .request_schema = R"({"type":"object","required":["paused"],"properties":{"paused":{"type":"boolean"},
                "reason":{"type":"string"}}})"},
             [&tr](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "incident:" + id;
               TRY_OR_RESPOND(auto body, ctx.JsonBody());
               TRY_OR_RESPOND(auto paused, OptionalBool(body, "paused"));
               if (!paused) return Bad("paused is required");
               TRY_OR_RESPOND(auto reason, OptionalString(body, "reason"));
               STATUS_OR_RESPOND(tr.SetSlaPaused(ctx.scope(), id, *paused, reason.value_or(""), ctx.principal().user_id));
               TRY_OR_RESPOND(auto sla, tr.IncidentSla(ctx.scope(), id, core::Now()));
               return JsonResponse(200, {{"incident_id", id}, {"sla", SlaJson(sla)}});
             });

  router.Add({.method = Method::kGet, .pattern = base + "/incidents/{id}/report",
              .permission = Permission::kIncidentsRead,
              .summary = "Incident report 《安全事件应急响应与处置报告》 as JSON", .tag = "triage"},
             [&tr](RequestContext& ctx) {
               TRY_OR_RESPOND(auto rep, tr.IncidentReport(ctx.scope(), ctx.request().path_params["id"]));
               return JsonResponse(200, rep);
             });

  // ---- suppressions, allow-lists, maintenance windows ----
  router.Add({.method = Method::kGet, .pattern = base + "/suppressions", .permission = Permission::kAlertsRead,
              .summary = "List suppression rules (incl. proposed suggestions)", .tag = "triage",
              .query_params = {{"status", "string", "active, proposed, disabled, rejected"}}},
             [&tr](RequestContext& ctx) {
               TRY_OR_RESPOND(auto list, tr.ListSuppressions(ctx.scope(),
                                                             std::string(ctx.request().Query("status").value_or(""))));
               json items = json::array();
               for (const auto& x : list) items.push_back(SuppressionJson(x));
               return JsonResponse(200, {{"items", items}});
             });

  router.Add({.method = Method::kPost, .pattern = base + "/suppressions", .permission = Permission::kAlertsWrite,
              .summary = "Create a suppression rule (reason and expiry required)", .tag = "triage",
              .request_schema = R"({"type":"object","required":["reason","expires_at"],"properties":{
                "rule_id":{"type":"string"},"conditions":{"type":"array"},"asset_group":{"type":"string"},
                "reason":{"type":"string"},"expires_at":{"type":"string"}}})",
              .success_status = 201},
             [&tr](RequestContext& ctx) {
               TRY_OR_RESPOND(auto body, ctx.JsonBody());
               Suppression sup;
               TRY_OR_RESPOND(auto rule, OptionalString(body, "rule_id"));
               TRY_OR_RESPOND(auto group, OptionalString(body, "asset_group"));
               TRY_OR_RESPOND(sup.reason, RequiredString(body, "reason"));
               TRY_OR_RESPOND(sup.expires_at, TimeField(body, "expires_at"));
               if (sup.expires_at.ns == 0) return Bad("expires_at is required: suppressions expire");
               sup.rule_id = rule.value_or("");
               sup.asset_group = group.value_or("");
               if (body.contains("conditions")) {
                 if (!body["conditions"].is_array()) return Bad("conditions must be an array");
                 for (const auto& c : body["conditions"]) {
                   auto field = RequiredString(c, "field");
                   if (!field.ok()) return ErrorFrom(field.error());
                   auto values = StringArray(c, "values");
                   if (!values.ok()) return ErrorFrom(values.error());
                   sup.conditions.push_back({*field, *values});
                 }
               }
               sup.author = ctx.principal().user_id;
               TRY_OR_RESPOND(auto out, tr.CreateSuppression(ctx.scope(), sup));
               ctx.audit_target = "suppression:" + out.id;
               ctx.audit_detail = out.reason + " (expires " + core::FormatRfc3339(out.expires_at) + ")";
               return JsonResponse(201, SuppressionJson(out));
             });

  router.Add({.method = Method::kPost, .pattern = base + "/suppressions/{id}/{action}",
              .permission = Permission::kAlertsWrite,
              .summary = "approve, reject, disable or enable a suppression (approval by someone other than its author)",
              .tag = "triage"},
             [&tr](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               const std::string action = ctx.request().path_params["action"];
               ctx.audit_target = "suppression:" + id;
               ctx.audit_detail = action;
               if (action != "approve" && action != "reject" && action != "disable" && action != "enable")
                 return ErrorResponse(404, "not_found", "unknown action");
               TRY_OR_RESPOND(auto out, tr.ChangeSuppression(ctx.scope(), id, action, ctx.principal().user_id));
               return JsonResponse(200, SuppressionJson(out));
             });

  router.Add({.method = Method::kGet, .pattern = base + "/allowlist", .permission = Permission::kAlertsRead,
              .summary = "Allow-list entries (scanners, backup jobs, monitoring)", .tag = "triage"},
             [&tr](RequestContext& ctx) {
               TRY_OR_RESPOND(auto list, tr.ListAllowEntries(ctx.scope()));
               json items = json::array();
               for (const auto& e : list)
                 items.push_back({{"id", e.id}, {"category", e.category}, {"kind", e.kind}, {"value", e.value},
                                  {"comment", e.comment}, {"author", e.author}, {"created_at", T(e.created_at)},
                                  {"expires_at", T(e.expires_at)}});
               return JsonResponse(200, {{"items", items}});
             });

  router.Add({.method = Method::kPost, .pattern = base + "/allowlist", .permission = Permission::kAlertsWrite,
              .summary = "Add an allow-list entry", .tag = "triage",
              .request_schema = R"({"type":"object","required":["category","kind","value"],"properties":{
                "category":{"type":"string","enum":["vuln_scanner","backup","monitoring","other"]},
                "kind":{"type":"string","enum":["ip","user","host"]},"value":{"type":"string"},
                "comment":{"type":"string"},"expires_at":{"type":"string"}}})",
              .success_status = 201},
             [&tr](RequestContext& ctx) {
               TRY_OR_RESPOND(auto body, ctx.JsonBody());
               AllowEntry e;
               TRY_OR_RESPOND(e.category, RequiredString(body, "category"));
               TRY_OR_RESPOND(e.kind, RequiredString(body, "kind"));
               TRY_OR_RESPOND(e.value, RequiredString(body, "value"));
               TRY_OR_RESPOND(auto comment, OptionalString(body, "comment"));
               TRY_OR_RESPOND(e.expires_at, TimeField(body, "expires_at"));
               e.comment = comment.value_or("");
               e.author = ctx.principal().user_id;
               TRY_OR_RESPOND(auto out, tr.CreateAllowEntry(ctx.scope(), e));
               ctx.audit_target = "allowlist:" + out.id;
               ctx.audit_detail = out.kind + "=" + out.value;
               return JsonResponse(201, {{"id", out.id}, {"category", out.category}, {"kind", out.kind}, {"value", out.value}});
             });

  router.Add({.method = Method::kDelete, .pattern = base + "/allowlist/{id}", .permission = Permission::kAlertsWrite,
              .summary = "Remove an allow-list entry", .tag = "triage", .success_status = 204},
             [&tr](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "allowlist:" + id;
               STATUS_OR_RESPOND(tr.DeleteAllowEntry(ctx.scope(), id));
               Response r;
               r.status = 204;
               return r;
             });

  router.Add({.method = Method::kGet, .pattern = base + "/maintenance-windows", .permission = Permission::kAlertsRead,
              .summary = "Maintenance windows", .tag = "triage"},
             [&tr](RequestContext& ctx) {
               TRY_OR_RESPOND(auto list, tr.ListWindows(ctx.scope()));
               json items = json::array();
               for (const auto& w : list)
                 items.push_back({{"id", w.id}, {"name", w.name}, {"asset_ids", w.asset_ids}, {"asset_group", w.asset_group},
                                  {"starts_at", T(w.starts_at)}, {"ends_at", T(w.ends_at)}, {"weekdays", w.weekdays},
                                  {"start_minute", w.start_minute}, {"duration_minutes", w.duration_minutes},
                                  {"utc_offset_minutes", w.utc_offset_minutes}, {"author", w.author}});
               return JsonResponse(200, {{"items", items}});
             });

  router.Add({.method = Method::kPost, .pattern = base + "/maintenance-windows", .permission = Permission::kAlertsWrite,
              .summary = "Create a one-off or weekly maintenance window", .tag = "triage",
              .request_schema = R"({"type":"object","required":["name","starts_at"],"properties":{
                "name":{"type":"string"},"asset_ids":{"type":"array","items":{"type":"string"}},
                "asset_group":{"type":"string"},"starts_at":{"type":"string"},"ends_at":{"type":"string"},
                "weekdays":{"type":"integer","description":"bit 0 = Monday"},"start_minute":{"type":"integer"},
                "duration_minutes":{"type":"integer"},"utc_offset_minutes":{"type":"integer"}}})",
              .success_status = 201},
             [&tr](RequestContext& ctx) {
               TRY_OR_RESPOND(auto body, ctx.JsonBody());
               MaintenanceWindow w;
               TRY_OR_RESPOND(w.name, RequiredString(body, "name"));
               TRY_OR_RESPOND(w.asset_ids, StringArray(body, "asset_ids"));
               TRY_OR_RESPOND(auto group, OptionalString(body, "asset_group"));
               w.asset_group = group.value_or("");
               TRY_OR_RESPOND(w.starts_at, TimeField(body, "starts_at"));
               TRY_OR_RESPOND(w.ends_at, TimeField(body, "ends_at"));
               for (auto [field, dst] : {std::pair{"weekdays", &w.weekdays}, {"start_minute", &w.start_minute},
                                         {"duration_minutes", &w.duration_minutes},
                                         {"utc_offset_minutes", &w.utc_offset_minutes}}) {
                 auto v = OptionalInt(body, field);
                 if (!v.ok()) return ErrorFrom(v.error());
                 if (*v) *dst = static_cast<int>(**v);
               }
               w.author = ctx.principal().user_id;
               TRY_OR_RESPOND(auto out, tr.CreateWindow(ctx.scope(), w));
               ctx.audit_target = "maintenance_window:" + out.id;
               ctx.audit_detail = out.name;
               return JsonResponse(201, {{"id", out.id}, {"name", out.name}});
             });

  router.Add({.method = Method::kDelete, .pattern = base + "/maintenance-windows/{id}",
              .permission = Permission::kAlertsWrite, .summary = "Delete a maintenance window", .tag = "triage",
              .success_status = 204},
             [&tr](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "maintenance_window:" + id;
               STATUS_OR_RESPOND(tr.DeleteWindow(ctx.scope(), id));
               Response r;
               r.status = 204;
               return r;
             });

  // ---- figures ----
  router.Add({.method = Method::kGet, .pattern = base + "/noise-reduction", .permission = Permission::kDashboardsRead,
              .summary = "Alerts in, records, suppressed and incidents out per local day and source, with totals",
              .tag = "triage",
              .query_params = {{"from", "string", "YYYY-MM-DD (inclusive)"}, {"to", "string", "YYYY-MM-DD (inclusive)"}}},
             [&tr](RequestContext& ctx) {
               TRY_OR_RESPOND(auto out, tr.NoiseReduction(ctx.scope(), std::string(ctx.request().Query("from").value_or("")),
                                                          std::string(ctx.request().Query("to").value_or(""))));
               return JsonResponse(200, out);
             });

  // Dashboard counts without listing: incident figures for callers with incidents.read, the open
  // alert count for alerts.read; a part the caller may not read is absent.
  router.Add({.method = Method::kGet, .pattern = base + "/summary", .permission = Permission::kDashboardsRead,
              .summary = "Open incidents by severity, status and SLA state, and open alerts (counts only)",
              .tag = "triage"},
             [&tr](RequestContext& ctx) {
               const bool inc = ctx.principal().Has(Permission::kIncidentsRead);
               const bool al = ctx.principal().Has(Permission::kAlertsRead);
               const core::Timestamp now = core::Now();
               TRY_OR_RESPOND(auto sum, tr.Summary(ctx.scope(), now, inc, al));
               json out = {{"as_of", T(now)}};
               if (sum.incidents)
                 out["incidents"] = {{"open", sum.open_incidents}, {"by_severity", sum.by_severity},
                                     {"by_status", sum.by_status}, {"by_sla", sum.by_sla}};
               if (sum.alerts) out["alerts"] = {{"open", sum.open_alerts}};
               return JsonResponse(200, out);
             });

  // ---- minimal asset directory ----
  router.Add({.method = Method::kGet, .pattern = base + "/assets", .permission = Permission::kAssetsRead,
              .summary = "Assets triage scores against (criticality, zone, exposure, group)", .tag = "triage"},
             [&tr](RequestContext& ctx) {
               TRY_OR_RESPOND(auto list, tr.ListAssets(ctx.scope()));
               json items = json::array();
               for (const auto& a : list)
                 items.push_back({{"id", a.id}, {"name", a.name}, {"ips", a.ips}, {"criticality", a.criticality},
                                  {"zone", a.zone}, {"internet_facing", a.internet_facing}, {"asset_group", a.asset_group}});
               return JsonResponse(200, {{"items", items}});
             });

  router.Add({.method = Method::kPut, .pattern = base + "/assets/{id}", .permission = Permission::kAssetsWrite,
              .summary = "Create or update an asset's triage attributes", .tag = "triage",
              .request_schema = R"({"type":"object","required":["criticality"],"properties":{"name":{"type":"string"},
                "ips":{"type":"array","items":{"type":"string"}},"criticality":{"type":"integer","minimum":1,"maximum":5},
                "zone":{"type":"string"},"internet_facing":{"type":"boolean"},"asset_group":{"type":"string"}}})"},
             [&tr](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "asset:" + id;
               TRY_OR_RESPOND(auto body, ctx.JsonBody());
               AssetInfo a;
               a.id = id;
               TRY_OR_RESPOND(auto name, OptionalString(body, "name"));
               TRY_OR_RESPOND(a.ips, StringArray(body, "ips"));
               TRY_OR_RESPOND(auto crit, OptionalInt(body, "criticality"));
               TRY_OR_RESPOND(auto zone, OptionalString(body, "zone"));
               TRY_OR_RESPOND(auto internet, OptionalBool(body, "internet_facing"));
               TRY_OR_RESPOND(auto group, OptionalString(body, "asset_group"));
               if (!crit) return Bad("criticality is required");
               a.name = name.value_or(id);
               a.criticality = static_cast<int>(*crit);
               a.zone = zone.value_or("");
               a.internet_facing = internet.value_or(false);
               a.asset_group = group.value_or("");
               STATUS_OR_RESPOND(tr.UpsertAsset(ctx.scope(), a));
               return JsonResponse(200, {{"id", a.id}, {"criticality", a.criticality}});
             });

  // ---- SLA policies and on-call ----
  router.Add({.method = Method::kGet, .pattern = base + "/sla-policies", .permission = Permission::kIncidentsRead,
              .summary = "SLA policy per severity (defaults: critical 15/30/240 minutes)", .tag = "triage"},
             [&tr](RequestContext& ctx) {
               TRY_OR_RESPOND(auto policies, tr.SlaPolicies(ctx.scope()));
               json items = json::array();
               for (const auto& p : policies) {
                 json pauses = json::array();
                 for (auto st : p.pause_statuses) pauses.push_back(IncidentStatusName(st));
                 items.push_back({{"severity", SeverityName(p.severity)}, {"ack_minutes", p.ack_minutes},
                                  {"respond_minutes", p.respond_minutes}, {"onsite_minutes", p.onsite_minutes},
                                  {"resolve_minutes", p.resolve_minutes}, {"pause_statuses", pauses}});
               }
               return JsonResponse(200, {{"items", items}});
             });

  router.Add({.method = Method::kPut, .pattern = base + "/sla-policies/{severity}", .permission = Permission::kIncidentsWrite,
              .summary = "Set the SLA policy of one severity", .tag = "triage",
              .request_schema = R"({"type":"object","properties":{"ack_minutes":{"type":"integer"},
                "respond_minutes":{"type":"integer"},"onsite_minutes":{"type":"integer"},"resolve_minutes":{"type":"integer"},
                "pause_statuses":{"type":"array","items":{"type":"string"}}}})"},
             [&tr](RequestContext& ctx) {
               const std::string sev = ctx.request().path_params["severity"];
               ctx.audit_target = "sla_policy:" + sev;
               auto severity = ParseSeverity(sev);
               if (!severity) return ErrorResponse(404, "not_found", "unknown severity");
               TRY_OR_RESPOND(auto body, ctx.JsonBody());
               TRY_OR_RESPOND(auto policies, tr.SlaPolicies(ctx.scope()));
               SlaPolicy p = policies[static_cast<int>(*severity)];
               for (auto [field, dst] : {std::pair{"ack_minutes", &p.ack_minutes}, {"respond_minutes", &p.respond_minutes},
                                         {"onsite_minutes", &p.onsite_minutes}, {"resolve_minutes", &p.resolve_minutes}}) {
                 auto v = OptionalInt(body, field);
                 if (!v.ok()) return ErrorFrom(v.error());
                 if (*v) *dst = static_cast<int>(**v);
               }
               if (body.contains("pause_statuses")) {
                 TRY_OR_RESPOND(auto names, StringArray(body, "pause_statuses"));
                 p.pause_statuses.clear();
                 for (const auto& n : names) {
                   auto st = ParseIncidentStatus(n);
                   if (!st) return Bad("unknown status '" + n + "'");
                   p.pause_statuses.push_back(*st);
                 }
               }
               STATUS_OR_RESPOND(tr.PutSlaPolicy(ctx.scope(), p));
               return JsonResponse(200, {{"severity", sev}, {"ack_minutes", p.ack_minutes},
                                         {"respond_minutes", p.respond_minutes}, {"onsite_minutes", p.onsite_minutes},
                                         {"resolve_minutes", p.resolve_minutes}});
             });

  router.Add({.method = Method::kGet, .pattern = base + "/oncall/shifts", .permission = Permission::kIncidentsRead,
              .summary = "Duty roster shifts overlapping [from, to)", .tag = "triage",
              .query_params = {{"from", "string", "RFC 3339"}, {"to", "string", "RFC 3339"}}},
             [&tr](RequestContext& ctx) {
               core::Timestamp from, to;
               if (auto f = ctx.request().Query("from")) {
                 auto t = core::ParseRfc3339(*f);
                 if (!t.ok()) return Bad("from: " + t.error().message());
                 from = *t;
               }
               if (auto f = ctx.request().Query("to")) {
                 auto t = core::ParseRfc3339(*f);
                 if (!t.ok()) return Bad("to: " + t.error().message());
                 to = *t;
               }
               TRY_OR_RESPOND(auto list, tr.ListShifts(ctx.scope(), from, to));
               json items = json::array();
               for (const auto& sh : list) items.push_back(ShiftJson(sh));
               return JsonResponse(200, {{"items", items}});
             });

  router.Add({.method = Method::kPost, .pattern = base + "/oncall/shifts", .permission = Permission::kIncidentsWrite,
              .summary = "Add a duty shift (regular, holiday, or protection period with extra staff)", .tag = "triage",
              .request_schema = R"({"type":"object","required":["user_id","tier","starts_at","ends_at"],"properties":{
                "user_id":{"type":"string"},"display":{"type":"string"},"phone":{"type":"string"},
                "tier":{"type":"integer"},"kind":{"type":"string","enum":["regular","holiday","protection"]},
                "starts_at":{"type":"string"},"ends_at":{"type":"string"}}})",
              .success_status = 201},
             [&tr](RequestContext& ctx) {
               TRY_OR_RESPOND(auto body, ctx.JsonBody());
               Shift sh;
               TRY_OR_RESPOND(sh.user_id, RequiredString(body, "user_id"));
               TRY_OR_RESPOND(auto display, OptionalString(body, "display"));
               TRY_OR_RESPOND(auto phone, OptionalString(body, "phone"));
               TRY_OR_RESPOND(auto tier, OptionalInt(body, "tier"));
               TRY_OR_RESPOND(auto kind, OptionalString(body, "kind"));
               TRY_OR_RESPOND(sh.starts_at, TimeField(body, "starts_at"));
               TRY_OR_RESPOND(sh.ends_at, TimeField(body, "ends_at"));
               sh.display = display.value_or("");
               sh.phone = phone.value_or("");
               sh.tier = static_cast<int>(tier.value_or(1));
               sh.kind = kind.value_or("regular");
               TRY_OR_RESPOND(auto out, tr.AddShift(ctx.scope(), sh));
               ctx.audit_target = "shift:" + out.id;
               return JsonResponse(201, ShiftJson(out));
             });

  router.Add({.method = Method::kDelete, .pattern = base + "/oncall/shifts/{id}", .permission = Permission::kIncidentsWrite,
              .summary = "Remove a duty shift", .tag = "triage", .success_status = 204},
             [&tr](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "shift:" + id;
               STATUS_OR_RESPOND(tr.DeleteShift(ctx.scope(), id));
               Response r;
               r.status = 204;
               return r;
             });

  router.Add({.method = Method::kGet, .pattern = base + "/oncall/now", .permission = Permission::kIncidentsRead,
              .summary = "Who is on duty now (optionally at one tier)", .tag = "triage",
              .query_params = {{"tier", "integer", "0 or absent: all tiers"}}},
             [&tr](RequestContext& ctx) {
               int tier = 0;
               if (auto t = ctx.request().Query("tier")) tier = std::atoi(std::string(*t).c_str());
               TRY_OR_RESPOND(auto list, tr.OnDutyNow(ctx.scope(), core::Now(), tier));
               json items = json::array();
               for (const auto& sh : list) items.push_back(ShiftJson(sh));
               return JsonResponse(200, {{"items", items}});
             });
  (void)s;
}

namespace {

json ChannelJson(const triage::notify::ChannelView& v) {
  json secrets = json::object();
  for (const auto& n : v.secret_names) secrets[n] = "(set)";  // values never leave the server
  return {{"id", v.channel.id}, {"name", v.channel.name}, {"kind", triage::notify::ChannelKindName(v.channel.kind)},
          {"config", v.channel.config}, {"secrets", secrets}, {"enabled", v.channel.enabled},
          {"created_at", T(v.channel.created_at)}, {"updated_at", T(v.updated_at)}};
}

json RouteJson(const triage::notify::Route& r) {
  return {{"id", r.id}, {"name", r.name}, {"channel_id", r.channel_id}, {"min_severity", SeverityName(r.min_severity)},
          {"asset_group", r.asset_group}, {"start_minute", r.start_minute}, {"end_minute", r.end_minute},
          {"events", r.events}, {"rate_per_hour", r.rate_per_hour}, {"enabled", r.enabled},
          {"created_at", T(r.created_at)}};
}

json DeliveryJson(const triage::notify::Delivery& d) {
  return {{"id", d.id}, {"channel_id", d.channel_id}, {"route_id", d.route_id}, {"event", d.event},
          {"incident_id", d.incident_id}, {"recipient", d.recipient}, {"status", d.status}, {"attempts", d.attempts},
          {"next_attempt_at", T(d.next_attempt_at)}, {"last_error", d.last_error}, {"response_code", d.response_code},
          {"created_at", T(d.created_at)}, {"sent_at", T(d.sent_at)}};
}

Result<std::optional<std::map<std::string, std::string>>> SecretsField(const json& body) {
  if (!body.contains("secrets")) return std::optional<std::map<std::string, std::string>>();
  const json& s = body["secrets"];
  if (!s.is_object()) return Error(ErrorCode::kInvalidArgument, "secrets must be an object of strings");
  std::map<std::string, std::string> out;
  for (auto it = s.begin(); it != s.end(); ++it) {
    if (!it->is_string()) return Error(ErrorCode::kInvalidArgument, "secrets." + it.key() + " must be a string");
    out[it.key()] = it->get<std::string>();
  }
  return std::optional<std::map<std::string, std::string>>(std::move(out));
}

Result<triage::notify::Route> ParseRoute(const json& body) {
  triage::notify::Route r;
  MEDSOC_ASSIGN_OR_RETURN(r.channel_id, RequiredString(body, "channel_id"));
  MEDSOC_ASSIGN_OR_RETURN(auto name, OptionalString(body, "name"));
  r.name = name.value_or("");
  MEDSOC_ASSIGN_OR_RETURN(auto sev, OptionalString(body, "min_severity"));
  if (sev) {
    auto s = ParseSeverity(*sev);
    if (!s) return Error(ErrorCode::kInvalidArgument, "min_severity: low, medium, high or critical");
    r.min_severity = *s;
  }
  MEDSOC_ASSIGN_OR_RETURN(auto group, OptionalString(body, "asset_group"));
  r.asset_group = group.value_or("");
  for (auto [field, dst] : {std::pair{"start_minute", &r.start_minute}, {"end_minute", &r.end_minute},
                            {"rate_per_hour", &r.rate_per_hour}}) {
    MEDSOC_ASSIGN_OR_RETURN(auto v, OptionalInt(body, field));
    if (v) {
      if (*v < 0 || *v > 100000) return Error(ErrorCode::kInvalidArgument, std::string(field) + " out of range");
      *dst = static_cast<int>(*v);
    }
  }
  if (body.contains("events")) {
    MEDSOC_ASSIGN_OR_RETURN(r.events, StringArray(body, "events"));
  }
  MEDSOC_ASSIGN_OR_RETURN(auto enabled, OptionalBool(body, "enabled"));
  r.enabled = enabled.value_or(true);
  return r;
}

}  // namespace

// Notification channels, routes, test-send and the delivery log. Permissions: reading needs
// incidents.read (analysts see where alerts go and whether they arrived); changing channels and
// routes, and test-sends, need content.write (security administrators only): a channel decides
// where incident data leaves the hospital and holds credentials, which is configuration of the
// security system, not case work.
void RegisterNotifyRoutes(Router& router, ApiServices& s, triage::notify::NotificationService& nt) {
  (void)s;
  using namespace triage::notify;
  const std::string base = "/api/v1/triage/notify";

  router.Add({.method = Method::kGet, .pattern = base + "/channels", .permission = Permission::kIncidentsRead,
              .summary = "Notification channels (secrets shown as \"(set)\")", .tag = "triage"},
             [&nt](RequestContext& ctx) {
               TRY_OR_RESPOND(auto list, nt.ListChannels(ctx.scope()));
               json items = json::array();
               for (const auto& c : list) items.push_back(ChannelJson(c));
               return JsonResponse(200, {{"items", items}});
             });

  router.Add({.method = Method::kPost, .pattern = base + "/channels", .permission = Permission::kContentWrite,
              .summary = "Create a channel: email, wecom, dingtalk, feishu, webhook or sms", .tag = "triage",
              .request_schema = R"({"type":"object","required":["name","kind"],"properties":{"name":{"type":"string"},
                "kind":{"type":"string"},"config":{"type":"object"},"secrets":{"type":"object"},"enabled":{"type":"boolean"}}})",
              .success_status = 201},
             [&nt](RequestContext& ctx) {
               TRY_OR_RESPOND(auto body, ctx.JsonBody());
               Channel c;
               TRY_OR_RESPOND(c.name, RequiredString(body, "name"));
               TRY_OR_RESPOND(auto kind, RequiredString(body, "kind"));
               auto k = ParseChannelKind(kind);
               if (!k) return Bad("kind: email, wecom, dingtalk, feishu, webhook or sms");
               c.kind = *k;
               if (body.contains("config")) c.config = body["config"];
               TRY_OR_RESPOND(auto secrets, SecretsField(body));
               if (secrets) c.secrets = std::move(*secrets);
               TRY_OR_RESPOND(auto enabled, OptionalBool(body, "enabled"));
               c.enabled = enabled.value_or(true);
               TRY_OR_RESPOND(auto v, nt.CreateChannel(ctx.scope(), std::move(c)));
               ctx.audit_target = "notify_channel:" + v.channel.id;
               ctx.audit_detail = std::string(ChannelKindName(v.channel.kind)) + " " + v.channel.name;
               return JsonResponse(201, ChannelJson(v));
             });

  router.Add({.method = Method::kGet, .pattern = base + "/channels/{id}", .permission = Permission::kIncidentsRead,
              .summary = "One channel", .tag = "triage"},
             [&nt](RequestContext& ctx) {
               TRY_OR_RESPOND(auto v, nt.GetChannel(ctx.scope(), ctx.request().path_params["id"]));
               if (!v) return ErrorResponse(404, "not_found", "no such channel");
               return JsonResponse(200, ChannelJson(*v));
             });

  router.Add({.method = Method::kPatch, .pattern = base + "/channels/{id}", .permission = Permission::kContentWrite,
              .summary = "Change a channel; secrets are merged (an empty value removes one)", .tag = "triage"},
             [&nt](RequestContext& ctx) {
               TRY_OR_RESPOND(auto body, ctx.JsonBody());
               ChannelPatch p;
               TRY_OR_RESPOND(p.name, OptionalString(body, "name"));
               if (body.contains("config")) p.config = body["config"];
               TRY_OR_RESPOND(p.secrets, SecretsField(body));
               TRY_OR_RESPOND(p.enabled, OptionalBool(body, "enabled"));
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "notify_channel:" + id;
               TRY_OR_RESPOND(auto v, nt.UpdateChannel(ctx.scope(), id, p));
               return JsonResponse(200, ChannelJson(v));
             });

  router.Add({.method = Method::kDelete, .pattern = base + "/channels/{id}", .permission = Permission::kContentWrite,
              .summary = "Delete a channel and its routes (the delivery log stays)", .tag = "triage",
              .success_status = 204},
             [&nt](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "notify_channel:" + id;
               STATUS_OR_RESPOND(nt.DeleteChannel(ctx.scope(), id));
               Response r;
               r.status = 204;
               return r;
             });

  router.Add({.method = Method::kPost, .pattern = base + "/channels/{id}/test", .permission = Permission::kContentWrite,
              .summary = "Send a test message now; returns the logged delivery", .tag = "triage"},
             [&nt](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "notify_channel:" + id;
               TRY_OR_RESPOND(auto d, nt.TestSend(ctx.scope(), id, core::Now()));
               ctx.audit_detail = d.status;
               return JsonResponse(200, DeliveryJson(d));
             });

  router.Add({.method = Method::kGet, .pattern = base + "/routes", .permission = Permission::kIncidentsRead,
              .summary = "Notification routes", .tag = "triage"},
             [&nt](RequestContext& ctx) {
               TRY_OR_RESPOND(auto list, nt.ListRoutes(ctx.scope()));
               json items = json::array();
               for (const auto& r : list) items.push_back(RouteJson(r));
               return JsonResponse(200, {{"items", items}});
             });

  router.Add({.method = Method::kPost, .pattern = base + "/routes", .permission = Permission::kContentWrite,
              .summary = "Create a route: events, min_severity, asset_group, start/end_minute, rate_per_hour",
              .tag = "triage", .success_status = 201},
             [&nt](RequestContext& ctx) {
               TRY_OR_RESPOND(auto body, ctx.JsonBody());
               TRY_OR_RESPOND(auto r, ParseRoute(body));
               TRY_OR_RESPOND(auto created, nt.CreateRoute(ctx.scope(), std::move(r)));
               ctx.audit_target = "notify_route:" + created.id;
               return JsonResponse(201, RouteJson(created));
             });

  router.Add({.method = Method::kPut, .pattern = base + "/routes/{id}", .permission = Permission::kContentWrite,
              .summary = "Replace a route", .tag = "triage"},
             [&nt](RequestContext& ctx) {
               TRY_OR_RESPOND(auto body, ctx.JsonBody());
               TRY_OR_RESPOND(auto r, ParseRoute(body));
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "notify_route:" + id;
               TRY_OR_RESPOND(auto updated, nt.UpdateRoute(ctx.scope(), id, std::move(r)));
               return JsonResponse(200, RouteJson(updated));
             });

  router.Add({.method = Method::kDelete, .pattern = base + "/routes/{id}", .permission = Permission::kContentWrite,
              .summary = "Delete a route", .tag = "triage", .success_status = 204},
             [&nt](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "notify_route:" + id;
               STATUS_OR_RESPOND(nt.DeleteRoute(ctx.scope(), id));
               Response r;
               r.status = 204;
               return r;
             });

  router.Add({.method = Method::kGet, .pattern = base + "/deliveries", .permission = Permission::kIncidentsRead,
              .summary = "Delivery log, newest first: status, attempts, last error, response code", .tag = "triage",
              .query_params = {{"status", "string", "pending, sent, failed, deduplicated, rate_limited"},
                               {"channel_id", "string", ""}, {"incident_id", "string", ""},
                               {"limit", "integer", "at most 1000"}}},
             [&nt](RequestContext& ctx) {
               DeliveryQuery q;
               auto& r = ctx.request();
               q.status = std::string(r.Query("status").value_or(""));
               q.channel_id = std::string(r.Query("channel_id").value_or(""));
               q.incident_id = std::string(r.Query("incident_id").value_or(""));
               if (auto l = r.Query("limit")) q.limit = std::atoi(std::string(*l).c_str());
               TRY_OR_RESPOND(auto list, nt.ListDeliveries(ctx.scope(), q));
               json items = json::array();
               for (const auto& d : list) items.push_back(DeliveryJson(d));
               return JsonResponse(200, {{"items", items}});
             });
}

}  // namespace medsoc::api
