// Route table: validation and matching. See api/router.h. OpenApi() lives in api/openapi.cpp.
//
// Matching: a path is split on '/' into segments; a route matches when it has the same number of
// segments and each literal segment is equal ("{name}" matches any non-empty segment). Among the
// routes that match the path and the method, the most specific wins: comparing segment by segment
// from the left, a literal beats a parameter ("/users/me" beats "/users/{id}"). When the path
// matches only routes with other methods, the result is a 405 with their methods. HEAD falls back
// to GET routes.
#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "api/router.h"

namespace medsoc::api {

namespace {

// "/a/b/{x}" -> {"a", "b", "{x}"}; "/" -> {}.
std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  if (path.empty() || path == "/") return out;
  std::size_t start = path.front() == '/' ? 1 : 0;
  while (true) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      out.emplace_back(path.substr(start));
      break;
    }
    out.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

bool IsParam(std::string_view seg) { return seg.size() >= 2 && seg.front() == '{' && seg.back() == '}'; }

bool IsValidParamName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

// The pattern with parameter names erased: "/a/{x}" and "/a/{y}" have the same shape.
std::string Shape(const Route& r) {
  std::string s;
  for (const auto& seg : r.segments) {
    s += '/';
    s += IsParam(seg) ? "{}" : seg;
  }
  return s.empty() ? "/" : s;
}

std::string RouteName(const RouteSpec& spec) {
  return std::string(MethodName(spec.method)) + " " + spec.pattern;
}

}  // namespace

void Router::Add(RouteSpec spec, Handler handler) {
  Route r;
  r.segments = SplitPath(spec.pattern);
  r.spec = std::move(spec);
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

Status Router::Validate() const {
  std::vector<std::string> problems;
  std::map<std::pair<Method, std::string>, const Route*> seen;  // (method, shape) -> first route
  for (const auto& r : routes_) {
    const std::string name = RouteName(r.spec);
    if (!r.spec.permission) problems.push_back(name + ": no permission");
    if (r.spec.method == Method::kOther) problems.push_back(name + ": unsupported method");
    if (r.spec.pattern.empty() || r.spec.pattern.front() != '/') {
      problems.push_back(name + ": pattern must start with '/'");
    }
    std::set<std::string> params;
    for (std::size_t i = 0; i < r.segments.size(); ++i) {
      const std::string& seg = r.segments[i];
      if (seg.empty()) {
        problems.push_back(name + ": empty path segment");
      } else if (IsParam(seg)) {
        std::string pname = seg.substr(1, seg.size() - 2);
        if (!IsValidParamName(pname)) {
          problems.push_back(name + ": bad parameter name '" + pname + "'");
        } else if (!params.insert(pname).second) {
          problems.push_back(name + ": parameter '" + pname + "' repeats");
        }
      } else if (seg.find_first_of("{}") != std::string::npos) {
        problems.push_back(name + ": segment '" + seg + "' must be a literal or a whole {name}");
      }
    }
    for (const std::string* schema : {&r.spec.request_schema, &r.spec.response_schema}) {
      if (!schema->empty() && !nlohmann::json::accept(*schema)) {
        problems.push_back(name + ": schema is not valid JSON");
      }
    }
    if (r.spec.success_status < 200 || r.spec.success_status > 299) {
      problems.push_back(name + ": success_status must be 2xx");
    }
    auto [it, inserted] = seen.emplace(std::make_pair(r.spec.method, Shape(r)), &r);
    if (!inserted) {
      if (it->second->spec.pattern == r.spec.pattern) {
        problems.push_back(name + ": duplicate route");
      } else {
        problems.push_back(name + ": ambiguous with " + it->second->spec.pattern);
      }
    }
  }
  if (problems.empty()) return Ok();
  std::string msg = "invalid route table (" + std::to_string(problems.size()) + " problem" +
                    (problems.size() == 1 ? "" : "s") + "): ";
  for (std::size_t i = 0; i < problems.size(); ++i) {
    if (i) msg += "; ";
    msg += problems[i];
  }
  return Error(ErrorCode::kInvalidArgument, msg);
}

RouteMatch Router::Match(Method method, const std::string& path) const {
  RouteMatch result;
  const std::vector<std::string> segs = SplitPath(path);

  // Per segment: true when the route has a literal there. Lexicographic comparison of these
  // vectors implements "literal beats parameter, leftmost difference decides".
  auto specificity = [](const Route& r) {
    std::vector<bool> v;
    v.reserve(r.segments.size());
    for (const auto& s : r.segments) v.push_back(!IsParam(s));
    return v;
  };
  auto path_matches = [&](const Route& r) {
    if (r.segments.size() != segs.size()) return false;
    for (std::size_t i = 0; i < segs.size(); ++i) {
      if (IsParam(r.segments[i])) {
        if (segs[i].empty()) return false;
      } else if (r.segments[i] != segs[i]) {
        return false;
      }
    }
    return true;
  };

  auto best_for = [&](Method m) -> const Route* {
    const Route* best = nullptr;
    std::vector<bool> best_spec;
    for (const auto& r : routes_) {
      if (r.spec.method != m || !path_matches(r)) continue;
      auto spec = specificity(r);
      if (!best || spec > best_spec) {
        best = &r;
        best_spec = std::move(spec);
      }
    }
    return best;
  };

  const Route* best = best_for(method);
  if (!best && method == Method::kHead) best = best_for(Method::kGet);
  if (best) {
    result.route = best;
    for (std::size_t i = 0; i < segs.size(); ++i) {
      const std::string& s = best->segments[i];
      if (IsParam(s)) result.params[s.substr(1, s.size() - 2)] = segs[i];
    }
    return result;
  }

  std::set<Method> allowed;
  for (const auto& r : routes_) {
    if (path_matches(r)) {
      allowed.insert(r.spec.method);
      if (r.spec.method == Method::kGet) allowed.insert(Method::kHead);
    }
  }
  if (!allowed.empty()) {
    result.method_not_allowed = true;
    result.allowed.assign(allowed.begin(), allowed.end());
  }
  return result;
}

}  // namespace medsoc::api
