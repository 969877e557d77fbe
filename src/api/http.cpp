// Request/response helpers and target parsing. See api/http.h.
#include "api/http.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace medsoc::api {

namespace {

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view MethodName(Method m) {
  switch (m) {
    case Method::kGet: return "GET";
    case Method::kHead: return "HEAD";
    case Method::kPost: return "POST";
    case Method::kPut: return "PUT";
    case Method::kPatch: return "PATCH";
    case Method::kDelete: return "DELETE";
    case Method::kOptions: return "OPTIONS";
    case Method::kOther: return "OTHER";
  }
  return "OTHER";
}

Method ParseMethod(std::string_view name) {
  // Methods are case-sensitive (RFC 9110 section 9.1).
  if (name == "GET") return Method::kGet;
  if (name == "HEAD") return Method::kHead;
  if (name == "POST") return Method::kPost;
  if (name == "PUT") return Method::kPut;
  if (name == "PATCH") return Method::kPatch;
  if (name == "DELETE") return Method::kDelete;
  if (name == "OPTIONS") return Method::kOptions;
  return Method::kOther;
}

bool IsStateChanging(Method m) {
  return !(m == Method::kGet || m == Method::kHead || m == Method::kOptions);
}

std::optional<std::string_view> Request::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (EqualsIgnoreCase(name, lower_name)) return std::string_view(value);
  }
  return std::nullopt;
}

std::optional<std::string_view> Request::Query(std::string_view name) const {
  auto it = query.find(std::string(name));
  if (it == query.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::optional<std::string> Request::Cookie(std::string_view name) const {
  // RFC 6265 section 5.4: "a=b; c=d". Several Cookie headers are tolerated (HTTP/2 gateways
  // split them); the first occurrence of the name wins.
  for (const auto& [hname, hvalue] : headers) {
    if (!EqualsIgnoreCase(hname, "cookie")) continue;
    std::string_view rest = hvalue;
    while (!rest.empty()) {
      std::size_t semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      std::size_t eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view key = TrimSpaces(pair.substr(0, eq));
      if (key != name) continue;
      std::string_view value = TrimSpaces(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return std::string(value);
    }
  }
  return std::nullopt;
}

void Response::SetHeader(std::string name, std::string value) {
  for (auto& [n, v] : headers) {
    if (EqualsIgnoreCase(n, name)) {
      v = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
}

bool Response::HasHeader(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return EqualsIgnoreCase(h.first, name); });
}

Response ErrorResponse(int status, std::string_view code, std::string_view message) {
  nlohmann::json body = {{"error", {{"code", std::string(code)}, {"message", std::string(message)}}}};
  Response r;
  r.status = status;
  r.content_type = "application/json";
  // Invalid UTF-8 (e.g. echoed from a hostile request) is replaced rather than thrown on.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

std::optional<std::string> PercentDecode(std::string_view in, bool plus_as_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (in.size() - i < 3) return std::nullopt;
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool SplitTarget(std::string_view target, std::string& path,
                 std::multimap<std::string, std::string>& query) {
  path.clear();
  query.clear();
  // Only origin-form ("/path?query") is accepted: absolute-form, authority-form and "*" are for
  // proxies and OPTIONS *, which medsoc does not serve.
  if (target.empty() || target.front() != '/') return false;
  for (char c : target) {
    auto u = static_cast<unsigned char>(c);
    // Raw controls, spaces, DEL and non-ASCII must be percent-encoded; '#' never reaches a server.
    if (u <= 0x20 || u >= 0x7f || c == '#') return false;
  }
  std::size_t q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  std::string_view raw_query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);

  auto decoded = PercentDecode(raw_path, false);
  if (!decoded) return false;
  if (decoded->find('\0') != std::string::npos) return false;
  // Reject dot segments after decoding ("/a/%2e%2e/b", "/a%2f..%2fb") and backslashes, so that no
  // later consumer (the static portal) can be talked out of its directory.
  if (decoded->find('\\') != std::string::npos) return false;
  std::string_view p = *decoded;
  std::size_t start = 1;
  while (start <= p.size()) {
    std::size_t slash = p.find('/', start);
    std::string_view seg = p.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (seg == ".." || seg == ".") return false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  path = std::move(*decoded);

  while (!raw_query.empty()) {
    std::size_t amp = raw_query.find('&');
    std::string_view part = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? std::string_view() : raw_query.substr(amp + 1);
    if (part.empty()) continue;
    std::size_t eq = part.find('=');
    auto key = PercentDecode(part.substr(0, eq), true);
    auto value = eq == std::string_view::npos ? std::optional<std::string>(std::string())
                                              : PercentDecode(part.substr(eq + 1), true);
    if (!key || !value) {
      path.clear();
      query.clear();
      return false;
    }
    if (key->find('\0') != std::string::npos || value->find('\0') != std::string::npos) {
      path.clear();
      query.clear();
      return false;
    }
    query.emplace(std::move(*key), std::move(*value));
  }
  return true;
}

}  // namespace medsoc::api
