// Fuzz target: syslog stream framing (LF and RFC 6587 octet counting, auto-detected), the file
// line splitter and the HTTP ingest body splitter. The first byte chooses the chunking, so the
// fuzzer also explores frames split across reads. Invariants: no frame exceeds the limit; the
// framer never buffers more than the limit plus a length header; splitting is chunking-invariant.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/assert.h"
#include "ingest/framing.h"
#include "ingest/sources/http_ingest.h"

using medsoc::ingest::Frame;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t max = 1 + data[0] % 64;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);

  auto run = [&](std::size_t chunk) {
    medsoc::ingest::SyslogFramer f(max);
    std::vector<std::pair<std::string, bool>> out;
    auto cb = [&](const Frame& fr) {
      MEDSOC_ASSERT(fr.data.size() <= max);
      out.emplace_back(std::string(fr.data), fr.truncated);
    };
    for (std::size_t i = 0; i < in.size(); i += chunk) {
      f.Feed(in.substr(i, chunk), cb);
      MEDSOC_ASSERT(f.buffered() <= max + 12);
    }
    f.Finish(cb);
    return out;
  };
  const auto whole = run(in.size() + 1);
  const auto small = run(1 + data[0] % 7);
  MEDSOC_ASSERT(whole == small);

  medsoc::ingest::LineSplitter ls(max);
  std::uint64_t last_end = 0;
  ls.Split(in, 0, [&](const Frame& fr, std::uint64_t end) {
    MEDSOC_ASSERT(fr.data.size() <= max);
    MEDSOC_ASSERT(end >= last_end && end <= in.size());
    last_end = end;
  });

  std::size_t total = 0;
  (void)medsoc::ingest::SplitIngestBody(in, [&](std::string_view t) {
    MEDSOC_ASSERT(t.data() >= in.data() && t.data() + t.size() <= in.data() + in.size());
    total += t.size();
  });
  MEDSOC_ASSERT(total <= in.size());
  return 0;
}
