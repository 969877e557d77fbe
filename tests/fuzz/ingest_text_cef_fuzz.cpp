// Fuzzes the CEF, LEEF and generic key=value parsers (with or without a syslog header in front).
// Properties: no crash or sanitizer report; errors say where; parsed events render as JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "event/batch.h"
#include "event/json.h"
#include "ingest/parse/cef.h"
#include "ingest/parse/kv.h"

using namespace medsoc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  ingest::ParseContext ctx;
  ctx.now = core::Timestamp::FromSeconds(1'710'028'800);
  ingest::text::CefParser cef;
  ingest::text::LeefParser leef;
  ingest::text::KvParser kv;
  ingest::Parser* parsers[] = {&cef, &leef, &kv};
  event::Batch batch;
  for (ingest::Parser* p : parsers) {
    event::Event& e = batch.Add();
    e.set_raw(in);
    auto st = p->Parse(e.raw(), ctx, e);
    if (!st.ok() && st.error().message().find("byte") == std::string::npos) std::abort();
    std::string json;
    event::AppendEventJson(e, json);
    const int score = p->Detect(in);
    if (score < 0 || score > 100) std::abort();
  }
  return 0;
}
