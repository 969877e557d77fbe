// Event search routes (permission events.read), all limited to the caller's tenant by the store:
//   GET /api/v1/events              search page: {items:[event...], next_cursor}
//   GET /api/v1/events/histogram    [{time,count}] for the portal's timeline
//   GET /api/v1/events/export       NDJSON or CSV of every match, up to kMaxExportRows
//   GET /api/v1/events/fields       field names with counts over the newest matching events
//   GET /api/v1/events/{id}         one event
// A bad query answers 400 with {"error":{"code":"invalid_argument","message":...,"column":N}}.
#pragma once

#include "api/dispatcher.h"
#include "api/router.h"
#include "store/events/event_store.h"

namespace medsoc::api {

inline constexpr std::int64_t kMaxExportRows = 100000;

void RegisterEventRoutes(Router& router, ApiServices& services, store::events::EventStore& events);

// "30s", "5m", "1h", "1d" -> nanoseconds; "auto" or empty picks about 60 buckets over the window.
Result<std::int64_t> ParseInterval(std::string_view text, std::int64_t window_ns);

}  // namespace medsoc::api
