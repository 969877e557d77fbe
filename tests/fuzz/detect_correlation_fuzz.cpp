// Fuzzes correlation rules end to end (detect/correlation.h): the input is correlation YAML, a line
// "===", then NDJSON events fed through a Detector with small state limits (so eviction and expiry
// run), followed by a save/load round trip of the state. Event times come from a numeric "t"
// field (nanoseconds, any int64) so that timelines, not the RFC 3339 parser (core/time.h, fuzzed on
// its own), are what varies: "time" keys are neutralised before flattening. An input starting with '{' is instead a
// correlation state file for LoadState. Hostile rules, timelines and state files must be rejected
// or evaluated, never crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "detect/detector.h"
#include "detect/json_events.h"
#include "detect/reader.h"

namespace {

using namespace medsoc::detect;

constexpr const char* kBase = R"(title: fail
id: f1
name: fail
logsource: {product: test, service: auth}
detection:
  sel: {action: fail}
  condition: sel
---
title: ok
id: f2
name: ok
logsource: {product: test, service: auth}
detection:
  sel: {action: ok}
  condition: sel
---
title: count
id: c1
name: many
correlation:
  type: event_count
  rules: [fail]
  group-by: [user]
  timespan: 1m
  condition: {gte: 2}
---
)";

const LogsourceMap& Mapping() {
  static LogsourceMap* ls = [] {
    auto* m = new LogsourceMap();
    (void)m->LoadYaml("product: test\nfield_templates: [\"{}\"]\nlogsources:\n  - service: auth\n", "fuzz-mapping.yaml");
    return m;
  }();
  return *ls;
}

std::string TempPath() {
  return "/tmp/medsoc_correlation_fuzz_" + std::to_string(::getpid()) + ".state";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 32 * 1024) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool state_file = !text.empty() && text.front() == '{';
  const std::size_t split = text.find("\n===\n");
  const std::string_view yaml = state_file ? std::string_view() : text.substr(0, split);
  const std::string_view events = split == std::string_view::npos || state_file ? std::string_view() : text.substr(split + 5);

  auto read = ReadSigmaYaml(std::string(kBase) + std::string(yaml), "fuzz.yml");
  std::vector<Problem> problems = read.problems;
  CompileOptions opt;
  opt.compile_threads = 1;
  auto rules = RuleSet::Compile(std::move(read.docs), Mapping(), opt, problems);
  DetectorOptions dopt{.threads = 1};
  dopt.correlation.max_groups = 4;
  dopt.correlation.max_entries_per_group = 8;
  Detector detector(rules, dopt);
  const std::string path = TempPath();
  if (state_file) {
    if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
      std::fwrite(text.data(), 1, text.size(), f);
      std::fclose(f);
      (void)detector.LoadCorrelationState(path);
    }
  }
  medsoc::event::Batch batch;
  std::size_t pos = 0;
  while (pos < events.size() && batch.size() < 256) {
    std::size_t nl = events.find('\n', pos);
    if (nl == std::string_view::npos) nl = events.size();
    std::string line(events.substr(pos, nl - pos));
    for (std::size_t k = line.find("ime"); k != std::string::npos; k = line.find("ime", k + 3)) line[k + 2] = 'x';
    medsoc::event::Event& e = batch.Add();
    (void)FlattenJsonObject(line, e);
    static const medsoc::event::FieldId t_field = *medsoc::event::DefaultFieldTable().Intern("t");
    if (const auto* v = e.Find(t_field, medsoc::event::FieldSpace::kOriginal))
      if (auto t = v->AsInt()) e.set_time(medsoc::core::Timestamp{*t});
    pos = nl + 1;
  }
  std::vector<Alert> alerts;
  detector.Process(batch, 0, alerts);
  for (const auto& a : alerts) (void)AlertToJson(a);
  if (detector.SaveCorrelationState(path).ok()) {
    Detector again(rules, dopt);
    (void)again.LoadCorrelationState(path);
  }
  std::remove(path.c_str());
  return 0;
}
