// Router::OpenApi: the OpenAPI 3.1.0 document generated from the route table. See api/router.h.
//
// Shape of each operation:
//   operationId   method + pattern ("get_api_v1_users_id"), unique because (method, pattern) is
//   tags          [spec.tag]
//   x-permission  auth::PermissionName(spec.permission)
//   security      [] for kPublic; otherwise [{session: []}, {bearer: []}]
//   parameters    path parameters (required strings) then spec.query_params
//   requestBody   spec.request_schema (application/json), when set
//   responses     success_status with spec.response_schema (or a generic object), then the common
//                 error statuses with #/components/schemas/Error
#include <set>

#include <nlohmann/json.hpp>

#include "api/router.h"

namespace medsoc::api {

namespace {

using nlohmann::json;

constexpr const char* kErrorRef = "#/components/schemas/Error";

json ParseSchemaOr(const std::string& text, json fallback) {
  if (text.empty()) return fallback;
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return fallback;  // Validate() reports it; keep the document usable
  return parsed;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string OperationId(const RouteSpec& spec) {
  std::string id = Lower(MethodName(spec.method));
  std::string word;
  for (char c : spec.pattern) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alnum) {
      word += c;
    } else if (!word.empty()) {
      id += "_" + word;
      word.clear();
    }
  }
  if (!word.empty()) id += "_" + word;
  return id;
}

json ErrorResponseDoc(const char* description) {
  return {{"description", description},
          {"content", {{"application/json", {{"schema", {{"$ref", kErrorRef}}}}}}}};
}

json SuccessContentSchema(const RouteSpec& spec) {
  bool is_json = spec.content_type.find("json") != std::string::npos;
  json fallback = is_json ? json{{"type", "object"}} : json{{"type", "string"}};
  return ParseSchemaOr(spec.response_schema, fallback);
}

json Operation(const Route& route) {
  const RouteSpec& spec = route.spec;
  json op = json::object();
  op["operationId"] = OperationId(spec);
  if (!spec.summary.empty()) op["summary"] = spec.summary;
  if (!spec.tag.empty()) op["tags"] = json::array({spec.tag});
  if (spec.permission) {
    op["x-permission"] = std::string(auth::PermissionName(*spec.permission));
    if (*spec.permission == auth::Permission::kPublic) {
      op["security"] = json::array();
    } else {
      op["security"] = json::array({json{{"session", json::array()}}, json{{"bearer", json::array()}}});
    }
  }

  json params = json::array();
  for (const auto& seg : route.segments) {
    if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
      params.push_back({{"name", seg.substr(1, seg.size() - 2)},
                        {"in", "path"},
                        {"required", true},
                        {"schema", {{"type", "string"}}}});
    }
  }
  for (const auto& q : spec.query_params) {
    json p = {{"name", q.name}, {"in", "query"}, {"required", q.required}, {"schema", {{"type", q.type}}}};
    if (!q.description.empty()) p["description"] = q.description;
    params.push_back(std::move(p));
  }
  if (!params.empty()) op["parameters"] = std::move(params);

  if (!spec.request_schema.empty()) {
    op["requestBody"] = {
        {"required", true},
        {"content", {{"application/json", {{"schema", ParseSchemaOr(spec.request_schema, {{"type", "object"}})}}}}}};
  }

  json responses = json::object();
  json success = {{"description", "Success"}};
  if (spec.success_status != 204) {
    success["content"] = {{spec.content_type, {{"schema", SuccessContentSchema(spec)}}}};
  }
  responses[std::to_string(spec.success_status)] = std::move(success);
  responses["400"] = ErrorResponseDoc("Bad request");
  responses["401"] = ErrorResponseDoc("Not authenticated");
  responses["403"] = ErrorResponseDoc("Permission denied or CSRF check failed");
  responses["404"] = ErrorResponseDoc("Not found");
  responses["429"] = ErrorResponseDoc("Too many requests");
  op["responses"] = std::move(responses);
  return op;
}

}  // namespace

nlohmann::json Router::OpenApi(const std::string& version) const {
  json paths = json::object();
  std::set<std::string> tags;
  for (const auto& route : routes_) {
    if (route.spec.method == Method::kOther) continue;  // not expressible; Validate() rejects it
    json& item = paths[route.spec.pattern];
    item[Lower(MethodName(route.spec.method))] = Operation(route);
    if (!route.spec.tag.empty()) tags.insert(route.spec.tag);
  }

  json tag_list = json::array();
  for (const auto& t : tags) tag_list.push_back({{"name", t}});

  json error_schema = {
      {"type", "object"},
      {"required", json::array({"error"})},
      {"properties",
       {{"error",
         {{"type", "object"},
          {"required", json::array({"code", "message"})},
          {"properties",
           {{"code", {{"type", "string"}, {"description", "stable machine-readable code"}}},
            {"message", {{"type", "string"}, {"description", "human-readable message"}}}}}}}}}};

  json doc = {
      {"openapi", "3.1.0"},
      {"info",
       {{"title", "medsoc API"},
        {"version", version},
        {"description", "HTTP API of medsoc, the hospital security operations platform."}}},
      {"servers", json::array({json{{"url", "/"}}})},
      {"tags", std::move(tag_list)},
      {"paths", std::move(paths)},
      {"components",
       {{"schemas", {{"Error", std::move(error_schema)}}},
        {"securitySchemes",
         {{"session", {{"type", "apiKey"}, {"in", "cookie"}, {"name", "medsoc_session"}}},
          {"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}}};
  return doc;
}

}  // namespace medsoc::api
