// Fuzzes the auditd record parser and the AuditdJoiner: the input is split into lines, fed to the
// joiner (with a clock that advances per line), and every emitted group is parsed.
// Properties: no crash or sanitizer report; the joiner's open groups stay within its bound;
// errors say where; parsed events render as JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "event/batch.h"
#include "event/json.h"
#include "ingest/parse/auditd.h"

using namespace medsoc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  ingest::ParseContext ctx;
  ctx.now = core::Timestamp::FromSeconds(1'710'028'800);
  ingest::text::AuditdParser parser;
  ingest::text::AuditdJoiner::Options o;
  o.max_open = 4;
  o.max_records = 8;
  ingest::text::AuditdJoiner joiner(o);
  event::Batch batch;
  auto emit = [&](std::string_view joined) {
    event::Event& e = batch.Add();
    e.set_raw(joined);
    auto st = parser.Parse(e.raw(), ctx, e);
    if (!st.ok() && st.error().message().find("byte") == std::string::npos) std::abort();
    std::string json;
    event::AppendEventJson(e, json);
  };
  std::int64_t t = 0;
  std::size_t pos = 0;
  while (pos <= in.size()) {
    std::size_t end = in.find('\n', pos);
    if (end == std::string_view::npos) end = in.size();
    joiner.Add(in.substr(pos, end - pos), core::Timestamp{t}, emit);
    if (joiner.open_groups() > o.max_open) std::abort();
    t += core::Seconds(1) / 2;
    pos = end + 1;
  }
  joiner.FlushAll(emit);
  if (joiner.open_groups() != 0) std::abort();
  return 0;
}
