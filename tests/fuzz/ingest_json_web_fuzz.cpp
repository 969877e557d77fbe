// Fuzzes the NCSA access log and IIS W3C parsers. Lines are split at '\n' so that #Fields
// directives change the W3C parser's column list between lines.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "event/event.h"
#include "ingest/parse/json/parsers.h"

using namespace medsoc;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Static: the W3C column list carries over between inputs as it does between lines.
  static auto access = ingest::json::MakeAccessLogParser();
  static auto w3c = ingest::json::MakeW3cParser();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  ingest::ParseContext ctx;
  event::Event e;
  while (!in.empty()) {
    const auto nl = in.find('\n');
    const std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    for (ingest::Parser* p : {access.get(), w3c.get()}) {
      e.Reset();
      e.set_raw(line);
      (void)p->Detect(line);
      (void)p->Parse(e.raw(), ctx, e);
    }
  }
  return 0;
}
