// The route table. Each route has a method, a path pattern with {name} parameters, exactly one
// Permission, and documentation; the OpenAPI 3.1 document is generated from this table, so the
// published API cannot drift from the served one.
//
// Thread-safety: build the table on one thread, call Validate(), then Match() and OpenApi() are
// safe from any thread (the table is immutable afterwards).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "api/http.h"
#include "auth/permissions.h"
#include "core/result.h"

namespace medsoc::api {

class RequestContext;  // api/dispatcher.h
using Handler = std::function<Response(RequestContext&)>;

struct QueryParamDoc {
  std::string name;
  std::string type = "string";  // OpenAPI scalar type: string, integer, boolean
  std::string description;
  bool required = false;
};

struct RouteSpec {
  Method method = Method::kGet;
  std::string pattern;                        // "/api/v1/users/{id}"
  std::optional<auth::Permission> permission; // REQUIRED: Validate() fails without one
  std::string summary;                        // one line, English
  std::string tag;                            // OpenAPI tag, e.g. "users"
  std::vector<QueryParamDoc> query_params;
  std::string request_schema;                 // JSON Schema (as JSON text) of the body; empty: no body
  std::string response_schema;                // JSON Schema of the 2xx body; empty: generic object
  int success_status = 200;
  bool csrf_exempt = false;                   // only login: it has no session yet
  std::string content_type = "application/json";  // of the 2xx response
};

struct Route {
  RouteSpec spec;
  Handler handler;
  std::vector<std::string> segments;  // pattern split on '/', "{x}" kept as is
};

struct RouteMatch {
  const Route* route = nullptr;  // null: no route
  bool method_not_allowed = false;  // the path exists with other methods
  std::vector<Method> allowed;      // for the Allow header on 405
  std::map<std::string, std::string> params;
};

class Router {
 public:
  void Add(RouteSpec spec, Handler handler);

  // Every route has a permission, patterns are well formed, and no (method, pattern) pair or
  // ambiguous pair ("/a/{x}" vs "/a/{y}") repeats. Start-up fails on an error.
  Status Validate() const;

  RouteMatch Match(Method method, const std::string& path) const;

  const std::vector<Route>& routes() const { return routes_; }

  // The OpenAPI 3.1 document for all routes. `version` is medsoc's version.
  nlohmann::json OpenApi(const std::string& version) const;

 private:
  std::vector<Route> routes_;
};

}  // namespace medsoc::api
