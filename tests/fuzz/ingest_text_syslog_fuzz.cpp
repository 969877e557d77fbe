// Fuzzes the syslog parsers (rfc3164, rfc5424, syslog) and through them every MSG normalizer
// (sshd, sudo, su, account tools, PAM, cron, netfilter, auditd, CEF/LEEF payloads).
// Properties: no crash or sanitizer report; an error always says where ("at byte"); every field
// of a parsed event renders as JSON (so every string view points at live memory).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "event/batch.h"
#include "event/json.h"
#include "ingest/parse/syslog.h"

using namespace medsoc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  ingest::ParseContext ctx;
  ctx.now = core::Timestamp::FromSeconds(1'710'028'800);
  ctx.max_message_bytes = 4096;
  ingest::text::Rfc3164Parser p3;
  ingest::text::Rfc5424Parser p5;
  ingest::text::SyslogParser ps;
  ingest::Parser* parsers[] = {&p3, &p5, &ps};
  event::Batch batch;
  for (ingest::Parser* p : parsers) {
    event::Event& e = batch.Add();
    e.set_raw(in);
    auto st = p->Parse(e.raw(), ctx, e);
    if (!st.ok() && st.error().message().find("byte") == std::string::npos) std::abort();
    std::string json;
    event::AppendEventJson(e, json);
    (void)p->Detect(in);
  }
  return 0;
}
