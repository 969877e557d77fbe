// Fuzzes the JSON flattener and the Windows, generic, Suricata, access JSON and MySQL audit
// parsers: never crash, never throw, bounded depth.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "event/event.h"
#include "ingest/parse/json/parsers.h"

using namespace medsoc;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static auto windows = ingest::json::MakeWindowsJsonParser(ingest::json::WindowsShape::kAny);
  static auto generic = ingest::json::MakeGenericJsonParser();
  static auto eve = ingest::json::MakeSuricataEveParser();
  static auto access = ingest::json::MakeAccessJsonParser();
  static auto audit = ingest::json::MakeMysqlAuditJsonParser();
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  ingest::ParseContext ctx;
  ctx.max_json_depth = 32;
  event::Event e;
  for (ingest::Parser* p : {windows.get(), generic.get(), eve.get(), access.get(), audit.get()}) {
    e.Reset();
    e.set_raw(in);
    (void)p->Detect(in);
    (void)p->Parse(e.raw(), ctx, e);
  }
  // A text outside the event's raw(): string values are copied instead of viewed in place.
  e.Reset();
  (void)windows->Parse(in, ctx, e);
  return 0;
}
