// Fuzzes the MySQL general log, MySQL audit JSON and PostgreSQL csvlog parsers (the whole input
// as one message, as a csvlog record may span lines).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "event/event.h"
#include "ingest/parse/json/parsers.h"

using namespace medsoc;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static auto general = ingest::json::MakeMysqlGeneralParser();
  static auto audit = ingest::json::MakeMysqlAuditJsonParser();
  static auto pg = ingest::json::MakePostgresCsvParser();
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  ingest::ParseContext ctx;
  event::Event e;
  for (ingest::Parser* p : {general.get(), audit.get(), pg.get()}) {
    e.Reset();
    e.set_raw(in);
    (void)p->Detect(in);
    (void)p->Parse(e.raw(), ctx, e);
  }
  return 0;
}
