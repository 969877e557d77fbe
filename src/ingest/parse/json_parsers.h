// The JSON-family parsers (simdjson): generic JSON, the three Windows event shapes (evtx_dump,
// NXLog flat, Winlogbeat/ECS), Suricata EVE, web server JSON and W3C/combined logs, MySQL and
// PostgreSQL logs. RegisterParsers (parse/registry.cpp) calls this.
#pragma once

#include "core/registry.h"
#include "core/result.h"

namespace medsoc::ingest {

Status RegisterJsonParsers(core::Registry& registry);

}  // namespace medsoc::ingest
