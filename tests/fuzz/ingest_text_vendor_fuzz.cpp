// Fuzzes the data-driven vendor mappings two ways, chosen by the first byte:
//  - odd: the input is a vendor YAML file for LoadVendorYaml (every problem must carry a position
//    and no exception may escape); a spec that loads is then run over a fixed sample line;
//  - even: the input is a log line for every shipped vendor mapping (content/ingest/vendors,
//    found through MEDSOC_SOURCE_DIR) and for auto-detection over all text parsers.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/registry.h"
#include "event/batch.h"
#include "event/json.h"
#include "ingest/parse/auto_detect.h"
#include "ingest/parse/vendor.h"

using namespace medsoc;

namespace {

struct Shipped {
  std::vector<std::unique_ptr<ingest::Parser>> parsers;
  std::unique_ptr<ingest::AutoDetector> detector;
  core::Registry registry;
  Shipped() {
    const char* src = std::getenv("MEDSOC_SOURCE_DIR");
    const std::string content = std::string(src ? src : ".") + "/content";
    auto r = ingest::text::LoadVendorDir(content + "/ingest/vendors");
    for (auto& s : r.specs) parsers.push_back(std::make_unique<ingest::text::VendorParser>(s));
    (void)ingest::RegisterParsers(registry, content);
    ingest::AutoDetectOptions o;
    o.sample_size = 2;
    auto d = ingest::AutoDetector::FromRegistry(registry, o);
    if (d.ok()) detector = std::move(*d);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Shipped* shipped = new Shipped();
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  ingest::ParseContext ctx;
  ctx.now = core::Timestamp::FromSeconds(1'710'028'800);
  event::Batch batch;
  auto run = [&](ingest::Parser& p, std::string_view line) {
    event::Event& e = batch.Add();
    e.set_raw(line);
    auto st = p.Parse(e.raw(), ctx, e);
    if (!st.ok() && st.error().message().find("byte") == std::string::npos) std::abort();
    std::string json;
    event::AppendEventJson(e, json);
    (void)p.Detect(line);
  };
  if (data[0] & 1) {
    auto r = ingest::text::LoadVendorYaml(in, "fuzz.yaml");
    for (const auto& p : r.problems)
      if (!p.pos() || p.message().empty()) std::abort();
    for (auto& s : r.specs) {
      ingest::text::VendorParser p(s);
      run(p, "<13>Mar  3 10:01:02 fw x: a=1 b=\"two words\" src=10.0.0.1;c:3, d(4)=5.");
    }
    return 0;
  }
  for (auto& p : shipped->parsers) run(*p, in);
  if (shipped->detector) run(*shipped->detector, in);
  return 0;
}
