// Fuzzes the auditd record parser and the AuditdJoiner: the input is split into lines, fed to the
// joiner (with a clock that advances per line), and every emitted group is parsed.
// Properties: no crash or sanitizer report; the joiner's open groups stay within its bound;
// errors say where; parsed events render as JSON. Each line carries its number as a tag: every
// line is emitted exactly once (tags ascending within a group), except EOE records.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

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
  std::vector<int> seen;
  auto emit = [&](std::string_view joined, const std::vector<std::uint64_t>& tags) {
    if (tags.empty()) std::abort();
    for (std::size_t i = 0; i < tags.size(); ++i) {
      if (tags[i] >= seen.size() || seen[tags[i]]++ != 0) std::abort();
      if (i > 0 && tags[i] <= tags[i - 1]) std::abort();
    }
    event::Event& e = batch.Add();
    e.set_raw(joined);
    auto st = parser.Parse(e.raw(), ctx, e);
    if (!st.ok() && st.error().message().find("byte") == std::string::npos) std::abort();
    std::string json;
    event::AppendEventJson(e, json);
  };
  std::int64_t t = 0;
  std::size_t pos = 0;
  std::vector<std::string_view> lines;
  while (pos <= in.size()) {
    std::size_t end = in.find('\n', pos);
    if (end == std::string_view::npos) end = in.size();
    lines.push_back(in.substr(pos, end - pos));
    seen.push_back(0);
    joiner.Add(lines.back(), lines.size() - 1, core::Timestamp{t}, emit);
    if (joiner.open_groups() > o.max_open) std::abort();
    t += core::Seconds(1) / 2;
    pos = end + 1;
  }
  joiner.FlushAll(emit);
  if (joiner.open_groups() != 0) std::abort();
  // Only EOE records may be left out of every emitted group.
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (seen[i] == 0 && lines[i].find("EOE") == std::string_view::npos) std::abort();
  return 0;
}
