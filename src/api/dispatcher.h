// Dispatcher: the request path between the HTTP server and the route handlers. For every request
// it matches the route, authenticates (session cookie or bearer API token), enforces the route's
// permission, the forced password change, and CSRF on state-changing session requests, calls the
// handler, and records the audit trail (every state-changing request, every denied request).
//
//   request ─► match ─► authenticate ─► permission ─► password-change gate ─► CSRF ─► handler
//                 │404/405        │401            │403                 │403            │
//                 └───────────────┴───────────────┴─── audit (denied / state-changing) ┘
//
// Thread-safety: Handle() is called concurrently from I/O threads; the dispatcher holds no
// mutable state of its own.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/http.h"
#include "api/metrics.h"
#include "api/router.h"
#include "auth/audit.h"
#include "auth/service.h"
#include "core/crypto.h"
#include "core/options.h"
#include "store/state_store.h"

namespace medsoc::api {

class StaticFiles;  // api/static_files.h

// What route handlers may use. Each module's Register...Routes receives this bundle.
struct ApiServices {
  store::StateStore& store;
  auth::AuthService& auth;
  auth::AuditTrail& audit;
  Metrics& metrics;
  const Options& options;
  const core::SecretBox& secrets;  // seals secrets stored at rest (master key)
};

class RequestContext {
 public:
  RequestContext(Request& request, std::optional<auth::Principal> principal)
      : request_(request), principal_(std::move(principal)) {}

  Request& request() { return request_; }
  const Request& request() const { return request_; }
  bool authenticated() const { return principal_.has_value(); }
  // REQUIRES: authenticated() (true in every handler of a non-public route).
  auth::Principal& principal() {
    MEDSOC_ASSERT(principal_.has_value());
    return *principal_;
  }
  // The tenant the request acts in. REQUIRES: authenticated().
  store::TenantScope scope() const {
    MEDSOC_ASSERT(principal_.has_value());
    return principal_->scope();
  }

  // Parses the body as a JSON object. Errors say where the JSON broke (byte offset).
  Result<nlohmann::json> JsonBody() const;

  // Audit details a handler may add (the dispatcher writes the row).
  std::string audit_action;   // default "METHOD pattern"
  std::string audit_target;   // e.g. "user:01H..."
  std::string audit_detail;
  bool audit_recorded_by_handler = false;  // login records its own attempts

 private:
  Request& request_;
  std::optional<auth::Principal> principal_;
};

class Dispatcher {
 public:
  Dispatcher(const Router& router, ApiServices services);

  Response Handle(Request& request);

  // Serves the web portal for GET/HEAD requests that match no route; nullptr (default): none.
  // REQUIRES: `portal` outlives the dispatcher.
  void SetPortal(const StaticFiles* portal) { portal_ = portal; }

 private:
  std::optional<auth::Principal> Authenticate(const Request& request, std::string& why);

  const Router& router_;
  ApiServices services_;
  const StaticFiles* portal_ = nullptr;
};

// JSON helpers for handlers.
Response JsonResponse(int status, const nlohmann::json& body);
// Maps an Error to its HTTP status and the standard error body.
Response ErrorFrom(const Error& error);
int HttpStatusFor(ErrorCode code);

// Reads an optional field of a JSON object with a type check; errors name the field.
Result<std::optional<std::string>> OptionalString(const nlohmann::json& body, const char* field);
Result<std::string> RequiredString(const nlohmann::json& body, const char* field);
Result<std::optional<bool>> OptionalBool(const nlohmann::json& body, const char* field);
Result<std::optional<std::int64_t>> OptionalInt(const nlohmann::json& body, const char* field);

}  // namespace medsoc::api
