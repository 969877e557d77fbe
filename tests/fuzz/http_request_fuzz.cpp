// Fuzz target for the HTTP request path: raw bytes → ParseRawRequest (Beast's parser with the
// server's limits) → SplitTarget / header / cookie / query helpers → Router::Match → error
// response → AddSecurityHeaders. Checks invariants the rest of the server relies on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/http.h"
#include "api/router.h"
#include "api/server.h"

namespace {

using medsoc::api::Method;

void Check(bool ok) {
  if (!ok) std::abort();
}

const medsoc::api::Router& TestRouter() {
  static const medsoc::api::Router router = [] {
    medsoc::api::Router r;
    auto add = [&r](Method m, const char* pattern, medsoc::auth::Permission p) {
      medsoc::api::RouteSpec spec;
      spec.method = m;
      spec.pattern = pattern;
      spec.permission = p;
      r.Add(spec, [](medsoc::api::RequestContext&) { return medsoc::api::Response{}; });
    };
    using medsoc::auth::Permission;
    add(Method::kGet, "/healthz", Permission::kPublic);
    add(Method::kPost, "/api/v1/auth/login", Permission::kPublic);
    add(Method::kGet, "/api/v1/users", Permission::kUsersRead);
    add(Method::kGet, "/api/v1/users/me", Permission::kAuthenticated);
    add(Method::kGet, "/api/v1/users/{id}", Permission::kUsersRead);
    add(Method::kDelete, "/api/v1/users/{id}", Permission::kUsersWrite);
    add(Method::kGet, "/api/v1/incidents/{id}/alerts/{alert_id}", Permission::kIncidentsRead);
    if (!r.Validate().ok()) std::abort();
    return r;
  }();
  return router;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  medsoc::ServerOptions options;
  options.max_body_bytes = 64 << 10;
  options.max_header_bytes = 8 << 10;
  std::string_view raw(reinterpret_cast<const char*>(data), size);

  auto parsed = medsoc::api::ParseRawRequest(raw, options);
  if (!parsed.ok()) return 0;
  medsoc::api::Request& req = *parsed;

  // The server's contract: an accepted request has a clean, origin-form path.
  Check(!req.path.empty() && req.path.front() == '/');
  Check(req.path.find('\0') == std::string::npos);
  Check(req.path.find("/../") == std::string::npos);
  Check(req.body.size() <= options.max_body_bytes);
  for (const auto& [name, value] : req.headers) {
    for (char c : name) Check(!(c >= 'A' && c <= 'Z'));
  }

  // Re-splitting the same target is deterministic.
  std::string path;
  std::multimap<std::string, std::string> query;
  Check(medsoc::api::SplitTarget(req.target, path, query));
  Check(path == req.path && query == req.query);

  (void)req.Header("content-type");
  (void)req.Header("cookie");
  (void)req.Query("limit");
  (void)req.Cookie("medsoc_session");
  (void)medsoc::api::PercentDecode(req.body, true);
  (void)medsoc::api::IsStateChanging(req.method);

  auto match = TestRouter().Match(req.method, req.path);
  medsoc::api::Response res;
  if (match.route) {
    Check(!match.method_not_allowed);
    res.body = "{}";
    res.SetHeader(std::string(medsoc::api::kRouteHeader), match.route->spec.pattern);
  } else if (match.method_not_allowed) {
    Check(!match.allowed.empty());
    res = medsoc::api::ErrorResponse(405, "method_not_allowed", "method " + req.method_text + " not allowed");
  } else {
    // Echoes attacker-controlled text: the body must stay valid JSON.
    res = medsoc::api::ErrorResponse(404, "not_found", "no route for " + req.path);
  }
  if (!match.route) {
    auto j = nlohmann::json::parse(res.body, nullptr, false);
    Check(!j.is_discarded() && j["error"]["code"].is_string());
  }
  medsoc::api::AddSecurityHeaders(res, req, size % 2 == 1);
  Check(res.HasHeader("Content-Security-Policy") && res.HasHeader("X-Frame-Options"));
  return 0;
}
