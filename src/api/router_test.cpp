#include "api/router.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace medsoc::api {
namespace {

using auth::Permission;

Handler Noop() {
  return [](RequestContext&) { return Response{}; };
}

RouteSpec Spec(Method m, std::string pattern, std::optional<Permission> p = Permission::kUsersRead) {
  RouteSpec s;
  s.method = m;
  s.pattern = std::move(pattern);
  s.permission = p;
  s.summary = "test route";
  s.tag = "users";
  return s;
}

Router SampleRouter() {
  Router r;
  r.Add(Spec(Method::kGet, "/api/v1/users"), Noop());
  r.Add(Spec(Method::kPost, "/api/v1/users", Permission::kUsersWrite), Noop());
  r.Add(Spec(Method::kGet, "/api/v1/users/{id}"), Noop());
  r.Add(Spec(Method::kGet, "/api/v1/users/me", Permission::kAuthenticated), Noop());
  r.Add(Spec(Method::kDelete, "/api/v1/users/{id}", Permission::kUsersWrite), Noop());
  r.Add(Spec(Method::kGet, "/api/v1/users/{id}/sessions/{sid}"), Noop());
  r.Add(Spec(Method::kGet, "/healthz", Permission::kPublic), Noop());
  return r;
}

TEST(RouterTest, ValidSampleTable) { EXPECT_TRUE(SampleRouter().Validate().ok()); }

TEST(RouterTest, MatchLiteralBeatsParam) {
  Router r = SampleRouter();
  auto m = r.Match(Method::kGet, "/api/v1/users/me");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.route->spec.pattern, "/api/v1/users/me");
  EXPECT_TRUE(m.params.empty());

  m = r.Match(Method::kGet, "/api/v1/users/42");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.route->spec.pattern, "/api/v1/users/{id}");
  EXPECT_EQ(m.params.at("id"), "42");

  m = r.Match(Method::kGet, "/api/v1/users/7/sessions/s9");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.params.at("id"), "7");
  EXPECT_EQ(m.params.at("sid"), "s9");

  // "me" only has GET; DELETE falls to the parameter route.
  m = r.Match(Method::kDelete, "/api/v1/users/me");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.route->spec.pattern, "/api/v1/users/{id}");
}

TEST(RouterTest, NotFoundAndMethodNotAllowed) {
  Router r = SampleRouter();
  auto m = r.Match(Method::kGet, "/api/v1/nothing");
  EXPECT_FALSE(m.route);
  EXPECT_FALSE(m.method_not_allowed);
  EXPECT_FALSE(r.Match(Method::kGet, "/api/v1/users/").route);  // empty parameter
  EXPECT_FALSE(r.Match(Method::kGet, "/api/v1/users/1/2").route);

  m = r.Match(Method::kPut, "/api/v1/users");
  EXPECT_FALSE(m.route);
  EXPECT_TRUE(m.method_not_allowed);
  EXPECT_EQ(m.allowed, (std::vector<Method>{Method::kGet, Method::kHead, Method::kPost}));

  m = r.Match(Method::kPost, "/api/v1/users/1");
  EXPECT_TRUE(m.method_not_allowed);
  EXPECT_EQ(m.allowed, (std::vector<Method>{Method::kGet, Method::kHead, Method::kDelete}));
}

TEST(RouterTest, HeadFallsBackToGet) {
  Router r = SampleRouter();
  auto m = r.Match(Method::kHead, "/healthz");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.route->spec.method, Method::kGet);
}

TEST(RouterTest, ValidateRejectsRouteWithoutPermission) {
  Router r = SampleRouter();
  r.Add(Spec(Method::kPost, "/api/v1/secret", std::nullopt), Noop());
  Status s = r.Validate();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("POST /api/v1/secret: no permission"), std::string::npos) << s.error().message();
}

TEST(RouterTest, ValidateRejectsBadPatternsAndDuplicates) {
  Router r;
  r.Add(Spec(Method::kGet, "api/no-slash"), Noop());
  r.Add(Spec(Method::kGet, "/a/{}"), Noop());
  r.Add(Spec(Method::kGet, "/b/x{id}"), Noop());
  r.Add(Spec(Method::kGet, "/c/{id}/{id}"), Noop());
  r.Add(Spec(Method::kGet, "/d//e"), Noop());
  r.Add(Spec(Method::kGet, "/dup"), Noop());
  r.Add(Spec(Method::kGet, "/dup"), Noop());
  r.Add(Spec(Method::kGet, "/amb/{x}"), Noop());
  r.Add(Spec(Method::kGet, "/amb/{y}"), Noop());
  r.Add(Spec(Method::kPost, "/amb/{y}"), Noop());  // other method: fine
  RouteSpec bad_schema = Spec(Method::kPost, "/schema");
  bad_schema.request_schema = "{not json";
  r.Add(bad_schema, Noop());
  Status s = r.Validate();
  ASSERT_FALSE(s.ok());
  const std::string& msg = s.error().message();
  for (const char* want : {"api/no-slash: pattern must start", "bad parameter name", "must be a literal or a whole",
                           "parameter 'id' repeats", "empty path segment", "GET /dup: duplicate route",
                           "GET /amb/{y}: ambiguous with /amb/{x}", "schema is not valid JSON"}) {
    EXPECT_NE(msg.find(want), std::string::npos) << want << " in " << msg;
  }
  EXPECT_EQ(msg.find("POST /amb/{y}"), std::string::npos) << msg;
}

TEST(OpenApiTest, DocumentCoversEveryRoute) {
  Router r = SampleRouter();
  RouteSpec create = Spec(Method::kPost, "/api/v1/items/{item_id}/notes", Permission::kFindingsWrite);
  create.request_schema = R"({"type":"object","properties":{"text":{"type":"string"}},"required":["text"]})";
  create.response_schema = R"({"type":"object","properties":{"id":{"type":"string"}}})";
  create.success_status = 201;
  create.tag = "findings";
  create.query_params = {{"dry_run", "boolean", "validate only", false}};
  r.Add(create, Noop());
  ASSERT_TRUE(r.Validate().ok());

  nlohmann::json doc = r.OpenApi("1.2.3");
  // Valid JSON after a round trip through text.
  doc = nlohmann::json::parse(doc.dump());
  EXPECT_EQ(doc["openapi"], "3.1.0");
  EXPECT_EQ(doc["info"]["title"], "medsoc API");
  EXPECT_EQ(doc["info"]["version"], "1.2.3");
  EXPECT_EQ(doc["servers"][0]["url"], "/");
  EXPECT_EQ(doc["components"]["securitySchemes"]["session"]["in"], "cookie");
  EXPECT_EQ(doc["components"]["securitySchemes"]["session"]["name"], "medsoc_session");
  EXPECT_EQ(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
  EXPECT_TRUE(doc["components"]["schemas"].contains("Error"));

  for (const auto& route : r.routes()) {
    std::string method(MethodName(route.spec.method));
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ASSERT_TRUE(doc["paths"].contains(route.spec.pattern)) << route.spec.pattern;
    const auto& op = doc["paths"][route.spec.pattern][method];
    ASSERT_TRUE(op.is_object()) << method << " " << route.spec.pattern;
    EXPECT_EQ(op["x-permission"], std::string(auth::PermissionName(*route.spec.permission)));
    EXPECT_TRUE(op["responses"].contains(std::to_string(route.spec.success_status)));
    for (const char* code : {"400", "401", "403", "404", "429"}) {
      EXPECT_EQ(op["responses"][code]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Error");
    }
  }

  const auto& healthz = doc["paths"]["/healthz"]["get"];
  EXPECT_TRUE(healthz["security"].is_array());
  EXPECT_TRUE(healthz["security"].empty());
  const auto& user = doc["paths"]["/api/v1/users/{id}"]["get"];
  EXPECT_EQ(user["security"].size(), 2u);
  EXPECT_EQ(user["parameters"][0]["name"], "id");
  EXPECT_EQ(user["parameters"][0]["in"], "path");
  EXPECT_EQ(user["parameters"][0]["required"], true);

  const auto& note = doc["paths"]["/api/v1/items/{item_id}/notes"]["post"];
  EXPECT_EQ(note["tags"][0], "findings");
  EXPECT_EQ(note["requestBody"]["content"]["application/json"]["schema"]["required"][0], "text");
  EXPECT_EQ(note["responses"]["201"]["content"]["application/json"]["schema"]["properties"]["id"]["type"], "string");
  EXPECT_EQ(note["parameters"][1]["name"], "dry_run");
  EXPECT_EQ(note["parameters"][1]["in"], "query");
  EXPECT_EQ(note["parameters"][1]["schema"]["type"], "boolean");

  // operationIds are unique.
  std::set<std::string> ids;
  for (auto& [path, item] : doc["paths"].items()) {
    for (auto& [m, op] : item.items()) EXPECT_TRUE(ids.insert(op["operationId"].get<std::string>()).second);
  }
}

}  // namespace
}  // namespace medsoc::api
