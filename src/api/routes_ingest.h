// POST /api/v1/ingest: HTTP ingest of NDJSON or a JSON array, optionally gzip or zstd compressed,
// answered only after the events are durable (ingest/sources/http_ingest.h has the logic).
// Permission ingest.write (meant for API tokens of collectors). The tenant is the principal's.
#pragma once

#include "api/dispatcher.h"
#include "api/router.h"
#include "ingest/sources/http_ingest.h"

namespace medsoc::api {

// REQUIRES: `ingest` outlives the router.
void RegisterIngestRoutes(Router& router, ApiServices& services, ingest::HttpIngest& ingest);

}  // namespace medsoc::api
