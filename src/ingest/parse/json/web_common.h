// The fields of one web server access record, shared by the NCSA (common/combined), JSON and W3C
// access log parsers, and their mapping to ECS and to the W3C names Sigma's webserver rules use.
#pragma once

#include <string_view>

#include "event/event.h"

namespace medsoc::ingest::json {

// Every view lives in the event's raw() or arena. Empty or "-" means absent.
struct WebRecord {
  std::string_view client, user, time, request, method, uri, query, protocol, status, bytes, referer, agent, host;
  std::string_view duration_s;   // seconds, fractional (nginx $request_time, %T)
  std::string_view duration_ms;  // milliseconds (IIS time-taken)
  std::string_view duration_us;  // microseconds (Apache %D)
};

// Sets ECS fields (source.ip/address, user.name, http.request.method, url.original/path/query,
// http.version, http.response.status_code, http.response.body.bytes, http.request.referrer,
// user_agent.original, url.domain, event.duration in ns, event.category web, event.outcome,
// event.dataset web.access unless set) and
// the Sigma webserver originals (c-ip, cs-username, cs-method, c-uri, cs-uri-stem, cs-uri-query,
// cs-version, sc-status, sc-bytes, cs-referer, c-useragent, cs-host) when not already present.
void ApplyWebRecord(const WebRecord& w, event::Event& e);

// url.original, url.path, url.query from a request target ("/a/b?x=1" or an absolute URL).
void SetUrl(event::Event& e, std::string_view url);
// http.version from "HTTP/1.1" (-> "1.1").
void SetHttpVersion(event::Event& e, std::string_view protocol);

}  // namespace medsoc::ingest::json
