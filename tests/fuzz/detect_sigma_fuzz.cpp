// Fuzzes the Sigma reader and compiler (detect/reader.h, detect/engine.h) and runs the compiled
// rules over one event: hostile rule files must be rejected with problems, never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "detect/engine.h"
#include "detect/json_events.h"
#include "detect/reader.h"

namespace {

const medsoc::detect::LogsourceMap& Mapping() {
  static medsoc::detect::LogsourceMap* ls = [] {
    auto* m = new medsoc::detect::LogsourceMap();
    (void)m->LoadYaml(R"(product: windows
fields:
  Image: [Image, NewProcessName]
logsources:
  - category: process_creation
    sources:
      - {Channel: "Microsoft-Windows-Sysmon/Operational", EventID: 1}
      - {Channel: Security, EventID: 4688}
)", "fuzz-mapping.yaml");
    return m;
  }();
  return *ls;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto read = medsoc::detect::ReadSigmaYaml(text, "fuzz.yml");
  std::vector<medsoc::detect::Problem> problems = read.problems;
  medsoc::detect::CompileOptions opt;
  opt.compile_threads = 1;
  opt.placeholders["Admins"] = {"adm*"};
  auto rules = medsoc::detect::RuleSet::Compile(std::move(read.docs), Mapping(), opt, problems);
  static medsoc::event::Event* ev = [] {
    auto* e = new medsoc::event::Event();
    (void)medsoc::detect::FlattenJsonObject(
        R"({"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"C:\\Windows\\cmd.exe","CommandLine":"cmd /c whoami -enc AAA","User":"HOSP\\admin","DestinationIp":"10.1.2.3","UtcTime":"2024-03-03T10:00:00Z"})",
        *e);
    return e;
  }();
  medsoc::detect::Matcher m(rules);
  std::vector<std::uint32_t> out;
  m.Match(*ev, out);
  for (auto r : out) (void)m.Explain(*ev, r);
  return 0;
}
