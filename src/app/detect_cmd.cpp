// `medsoc rules check` and `medsoc detect`: the command-line contract of the Sigma engine.
//
//   medsoc rules check DIR|FILE...
//     stdout: one line per problem "file:line:col: severity: [rule id] reason", then the summary
//     "rules: N loaded, N unsupported, N errors (N warnings)". Exit 0 when there are no errors.
//   medsoc detect --rules DIR|FILE... [--format auto|NAME] [--stats] FILE...|-
//     stdout: one JSON object per alert (detect::AlertToJson); correlation alerts follow the alert
//     of the event that completed them and list their contributing events (event_index) under
//     "correlation". --stats: events/s, per-rule hits and the correlation counters on stderr.
//     Exit 0 on success (alerts or not), 1 when rules have errors or input fails.
//
// Events are read as JSON (NDJSON lines or concatenated/pretty-printed objects such as evtx_dump
// output; .zst files decompressed) through detect::JsonEventReader.
// TODO(issue 3): once ingest::RegisterParsers builds, route --format NAME (and auto for non-JSON
// input) through the ingest registry and src/ingest/framing_json.h.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "app/app.h"
#include "core/time.h"
#include "detect/detector.h"
#include "detect/json_events.h"
#include "detect/placeholders.h"
#include "event/batch.h"

namespace medsoc::app {
namespace {

// content/logsources of the resolved content directory (see ResolveContentDir), unless given.
std::string LogsourceDir(const std::string& flag) {
  if (!flag.empty()) return flag;
  Options defaults;
  if (auto loaded = LoadOptions({}); loaded.ok()) defaults = *loaded;
  return ResolveContentDir(defaults) + "/logsources";
}

bool LoadAll(const std::vector<std::string>& paths, const std::string& logsource_flag, detect::LogsourceMap& ls,
             std::shared_ptr<detect::RuleSet>& rules, detect::LoadSummary& summary) {
  auto lp = ls.LoadPath(LogsourceDir(logsource_flag));
  // `expand` placeholders from the configuration's detect.placeholders_file.
  detect::CompileOptions compile;
  if (auto loaded = LoadOptions({}); loaded.ok()) {
    compile.unmapped_on_every_event = loaded->detect.unmapped_logsources == "every_event";
    if (!loaded->detect.placeholders_file.empty())
      for (auto& p : detect::LoadPlaceholdersFile(loaded->detect.placeholders_file, compile.placeholders))
        lp.push_back(std::move(p));
  }
  rules = detect::LoadRules(paths, ls, compile, summary);
  for (auto& p : lp) summary.problems.insert(summary.problems.begin(), std::move(p));
  summary.errors += lp.size();
  return true;
}

}  // namespace

int RunRulesCheck(const std::vector<std::string>& paths, const std::string& logsource_dir) {
  detect::LogsourceMap ls;
  std::shared_ptr<detect::RuleSet> rules;
  detect::LoadSummary s;
  LoadAll(paths, logsource_dir, ls, rules, s);
  for (const auto& p : s.problems) std::printf("%s\n", p.ToString().c_str());
  std::printf("rules: %zu loaded, %zu unsupported, %zu errors (%zu warnings)\n", s.loaded, s.unsupported, s.errors,
              s.warnings);
  return s.errors == 0 ? 0 : 1;
}

int RunDetect(const std::vector<std::string>& rule_paths, const std::string& format,
              const std::vector<std::string>& inputs, bool stats, const std::string& logsource_dir) {
  if (format != "auto" && format != "json" && format != "ndjson" && format != "evtx_json") {
    std::fprintf(stderr, "medsoc detect: format '%s' is not available yet (auto, json, ndjson, evtx_json)\n",
                 format.c_str());
    return 2;
  }
  detect::LogsourceMap ls;
  std::shared_ptr<detect::RuleSet> rules;
  detect::LoadSummary s;
  LoadAll(rule_paths, logsource_dir, ls, rules, s);
  for (const auto& p : s.problems)
    if (p.severity != detect::Severity::kWarning) std::fprintf(stderr, "%s\n", p.ToString().c_str());
  if (s.errors > 0) {
    std::fprintf(stderr, "medsoc detect: %zu rule errors\n", s.errors);
    return 1;
  }
  detect::Detector detector(rules);
  std::vector<std::string> files = inputs.empty() ? std::vector<std::string>{"-"} : inputs;
  event::Batch batch;
  std::vector<detect::Alert> alerts;
  std::uint64_t index = 0, n_alerts = 0;
  const core::Timestamp started = core::Now();
  auto flush = [&] {
    alerts.clear();
    detector.Process(batch, index, alerts);
    for (const auto& a : alerts) std::printf("%s\n", detect::AlertToJson(a).c_str());
    n_alerts += alerts.size();
    index += batch.size();
    batch.Clear();
  };
  int rc = 0;
  for (const auto& f : files) {
    auto reader = detect::JsonEventReader::Open(f);
    if (!reader.ok()) {
      std::fprintf(stderr, "medsoc detect: %s\n", reader.error().ToString().c_str());
      rc = 1;
      continue;
    }
    for (;;) {
      event::Event& e = batch.Add();
      if (!(*reader)->Next(e)) {
        batch.PopBack();
        break;
      }
      if (batch.size() == 4096) flush();
    }
    if ((*reader)->error()) {
      std::fprintf(stderr, "medsoc detect: %s: %s\n", f.c_str(), (*reader)->error()->ToString().c_str());
      rc = 1;
    }
  }
  if (!batch.empty()) flush();
  std::fflush(stdout);
  if (stats) {
    const double secs = static_cast<double>((core::Now() - started.ns).ns) / 1e9;
    std::fprintf(stderr, "events: %llu in %.3f s (%.0f events/s), alerts: %llu, rules: %zu\n",
                 static_cast<unsigned long long>(index), secs, secs > 0 ? index / secs : 0.0,
                 static_cast<unsigned long long>(n_alerts), rules->size());
    const auto& cc = detector.correlation_counters();
    std::fprintf(stderr,
                 "correlations: %zu, alerts %llu, open groups %llu, entries %llu, evicted groups %llu, evicted "
                 "entries %llu, late entries %llu, missing group-by field %llu\n",
                 rules->correlation_plan().correlations.size(), static_cast<unsigned long long>(cc.alerts.load()),
                 static_cast<unsigned long long>(cc.groups.load()), static_cast<unsigned long long>(cc.entries.load()),
                 static_cast<unsigned long long>(cc.evicted_groups.load()),
                 static_cast<unsigned long long>(cc.evicted_entries.load()),
                 static_cast<unsigned long long>(cc.late_entries.load()),
                 static_cast<unsigned long long>(cc.missing_group_field.load()));
    for (std::size_t r = 0; r < rules->size(); ++r) {
      const auto& st = rules->stats(r);
      if (st.hits == 0) continue;
      std::fprintf(stderr, "  %8llu hits %10llu evaluations  %s  %s\n",
                   static_cast<unsigned long long>(st.hits.load()),
                   static_cast<unsigned long long>(st.evaluations.load()), rules->info(r).id.c_str(),
                   rules->info(r).title.c_str());
    }
    const auto& plan = rules->correlation_plan();
    for (std::size_t c = 0; c < plan.correlations.size(); ++c) {
      const auto hits = plan.hits[c].load();
      if (hits == 0) continue;
      std::fprintf(stderr, "  %8llu hits (correlation %s)  %s  %s\n", static_cast<unsigned long long>(hits),
                   std::string(detect::CorrelationTypeName(plan.correlations[c].spec.type)).c_str(),
                   plan.correlations[c].id.c_str(), plan.correlations[c].title.c_str());
    }
  }
  return rc;
}

}  // namespace medsoc::app
