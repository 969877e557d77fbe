// The HTTP request and response as medsoc's handlers see them: plain structs, independent of the
// HTTP library. Only api/server.cpp includes Boost.Beast; everything else (router, dispatcher,
// route handlers, tests, the fuzz target) works on these types, which keeps Beast's compile cost
// in one translation unit.
//
// Thread-safety: value types.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace medsoc::api {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

std::string_view MethodName(Method m);
Method ParseMethod(std::string_view name);
// POST, PUT, PATCH, DELETE (and unknown methods) change state; GET, HEAD and OPTIONS do not.
bool IsStateChanging(Method m);

struct Request {
  Method method = Method::kGet;
  std::string method_text;  // as sent, for logs
  std::string target;       // raw request target, e.g. "/api/v1/users?limit=10"
  std::string path;         // percent-decoded path without the query
  std::multimap<std::string, std::string> query;   // decoded query parameters
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;
  std::string remote_ip;
  bool tls = false;
  std::map<std::string, std::string> path_params;  // filled by the router, e.g. {"id": "..."}

  // First header with this (lowercase) name, if any.
  std::optional<std::string_view> Header(std::string_view lower_name) const;
  // First query parameter with this name, if any.
  std::optional<std::string_view> Query(std::string_view name) const;
  // Value of a cookie from the Cookie header, if any.
  std::optional<std::string> Cookie(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // A streamed body (chunked transfer encoding; `body` is ignored): the server calls `stream`
  // again and again on the connection's I/O thread, once the previous part has been written to
  // the client, so memory stays bounded by one part. Each call appends the next part to `out`
  // (it is empty on entry) and returns true while more follows, false after the last part. Each
  // call must be bounded in time. An error, or the server stopping, after the header was sent
  // aborts the connection: the client sees a chunked body without its last chunk.
  std::function<Result<bool>(std::string& out)> stream;

  void SetHeader(std::string name, std::string value);
  bool HasHeader(std::string_view name) const;
};

// Response header through which a handler (the dispatcher) reports the matched route pattern, e.g.
// "/api/v1/users/{id}", for the route label of the HTTP metrics. HttpServer removes it before the
// response is sent; a response without it is counted under route "unmatched", so raw paths never
// become label values.
inline constexpr std::string_view kRouteHeader = "x-medsoc-route";

// Builds the standard error body {"error":{"code":..., "message":...}}.
Response ErrorResponse(int status, std::string_view code, std::string_view message);

// Percent-decodes a URL component; '+' becomes a space when `plus_as_space`. Returns nullopt on a
// malformed escape.
std::optional<std::string> PercentDecode(std::string_view in, bool plus_as_space);

// Splits a raw target into decoded path and query. Returns false on a malformed target.
bool SplitTarget(std::string_view target, std::string& path, std::multimap<std::string, std::string>& query);

}  // namespace medsoc::api
