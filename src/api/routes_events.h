// Event search routes (permission events.read), all limited to the caller's tenant by the store:
//   GET /api/v1/events              search page: {items:[event...], next_cursor}
//   GET /api/v1/events/histogram    [{time,count}] for the portal's timeline
//   GET /api/v1/events/export       NDJSON or CSV of every match (or the newest `limit`), streamed
//                                   page by page with chunked transfer: memory bounded by one page
//   GET /api/v1/events/fields       field names with counts over the newest matching events
//   GET /api/v1/events/{id}         one event
// A bad query answers 400 with {"error":{"code":"invalid_argument","message":...,"column":N}}.
#pragma once

#include "api/dispatcher.h"
#include "api/router.h"
#include "store/events/event_store.h"

namespace medsoc::api {

void RegisterEventRoutes(Router& router, ApiServices& services, store::events::EventStore& events);

// "30s", "5m", "1h", "1d" -> nanoseconds; "auto" or empty picks about 60 buckets over the window.
Result<std::int64_t> ParseInterval(std::string_view text, std::int64_t window_ns);

}  // namespace medsoc::api
