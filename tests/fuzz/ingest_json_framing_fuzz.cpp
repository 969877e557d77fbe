// Fuzzes JsonFramer and CsvRecordFramer: any byte stream, fed in chunks whose sizes come from the
// input; every returned value must lie within the stream and frames must never overlap.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ingest/framing_json.h"
#include "ingest/parse/json/csv.h"

using namespace medsoc;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t chunk = 1 + data[0] % 64;
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  ingest::JsonFramer fr(256);
  ingest::JsonFramer::Frame f;
  std::uint64_t last_end = 0;
  auto check = [&] {
    while (fr.Next(f)) {
      if (!f.ok) continue;
      if (f.offset < last_end || f.offset + f.value.size() > in.size()) std::abort();
      if (in.substr(f.offset, f.value.size()) != f.value) std::abort();
      last_end = f.offset + f.value.size();
    }
  };
  ingest::json::CsvRecordFramer csv(256);
  std::string_view rec;
  std::uint64_t off;
  bool trunc;
  for (std::size_t i = 0; i < in.size(); i += chunk) {
    fr.Feed(in.substr(i, chunk));
    check();
    csv.Feed(in.substr(i, chunk));
    while (csv.Next(rec, off, trunc))
      if (off + rec.size() > in.size()) std::abort();
  }
  fr.Finish();
  check();
  (void)csv.Finish(rec, off);
  return 0;
}
