// Asset routes. Every ledger call goes through the request's TenantScope.
#include "api/routes_assets.h"

#include "assets/table_io.h"
#include "core/time.h"

namespace medsoc::api {
namespace {

using auth::Permission;
using Json = nlohmann::json;

Json Time(core::Timestamp t) { return t.ns == 0 ? Json(nullptr) : Json(core::FormatRfc3339(t)); }

Json TlsJson(const assets::TlsInfo& t) {
  return {{"version", t.version}, {"versions", t.versions}, {"cipher", t.cipher}, {"subject", t.subject},
          {"issuer", t.issuer}, {"sans", t.sans}, {"not_before", t.not_before}, {"not_after", t.not_after},
          {"sha256", t.sha256}, {"self_signed", t.self_signed}};
}

Json ServiceJson(const assets::Service& s) {
  Json extra = Json::object();
  for (const auto& [k, v] : s.extra) extra[k] = v;
  return {{"port", s.port}, {"proto", s.proto}, {"state", s.open ? "open" : "closed"}, {"service", s.service},
          {"product", s.product}, {"version", s.version}, {"cpe", s.cpe}, {"banner", s.banner},
          {"tls", s.tls ? TlsJson(*s.tls) : Json(nullptr)}, {"extra", extra},
          {"source", assets::SourceName(s.source)}, {"first_seen", Time(s.first_seen)}, {"last_seen", Time(s.last_seen)}};
}

Json ScanJson(const assets::ScanRecord& r) {
  Json scope = Json::parse(r.scope, nullptr, false);
  return {{"id", r.id}, {"started_by", r.started_by}, {"kind", r.kind}, {"scope", scope.is_discarded() ? Json(r.scope) : scope},
          {"status", r.status}, {"started_at", Time(r.started_at)}, {"finished_at", Time(r.finished_at)},
          {"hosts_up", r.hosts_up}, {"services", r.services}, {"summary", r.summary}};
}

Json ChangeJson(const assets::Change& c) {
  Json detail = Json::parse(c.detail, nullptr, false);
  return {{"seq", c.seq}, {"at", Time(c.at)}, {"kind", assets::ChangeKindName(c.kind)}, {"asset_id", c.asset_id},
          {"address", c.address}, {"detail", detail.is_discarded() ? Json::object() : detail}, {"scan_id", c.scan_id}};
}

Json BusinessSystemJson(const assets::BusinessSystem& s) {
  return {{"id", s.id}, {"name", s.name}, {"mlps_level", s.mlps_level}, {"owner_department", s.owner_department},
          {"owner", s.owner}, {"description", s.description}, {"created_at", Time(s.created_at)},
          {"updated_at", Time(s.updated_at)}};
}

Json ExposureJson(const assets::Exposure& e) {
  return {{"public_ip", e.public_ip}, {"public_port", e.public_port}, {"proto", e.proto},
          {"internal_ip", e.internal_ip}, {"internal_port", e.internal_port}, {"asset_id", e.asset_id},
          {"service", e.service}, {"source", e.source}, {"approved", e.approved}, {"first_seen", Time(e.first_seen)},
          {"last_seen", Time(e.last_seen)}, {"note", e.note}};
}

std::string Actor(RequestContext& ctx) { return ctx.principal().AuditName(); }

// Attribute values from a JSON object: strings as is, arrays of strings as lists, numbers as text.
Result<assets::AttributeMap> AttributesFrom(const Json& body) {
  assets::AttributeMap out;
  if (!body.is_object()) return Error(ErrorCode::kInvalidArgument, "attributes must be an object");
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (!assets::FindAttribute(it.key()))
      return Error(ErrorCode::kInvalidArgument, "unknown attribute '" + it.key() + "'");
    const Json& v = it.value();
    if (v.is_string()) out[it.key()] = v.get<std::string>();
    else if (v.is_null()) out[it.key()] = "";
    else if (v.is_number_integer()) out[it.key()] = std::to_string(v.get<std::int64_t>());
    else if (v.is_array()) out[it.key()] = v.dump();
    else return Error(ErrorCode::kInvalidArgument, "attribute '" + it.key() + "' must be a string, number or list");
  }
  return out;
}

std::string Q(RequestContext& ctx, const char* name) { return std::string(ctx.request().Query(name).value_or("")); }

int QInt(RequestContext& ctx, const char* name, int fallback) {
  auto v = ctx.request().Query(name);
  if (!v || v->empty() || v->size() > 9 || v->find_first_not_of("0123456789") != std::string_view::npos) return fallback;
  return std::stoi(std::string(*v));
}

Response NotFound(const std::string& what) { return ErrorResponse(404, "not_found", what + " not found"); }

constexpr const char* kAssetSchema = R"({"type":"object","properties":{
  "id":{"type":"string"},"status":{"type":"string","enum":["active","offline","retired"]},
  "first_seen":{"type":["string","null"]},"last_seen":{"type":["string","null"]},
  "attributes":{"type":"object","description":"name -> {value, source, at, by}"},
  "services":{"type":"array","items":{"type":"object"}},"software":{"type":"array","items":{"type":"object"}}}})";
constexpr const char* kAttributesBody = R"({"type":"object","properties":{
  "attributes":{"type":"object","description":"attribute name -> value (lists as arrays); see /api/v1/asset-attributes"},
  "status":{"type":"string","enum":["active","offline","retired"]},"note":{"type":"string"}}})";

}  // namespace

Json AssetJson(const assets::Asset& a) {
  Json attrs = Json::object();
  for (const auto& [k, v] : a.attrs) {
    const auto* spec = assets::FindAttribute(k);
    Json value = spec && spec->type == assets::AttrType::kList ? Json(assets::ListFromJson(v.value)) : Json(v.value);
    attrs[k] = {{"value", value}, {"source", assets::SourceName(v.source)}, {"at", Time(v.at)}, {"by", v.by}};
  }
  Json services = Json::array();
  for (const auto& s : a.services) services.push_back(ServiceJson(s));
  Json software = Json::array();
  for (const auto& s : a.software)
    software.push_back({{"name", s.name}, {"version", s.version}, {"cpe", s.cpe}, {"purl", s.purl},
                        {"source", assets::SourceName(s.source)}, {"first_seen", Time(s.first_seen)},
                        {"last_seen", Time(s.last_seen)}});
  return {{"id", a.id}, {"status", assets::StatusName(a.status)}, {"first_seen", Time(a.first_seen)},
          {"last_seen", Time(a.last_seen)}, {"created_at", Time(a.created_at)}, {"updated_at", Time(a.updated_at)},
          {"attributes", attrs}, {"services", services}, {"software", software}};
}

void RegisterAssetRoutes(Router& router, ApiServices& s, assets::AssetLedger& ledger, assets::ScanService* scans) {
  (void)s;
  // ---- the attribute catalogue (drives forms and spreadsheet columns) ----
  router.Add({.method = Method::kGet, .pattern = "/api/v1/asset-attributes", .permission = Permission::kAssetsRead,
              .summary = "The asset attribute catalogue with Chinese and English names and allowed values",
              .tag = "assets"},
             [](RequestContext&) {
               Json items = Json::array();
               for (const auto& spec : assets::AttributeSpecs()) {
                 Json values = Json::array();
                 for (const auto& v : spec.values) values.push_back({{"name", v.name}, {"zh", v.zh}});
                 const char* type = spec.type == assets::AttrType::kList    ? "list"
                                    : spec.type == assets::AttrType::kEnum  ? "enum"
                                    : spec.type == assets::AttrType::kLevel ? "level"
                                                                            : "text";
                 items.push_back({{"name", spec.name}, {"zh", spec.zh}, {"en", spec.en}, {"type", type}, {"values", values}});
               }
               return JsonResponse(200, {{"items", items}});
             });

  // ---- assets ----
  router.Add({.method = Method::kGet, .pattern = "/api/v1/assets", .permission = Permission::kAssetsRead,
              .summary = "List assets of the current tenant (filters; cursor paging by id)", .tag = "assets",
              .query_params = {{"kind", "string", "asset kind"}, {"zone", "string", "network zone"},
                               {"business_system", "string", "business system name"},
                               {"status", "string", "active, offline, retired (default: all but retired)"},
                               {"q", "string", "substring of name, hostname, IP or MAC"},
                               {"ip", "string", "exact IP address"}, {"after", "string", "cursor: last id seen"},
                               {"limit", "integer", "page size (default 100, at most 1000)"}}},
             [&ledger](RequestContext& ctx) {
               assets::AssetQuery q{.kind = Q(ctx, "kind"), .zone = Q(ctx, "zone"),
                                    .business_system = Q(ctx, "business_system"), .status = Q(ctx, "status"),
                                    .text = Q(ctx, "q"), .ip = Q(ctx, "ip"), .after_id = Q(ctx, "after"),
                                    .limit = std::min(QInt(ctx, "limit", 100), 1000)};
               auto list = ledger.List(ctx.scope(), q);
               if (!list.ok()) return ErrorFrom(list.error());
               Json items = Json::array();
               for (const auto& a : *list) items.push_back(AssetJson(a));
               Json body = {{"items", items}};
               if (static_cast<int>(list->size()) == q.limit && !list->empty()) body["next"] = list->back().id;
               return JsonResponse(200, body);
             });

  router.Add({.method = Method::kPost, .pattern = "/api/v1/assets", .permission = Permission::kAssetsWrite,
              .summary = "Create an asset (manual source)", .tag = "assets", .request_schema = kAttributesBody,
              .response_schema = kAssetSchema, .success_status = 201},
             [&ledger](RequestContext& ctx) {
               auto body = ctx.JsonBody();
               if (!body.ok()) return ErrorFrom(body.error());
               auto attrs = AttributesFrom(body->value("attributes", Json::object()));
               if (!attrs.ok()) return ErrorFrom(attrs.error());
               auto a = ledger.Create(ctx.scope(), *attrs, assets::Source::kManual, Actor(ctx));
               if (!a.ok()) return ErrorFrom(a.error());
               ctx.audit_target = "asset:" + a->id;
               ctx.audit_detail = "created " + a->Get("name");
               return JsonResponse(201, AssetJson(*a));
             });

  router.Add({.method = Method::kGet, .pattern = "/api/v1/assets/{id}", .permission = Permission::kAssetsRead,
              .summary = "One asset with every attribute's source, its services and software", .tag = "assets",
              .response_schema = kAssetSchema},
             [&ledger](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               auto a = ledger.Get(ctx.scope(), id);
               if (!a.ok()) return ErrorFrom(a.error());
               if (!*a && (assets::NormalizeIp(id) || assets::NormalizeMac(id))) {
                 a = ledger.FindByAddress(ctx.scope(), id);
                 if (!a.ok()) return ErrorFrom(a.error());
               }
               if (!*a) return NotFound("asset");
               return JsonResponse(200, AssetJson(**a));
             });

  router.Add({.method = Method::kPatch, .pattern = "/api/v1/assets/{id}", .permission = Permission::kAssetsWrite,
              .summary = "Edit attributes (manual source: never overwritten by scans) or the status", .tag = "assets",
              .request_schema = kAttributesBody, .response_schema = kAssetSchema},
             [&ledger](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "asset:" + id;
               auto body = ctx.JsonBody();
               if (!body.ok()) return ErrorFrom(body.error());
               auto attrs = AttributesFrom(body->value("attributes", Json::object()));
               if (!attrs.ok()) return ErrorFrom(attrs.error());
               auto note = OptionalString(*body, "note");
               if (!note.ok()) return ErrorFrom(note.error());
               auto status = OptionalString(*body, "status");
               if (!status.ok()) return ErrorFrom(status.error());
               if (*status) {
                 auto st = assets::ParseStatus(**status);
                 if (!st) return ErrorResponse(400, "invalid_argument", "status must be active, offline or retired");
                 if (auto r = ledger.SetStatus(ctx.scope(), id, *st, Actor(ctx)); !r.ok()) return ErrorFrom(r.error());
               }
               auto a = ledger.Update(ctx.scope(), id, *attrs, assets::Source::kManual, Actor(ctx), note->value_or(""));
               if (!a.ok()) return ErrorFrom(a.error());
               std::string changed;
               for (const auto& [k, v] : *attrs) changed += (changed.empty() ? "" : ",") + k;
               ctx.audit_detail = "attributes: " + changed + (*status ? " status: " + **status : "");
               return JsonResponse(200, AssetJson(*a));
             });

  router.Add({.method = Method::kDelete, .pattern = "/api/v1/assets/{id}", .permission = Permission::kAssetsWrite,
              .summary = "Delete an asset (its history stays; prefer status retired)", .tag = "assets",
              .success_status = 204},
             [&ledger](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "asset:" + id;
               if (auto st = ledger.Delete(ctx.scope(), id, Actor(ctx)); !st.ok()) return ErrorFrom(st.error());
               Response r;
               r.status = 204;
               return r;
             });

  router.Add({.method = Method::kGet, .pattern = "/api/v1/assets/{id}/history", .permission = Permission::kAssetsRead,
              .summary = "Every change of an asset, newest first", .tag = "assets",
              .query_params = {{"limit", "integer", "at most this many (default 200)"}}},
             [&ledger](RequestContext& ctx) {
               auto h = ledger.History(ctx.scope(), ctx.request().path_params["id"], QInt(ctx, "limit", 200));
               if (!h.ok()) return ErrorFrom(h.error());
               Json items = Json::array();
               for (const auto& e : *h)
                 items.push_back({{"id", e.id}, {"at", Time(e.at)}, {"attribute", e.attribute}, {"old", e.old_value},
                                  {"new", e.new_value}, {"source", e.source}, {"actor", e.actor}, {"note", e.note}});
               return JsonResponse(200, {{"items", items}});
             });

  router.Add({.method = Method::kPost, .pattern = "/api/v1/assets/{id}/services", .permission = Permission::kAssetsWrite,
              .summary = "Record a service by hand (manual source)", .tag = "assets",
              .request_schema = R"({"type":"object","required":["port"],"properties":{"port":{"type":"integer"},
                "proto":{"type":"string","enum":["tcp","udp"]},"service":{"type":"string"},"product":{"type":"string"},
                "version":{"type":"string"},"cpe":{"type":"string"},"open":{"type":"boolean"}}})",
              .success_status = 204},
             [&ledger](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "asset:" + id;
               auto body = ctx.JsonBody();
               if (!body.ok()) return ErrorFrom(body.error());
               auto port = OptionalInt(*body, "port");
               if (!port.ok()) return ErrorFrom(port.error());
               if (!*port || **port < 1 || **port > 65535)
                 return ErrorResponse(400, "invalid_argument", "port must be 1-65535");
               assets::Service svc;
               svc.port = static_cast<std::uint16_t>(**port);
               svc.proto = body->value("proto", "tcp");
               svc.service = body->value("service", "");
               svc.product = body->value("product", "");
               svc.version = body->value("version", "");
               svc.cpe = body->value("cpe", "");
               svc.open = body->value("open", true);
               auto st = ledger.PutService(ctx.scope(), id, svc, assets::Source::kManual, Actor(ctx));
               if (!st.ok()) return ErrorFrom(st.error());
               ctx.audit_detail = "service " + std::to_string(svc.port) + "/" + svc.proto;
               Response r;
               r.status = 204;
               return r;
             });

  // ---- spreadsheets ----
  router.Add({.method = Method::kGet, .pattern = "/api/v1/assets-export", .permission = Permission::kAssetsRead,
              .summary = "The ledger as a spreadsheet with Chinese headers (台账)", .tag = "assets",
              .query_params = {{"format", "string", "csv (default) or xlsx"}, {"kind", "string", "filter"},
                               {"business_system", "string", "filter"}},
              .content_type = "text/csv"},
             [&ledger](RequestContext& ctx) {
               auto list = ledger.List(ctx.scope(), {.kind = Q(ctx, "kind"), .business_system = Q(ctx, "business_system"),
                                                     .limit = 10000});
               if (!list.ok()) return ErrorFrom(list.error());
               Response r;
               if (Q(ctx, "format") == "xlsx") {
                 auto systems = ledger.ListBusinessSystems(ctx.scope());
                 if (!systems.ok()) return ErrorFrom(systems.error());
                 auto bytes = assets::AssetsToXlsx(*list, *systems);
                 if (!bytes.ok()) return ErrorFrom(bytes.error());
                 r.content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
                 r.SetHeader("Content-Disposition", "attachment; filename=\"assets.xlsx\"");
                 r.body = std::move(*bytes);
               } else {
                 r.content_type = "text/csv; charset=utf-8";
                 r.SetHeader("Content-Disposition", "attachment; filename=\"assets.csv\"");
                 r.body = assets::AssetsToCsv(*list);
               }
               return r;
             });

  router.Add({.method = Method::kPost, .pattern = "/api/v1/assets-import", .permission = Permission::kAssetsWrite,
              .summary = "Import a ledger spreadsheet (CSV or XLSX body; rows matched by id, IP, MAC or name)",
              .tag = "assets", .query_params = {{"format", "string", "csv (default) or xlsx"}}},
             [&ledger](RequestContext& ctx) {
               const std::string format = Q(ctx, "format").empty() ? "csv" : Q(ctx, "format");
               Result<assets::Table> table = format == "xlsx" ? assets::ParseXlsxBytes(ctx.request().body)
                                                              : assets::ParseCsv(ctx.request().body);
               if (!table.ok()) return ErrorFrom(table.error());
               auto parsed = assets::RowsFromTable(*table, "upload." + format);
               auto report = ledger.Import(ctx.scope(), parsed.rows, Actor(ctx), "upload." + format);
               if (!report.ok()) return ErrorFrom(report.error());
               Json problems = Json::array();
               for (const auto* list : {&parsed.errors, &report->errors})
                 for (const auto& e : *list)
                   problems.push_back({{"line", e.pos() ? e.pos()->line : 0}, {"column", e.pos() ? e.pos()->column : 0},
                                       {"message", e.message()}});
               ctx.audit_detail = std::to_string(report->created) + " created, " + std::to_string(report->updated) +
                                  " updated, " + std::to_string(problems.size()) + " problems";
               return JsonResponse(200, {{"created", report->created}, {"updated", report->updated},
                                         {"unchanged", report->unchanged}, {"problems", problems}});
             });

  // ---- reviews ----
  router.Add({.method = Method::kGet, .pattern = "/api/v1/asset-reviews", .permission = Permission::kAssetsRead,
              .summary = "Observed values that disagree with curated ones, waiting for a decision", .tag = "assets",
              .query_params = {{"status", "string", "pending (default), accepted, rejected, or empty for all"}}},
             [&ledger](RequestContext& ctx) {
               auto status = ctx.request().Query("status");
               auto list = ledger.ListReviews(ctx.scope(), status ? std::string(*status) : "pending");
               if (!list.ok()) return ErrorFrom(list.error());
               Json items = Json::array();
               for (const auto& r : *list)
                 items.push_back({{"id", r.id}, {"asset_id", r.asset_id}, {"attribute", r.attribute},
                                  {"current", r.current}, {"proposed", r.proposed}, {"source", r.source},
                                  {"proposed_at", Time(r.proposed_at)}, {"proposed_by", r.proposed_by},
                                  {"status", r.status}, {"decided_at", Time(r.decided_at)}, {"decided_by", r.decided_by}});
               return JsonResponse(200, {{"items", items}});
             });

  router.Add({.method = Method::kPost, .pattern = "/api/v1/asset-reviews/{id}/decision",
              .permission = Permission::kAssetsWrite, .summary = "Accept or reject a proposed value", .tag = "assets",
              .request_schema = R"({"type":"object","required":["accept"],"properties":{"accept":{"type":"boolean"}}})",
              .success_status = 204},
             [&ledger](RequestContext& ctx) {
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "asset-review:" + id;
               auto body = ctx.JsonBody();
               if (!body.ok()) return ErrorFrom(body.error());
               auto accept = OptionalBool(*body, "accept");
               if (!accept.ok()) return ErrorFrom(accept.error());
               if (!*accept) return ErrorResponse(400, "invalid_argument", "accept (boolean) is required");
               if (auto st = ledger.DecideReview(ctx.scope(), id, **accept, Actor(ctx)); !st.ok())
                 return ErrorFrom(st.error());
               ctx.audit_detail = **accept ? "accepted" : "rejected";
               Response r;
               r.status = 204;
               return r;
             });

  // ---- business systems ----
  router.Add({.method = Method::kGet, .pattern = "/api/v1/business-systems", .permission = Permission::kAssetsRead,
              .summary = "Business systems (HIS, EMR, PACS, LIS ...) with their MLPS level", .tag = "assets"},
             [&ledger](RequestContext& ctx) {
               auto list = ledger.ListBusinessSystems(ctx.scope());
               if (!list.ok()) return ErrorFrom(list.error());
               Json items = Json::array();
               for (const auto& b : *list) items.push_back(BusinessSystemJson(b));
               return JsonResponse(200, {{"items", items}});
             });

  router.Add({.method = Method::kPut, .pattern = "/api/v1/business-systems/{name}", .permission = Permission::kAssetsWrite,
              .summary = "Create or update a business system by name (等保定级 mlps_level 1-5, 0 not graded)",
              .tag = "assets",
              .request_schema = R"({"type":"object","properties":{"mlps_level":{"type":"integer","minimum":0,"maximum":5},
                "owner_department":{"type":"string"},"owner":{"type":"string"},"description":{"type":"string"},
                "name":{"type":"string","description":"new name, to rename it"}}})"},
             [&ledger](RequestContext& ctx) {
               const std::string name = ctx.request().path_params["name"];
               ctx.audit_target = "business-system:" + name;
               auto body = ctx.JsonBody();
               if (!body.ok()) return ErrorFrom(body.error());
               auto level = OptionalInt(*body, "mlps_level");
               if (!level.ok()) return ErrorFrom(level.error());
               assets::BusinessSystem b;
               auto existing = ledger.GetBusinessSystem(ctx.scope(), name);
               if (!existing.ok()) return ErrorFrom(existing.error());
               if (*existing) b = **existing;
               b.name = body->value("name", name);
               if (*level) b.mlps_level = static_cast<int>(**level);
               b.owner_department = body->value("owner_department", b.owner_department);
               b.owner = body->value("owner", b.owner);
               b.description = body->value("description", b.description);
               auto saved = ledger.PutBusinessSystem(ctx.scope(), b);
               if (!saved.ok()) return ErrorFrom(saved.error());
               ctx.audit_detail = "mlps_level " + std::to_string(saved->mlps_level);
               return JsonResponse(200, BusinessSystemJson(*saved));
             });

  router.Add({.method = Method::kDelete, .pattern = "/api/v1/business-systems/{name}",
              .permission = Permission::kAssetsWrite, .summary = "Delete a business system that no asset uses",
              .tag = "assets", .success_status = 204},
             [&ledger](RequestContext& ctx) {
               const std::string name = ctx.request().path_params["name"];
               ctx.audit_target = "business-system:" + name;
               if (auto st = ledger.DeleteBusinessSystem(ctx.scope(), name); !st.ok()) return ErrorFrom(st.error());
               Response r;
               r.status = 204;
               return r;
             });

  // ---- changes feed ----
  router.Add({.method = Method::kGet, .pattern = "/api/v1/asset-changes", .permission = Permission::kAssetsRead,
              .summary = "The changes feed: new assets, gone, services opened/closed, versions, unknown in logs, exposures",
              .tag = "assets",
              .query_params = {{"after", "integer", "sequence cursor"}, {"limit", "integer", "default 200"}}},
             [&ledger](RequestContext& ctx) {
               auto list = ledger.ListChanges(ctx.scope(), QInt(ctx, "after", 0), QInt(ctx, "limit", 200));
               if (!list.ok()) return ErrorFrom(list.error());
               Json items = Json::array();
               for (const auto& c : *list) items.push_back(ChangeJson(c));
               return JsonResponse(200, {{"items", items}});
             });

  // ---- scans ----
  router.Add({.method = Method::kGet, .pattern = "/api/v1/scans", .permission = Permission::kAssetsRead,
              .summary = "Scans of the current tenant with who started them and their scope", .tag = "scans"},
             [&ledger](RequestContext& ctx) {
               auto list = ledger.ListScans(ctx.scope(), QInt(ctx, "limit", 100));
               if (!list.ok()) return ErrorFrom(list.error());
               Json items = Json::array();
               for (const auto& r : *list) items.push_back(ScanJson(r));
               return JsonResponse(200, {{"items", items}});
             });

  router.Add({.method = Method::kGet, .pattern = "/api/v1/scans/{id}", .permission = Permission::kAssetsRead,
              .summary = "One scan", .tag = "scans"},
             [&ledger](RequestContext& ctx) {
               auto r = ledger.GetScan(ctx.scope(), ctx.request().path_params["id"]);
               if (!r.ok()) return ErrorFrom(r.error());
               if (!*r) return NotFound("scan");
               return JsonResponse(200, ScanJson(**r));
             });

  router.Add({.method = Method::kPost, .pattern = "/api/v1/scans", .permission = Permission::kAssetsWrite,
              .summary = "Start a discovery scan within the scan policy (allow-list, exclusions, windows, rates)",
              .tag = "scans",
              .request_schema = R"({"type":"object","required":["targets"],"properties":{"targets":{"type":"string"},
                "ports":{"type":"string"},"rate":{"type":"integer"},"external":{"type":"boolean"}}})",
              .success_status = 202},
             [scans](RequestContext& ctx) {
               if (!scans) return ErrorResponse(503, "unavailable", "the scanner is not configured");
               auto body = ctx.JsonBody();
               if (!body.ok()) return ErrorFrom(body.error());
               auto targets = RequiredString(*body, "targets");
               if (!targets.ok()) return ErrorFrom(targets.error());
               auto ports = OptionalString(*body, "ports");
               if (!ports.ok()) return ErrorFrom(ports.error());
               auto rate = OptionalInt(*body, "rate");
               if (!rate.ok()) return ErrorFrom(rate.error());
               auto external = OptionalBool(*body, "external");
               if (!external.ok()) return ErrorFrom(external.error());
               auto r = scans->Start(ctx.scope(), Actor(ctx),
                                     {.targets = *targets, .ports = ports->value_or(""),
                                      .rate = static_cast<int>(rate->value_or(0)),
                                      .kind = external->value_or(false) ? "external" : "manual"});
               if (!r.ok()) return ErrorFrom(r.error());
               ctx.audit_target = "scan:" + r->id;
               ctx.audit_detail = "targets " + *targets + " ports " + ports->value_or("default");
               return JsonResponse(202, ScanJson(*r));
             });

  // ---- scan schedules (per tenant; cron or interval; inside the maintenance windows) ----
  auto schedule_json = [](const assets::ScheduleStatus& st) {
    const auto& s = st.schedule;
    return Json{{"name", s.name}, {"targets", s.targets}, {"ports", s.ports},
                {"cron", s.cron.empty() ? Json(nullptr) : Json(s.cron)},
                {"interval_minutes", s.cron.empty() ? Json(s.interval_minutes) : Json(nullptr)},
                {"external", s.external}, {"rate", s.rate}, {"enabled", s.enabled},
                {"source", st.from_config ? "config" : "api"}, {"created_at", Time(s.created_at)},
                {"last_run", Time(st.last_run)}, {"last_status", st.last_status},
                {"next_run", st.next_run ? Time(*st.next_run) : Json(nullptr)}};
  };
  router.Add({.method = Method::kGet, .pattern = "/api/v1/scan-schedules", .permission = Permission::kAssetsRead,
              .summary = "Scheduled scans of the current tenant with their last and next run", .tag = "scans"},
             [scans, schedule_json](RequestContext& ctx) {
               if (!scans) return ErrorResponse(503, "unavailable", "the scanner is not configured");
               auto list = scans->ListSchedules(ctx.scope());
               if (!list.ok()) return ErrorFrom(list.error());
               Json items = Json::array();
               for (const auto& st : *list) items.push_back(schedule_json(st));
               return JsonResponse(200, {{"items", items}});
             });

  router.Add({.method = Method::kPut, .pattern = "/api/v1/scan-schedules/{name}", .permission = Permission::kAssetsWrite,
              .summary = "Create or replace a scheduled scan (cron expression or interval; external: feeds the "
                         "exposure ledger)",
              .tag = "scans",
              .request_schema = R"({"type":"object","required":["targets"],"properties":{"targets":{"type":"string"},
                "ports":{"type":"string"},"cron":{"type":"string"},"interval_minutes":{"type":"integer"},
                "external":{"type":"boolean"},"rate":{"type":"integer"},"enabled":{"type":"boolean"}}})"},
             [scans, schedule_json](RequestContext& ctx) {
               if (!scans) return ErrorResponse(503, "unavailable", "the scanner is not configured");
               const std::string name = ctx.request().path_params["name"];
               ctx.audit_target = "scan-schedule:" + name;
               auto body = ctx.JsonBody();
               if (!body.ok()) return ErrorFrom(body.error());
               auto targets = RequiredString(*body, "targets");
               if (!targets.ok()) return ErrorFrom(targets.error());
               auto ports = OptionalString(*body, "ports");
               auto cron = OptionalString(*body, "cron");
               auto interval = OptionalInt(*body, "interval_minutes");
               auto rate = OptionalInt(*body, "rate");
               auto external = OptionalBool(*body, "external");
               auto enabled = OptionalBool(*body, "enabled");
               if (!ports.ok()) return ErrorFrom(ports.error());
               if (!cron.ok()) return ErrorFrom(cron.error());
               if (!interval.ok()) return ErrorFrom(interval.error());
               if (!rate.ok()) return ErrorFrom(rate.error());
               if (!external.ok()) return ErrorFrom(external.error());
               if (!enabled.ok()) return ErrorFrom(enabled.error());
               if (cron->has_value() && interval->has_value())
                 return ErrorResponse(400, "invalid_argument", "give either cron or interval_minutes, not both");
               const std::int64_t minutes = interval->value_or(1440);
               if (minutes < 0 || minutes > 525600 || rate->value_or(0) < 0 || rate->value_or(0) > 1000000)
                 return ErrorResponse(400, "invalid_argument", "interval_minutes or rate out of range");
               auto r = scans->PutSchedule(ctx.scope(), {.name = name, .targets = *targets,
                                                         .ports = ports->value_or(""),
                                                         .interval_minutes = static_cast<int>(minutes),
                                                         .external = external->value_or(false),
                                                         .rate = static_cast<int>(rate->value_or(0)),
                                                         .cron = cron->value_or(""),
                                                         .enabled = enabled->value_or(true)});
               if (!r.ok()) return ErrorFrom(r.error());
               ctx.audit_detail = "targets " + r->targets + " ports " + r->ports +
                                  (r->cron.empty() ? " every " + std::to_string(r->interval_minutes) + " min"
                                                   : " cron " + r->cron) +
                                  (r->external ? " external" : "");
               return JsonResponse(200, schedule_json({.schedule = *r}));
             });

  router.Add({.method = Method::kDelete, .pattern = "/api/v1/scan-schedules/{name}",
              .permission = Permission::kAssetsWrite, .summary = "Delete a scheduled scan", .tag = "scans",
              .success_status = 204},
             [scans](RequestContext& ctx) {
               if (!scans) return ErrorResponse(503, "unavailable", "the scanner is not configured");
               const std::string name = ctx.request().path_params["name"];
               ctx.audit_target = "scan-schedule:" + name;
               if (auto st = scans->DeleteSchedule(ctx.scope(), name); !st.ok()) return ErrorFrom(st.error());
               Response r;
               r.status = 204;
               return r;
             });

  router.Add({.method = Method::kPost, .pattern = "/api/v1/scans/{id}/cancel", .permission = Permission::kAssetsWrite,
              .summary = "Cancel a running scan", .tag = "scans", .success_status = 204},
             [scans](RequestContext& ctx) {
               if (!scans) return ErrorResponse(503, "unavailable", "the scanner is not configured");
               const std::string id = ctx.request().path_params["id"];
               ctx.audit_target = "scan:" + id;
               if (auto st = scans->Cancel(ctx.scope(), id); !st.ok()) return ErrorFrom(st.error());
               Response r;
               r.status = 204;
               return r;
             });

  // ---- exposure ledger and domains ----
  router.Add({.method = Method::kGet, .pattern = "/api/v1/exposures", .permission = Permission::kAssetsRead,
              .summary = "The internet exposure ledger: public address:port -> internal asset", .tag = "exposure"},
             [&ledger](RequestContext& ctx) {
               auto list = ledger.ListExposures(ctx.scope());
               if (!list.ok()) return ErrorFrom(list.error());
               Json items = Json::array();
               for (const auto& e : *list) items.push_back(ExposureJson(e));
               return JsonResponse(200, {{"items", items}});
             });

  router.Add({.method = Method::kPut, .pattern = "/api/v1/exposures", .permission = Permission::kAssetsWrite,
              .summary = "Record or approve a public mapping (NAT / port forward)", .tag = "exposure",
              .request_schema = R"({"type":"object","required":["public_ip","public_port"],"properties":{
                "public_ip":{"type":"string"},"public_port":{"type":"integer"},"proto":{"type":"string"},
                "internal_ip":{"type":"string"},"internal_port":{"type":"integer"},"service":{"type":"string"},
                "approved":{"type":"boolean"},"note":{"type":"string"}}})"},
             [&ledger](RequestContext& ctx) {
               auto body = ctx.JsonBody();
               if (!body.ok()) return ErrorFrom(body.error());
               auto ip = RequiredString(*body, "public_ip");
               if (!ip.ok()) return ErrorFrom(ip.error());
               auto port = OptionalInt(*body, "public_port");
               auto iport = OptionalInt(*body, "internal_port");
               if (!port.ok() || !iport.ok() || !*port || **port < 0 || **port > 65535 || iport->value_or(0) < 0 ||
                   iport->value_or(0) > 65535)
                 return ErrorResponse(400, "invalid_argument", "ports must be 0-65535");
               assets::Exposure e{.public_ip = *ip, .public_port = static_cast<std::uint16_t>(**port),
                                  .proto = body->value("proto", "tcp"), .internal_ip = body->value("internal_ip", ""),
                                  .internal_port = static_cast<std::uint16_t>(iport->value_or(0)),
                                  .service = body->value("service", ""), .source = "manual",
                                  .approved = body->value("approved", false), .note = body->value("note", "")};
               ctx.audit_target = "exposure:" + *ip + ":" + std::to_string(**port);
               if (auto st = ledger.PutExposure(ctx.scope(), e); !st.ok()) return ErrorFrom(st.error());
               return JsonResponse(200, ExposureJson(e));
             });

  router.Add({.method = Method::kGet, .pattern = "/api/v1/domains", .permission = Permission::kAssetsRead,
              .summary = "The domain inventory (manual, certificate SANs and reverse DNS from scans, resolved "
                         "addresses)",
              .tag = "exposure"},
             [&ledger](RequestContext& ctx) {
               auto list = ledger.ListDomains(ctx.scope());
               if (!list.ok()) return ErrorFrom(list.error());
               Json items = Json::array();
               for (const auto& d : *list)
                 items.push_back({{"name", d.name}, {"source", d.source}, {"addresses", d.addresses},
                                  {"asset_id", d.asset_id}, {"first_seen", Time(d.first_seen)},
                                  {"last_seen", Time(d.last_seen)}});
               return JsonResponse(200, {{"items", items}});
             });

  router.Add({.method = Method::kPost, .pattern = "/api/v1/domains/resolve", .permission = Permission::kAssetsWrite,
              .summary = "Resolve every domain of the inventory (A/AAAA) and map it to the asset it points at",
              .tag = "exposure"},
             [scans](RequestContext& ctx) {
               if (!scans) return ErrorResponse(503, "unavailable", "the scanner is not configured");
               ctx.audit_target = "domains";
               auto list = scans->ResolveDomains(ctx.scope());
               if (!list.ok()) return ErrorFrom(list.error());
               Json items = Json::array();
               for (const auto& d : *list)
                 items.push_back({{"name", d.name}, {"source", d.source}, {"addresses", d.addresses},
                                  {"asset_id", d.asset_id}, {"first_seen", Time(d.first_seen)},
                                  {"last_seen", Time(d.last_seen)}});
               return JsonResponse(200, {{"items", items}});
             });

  router.Add({.method = Method::kPut, .pattern = "/api/v1/domains/{name}", .permission = Permission::kAssetsWrite,
              .summary = "Add a domain to the inventory", .tag = "exposure",
              .request_schema = R"({"type":"object","properties":{"addresses":{"type":"array","items":{"type":"string"}},
                "asset_id":{"type":"string"}}})"},
             [&ledger](RequestContext& ctx) {
               const std::string name = ctx.request().path_params["name"];
               ctx.audit_target = "domain:" + name;
               auto body = ctx.JsonBody();
               if (!body.ok()) return ErrorFrom(body.error());
               assets::Domain d{.name = name, .source = "manual",
                                .addresses = body->value("addresses", std::vector<std::string>{}),
                                .asset_id = body->value("asset_id", "")};
               if (auto st = ledger.PutDomain(ctx.scope(), d); !st.ok()) return ErrorFrom(st.error());
               return JsonResponse(200, {{"name", name}});
             });
}

}  // namespace medsoc::api
