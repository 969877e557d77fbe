#include "ingest/parse/json/web_common.h"

#include <charconv>
#include <cmath>

#include "ingest/parse/json/common.h"

namespace medsoc::ingest::json {

namespace {

bool Present(std::string_view s) { return !s.empty() && s != "-"; }

void Orig(event::Event& e, std::string_view name, std::string_view v) {
  if (!Present(v)) return;
  static thread_local NameCache cache;
  const event::FieldId id = cache.Get(name);
  if (id.valid() && !e.Has(id, event::FieldSpace::kOriginal)) e.Set(id, event::Value::String(v), event::FieldSpace::kOriginal);
}

std::optional<double> ToDouble(std::string_view s) {
  double d = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), d);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(d) || d < 0) return std::nullopt;
  return d;
}

}  // namespace

void SetUrl(event::Event& e, std::string_view url) {
  const Fields& f = F();
  if (!Present(url)) return;
  e.Set(f.url_original, event::Value::String(url));
  std::string_view path = url;
  if (auto scheme = path.find("://"); scheme != std::string_view::npos && scheme < 10) {
    const auto slash = path.find('/', scheme + 3);
    if (!e.Has(f.url_domain)) {
      std::string_view hostport = path.substr(scheme + 3, slash == std::string_view::npos ? std::string_view::npos : slash - scheme - 3);
      e.Set(f.url_domain, event::Value::String(hostport.substr(0, hostport.find(':'))));
    }
    path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
  }
  const auto q = path.find('?');
  if (q != std::string_view::npos) {
    e.Set(f.url_path, event::Value::String(path.substr(0, q)));
    if (q + 1 < path.size()) e.Set(f.url_query, event::Value::String(path.substr(q + 1)));
  } else {
    e.Set(f.url_path, event::Value::String(path));
  }
}

void SetHttpVersion(event::Event& e, std::string_view protocol) {
  if (!Present(protocol)) return;
  if (protocol.substr(0, 5) == "HTTP/") protocol.remove_prefix(5);
  e.Set(F().http_version, event::Value::String(protocol));
}

void ApplyWebRecord(const WebRecord& w0, event::Event& e) {
  const Fields& f = F();
  WebRecord w = w0;
  // Split the request line "METHOD target PROTOCOL".
  if (Present(w.request)) {
    const auto sp1 = w.request.find(' ');
    const auto sp2 = w.request.rfind(' ');
    if (sp1 != std::string_view::npos && sp1 > 0) {
      if (w.method.empty()) w.method = w.request.substr(0, sp1);
      if (sp2 != sp1 && w.request.substr(sp2 + 1, 5) == "HTTP/") {
        if (w.uri.empty()) w.uri = w.request.substr(sp1 + 1, sp2 - sp1 - 1);
        if (w.protocol.empty()) w.protocol = w.request.substr(sp2 + 1);
      } else if (w.uri.empty()) {
        w.uri = w.request.substr(sp1 + 1);
      }
    }
  }
  if (Present(w.client)) {
    if (!SetIp(e, f.source_ip, event::Value::String(w.client))) e.Set(f.source_address, event::Value::String(w.client));
    else e.Append(f.related_ip, e.Get(f.source_ip));
  }
  if (Present(w.user)) {
    e.Set(f.user_name, event::Value::String(w.user));
    e.Append(f.related_user, event::Value::String(w.user));
  }
  if (Present(w.method)) e.Set(f.http_request_method, event::Value::String(w.method));
  std::string_view stem = w.uri, query = w.query;
  if (Present(w.uri)) {
    if (Present(w.query) && w.uri.find('?') == std::string_view::npos) {
      // IIS/JSON logs split stem and query: rebuild the original target in the arena.
      std::string full(w.uri);
      full += '?';
      full += w.query;
      SetUrl(e, e.CopyString(full));
    } else {
      SetUrl(e, w.uri);
      if (const auto q = w.uri.find('?'); q != std::string_view::npos) {
        stem = w.uri.substr(0, q);
        query = w.uri.substr(q + 1);
      }
    }
  }
  SetHttpVersion(e, w.protocol);
  if (Present(w.status)) {
    if (auto n = ToInt(w.status)) {
      e.Set(f.http_response_status_code, event::Value::Int(*n));
      e.Set(f.event_outcome, event::Value::String(*n < 400 ? "success" : "failure"));
    }
  }
  if (Present(w.bytes))
    if (auto n = ToInt(w.bytes)) e.Set(f.http_response_body_bytes, event::Value::Int(*n));
  if (Present(w.referer)) e.Set(f.http_request_referrer, event::Value::String(w.referer));
  if (Present(w.agent)) e.Set(f.user_agent_original, event::Value::String(w.agent));
  if (Present(w.host) && !e.Has(f.url_domain)) e.Set(f.url_domain, event::Value::String(w.host));
  if (Present(w.duration_s)) {
    if (auto d = ToDouble(w.duration_s)) e.Set(f.event_duration, event::Value::Int(std::llround(*d * 1e9)));
  } else if (Present(w.duration_ms)) {
    if (auto d = ToDouble(w.duration_ms)) e.Set(f.event_duration, event::Value::Int(std::llround(*d * 1e6)));
  } else if (Present(w.duration_us)) {
    if (auto d = ToDouble(w.duration_us)) e.Set(f.event_duration, event::Value::Int(std::llround(*d * 1e3)));
  }
  e.Set(f.event_category, event::Value::String("web"));
  e.Set(f.event_type, event::Value::String("access"));
  e.Set(f.event_kind, event::Value::String("event"));
  // nginx and Apache write the same combined/common lines: "web.access" unless the parser (IIS)
  // or the record named it; a source's `dataset:` (nginx.access) refines it.
  if (!e.Has(f.event_dataset)) e.Set(f.event_dataset, event::Value::String("web.access"));

  Orig(e, "c-ip", w.client);
  Orig(e, "cs-username", w.user);
  Orig(e, "cs-method", w.method);
  Orig(e, "c-uri", e.Get(f.url_original).is_string() ? e.Get(f.url_original).str() : std::string_view());
  Orig(e, "cs-uri-stem", stem);
  Orig(e, "cs-uri-query", query);
  Orig(e, "cs-version", w.protocol);
  Orig(e, "sc-status", w.status);
  Orig(e, "sc-bytes", w.bytes);
  Orig(e, "cs-referer", w.referer);
  Orig(e, "c-useragent", w.agent);
  Orig(e, "cs-host", w.host);
}

}  // namespace medsoc::ingest::json
