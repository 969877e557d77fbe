// The Sigma engine: reader -> collector -> compiler -> matcher.
//
//   files ──ReadSigmaPaths──► SigmaDocuments ──Collect──► rules, filters, correlations by id/name
//         ──Compile──► RuleSet (immutable) ──Matcher (one per thread)──► matched rule indexes
//
// Compilation (RuleSet::Compile):
//  - every field a rule names is resolved through the logsource mappings (logsource.h) to the
//    event fields it may be read from (a "slot"); every value becomes a predicate on a slot,
//    deduplicated across rules;
//  - exact values go to hash maps (case-folded text, and integers for typed comparison); the
//    contains/startswith/endswith values of all rules on one slot (and windash forms) go to one
//    Hyperscan *literal* database (anchors checked on the match offset); values with inner
//    wildcards go there too by their longest plain run, then are matched whole (GlobMatch); the
//    rest (regexes, `?` without a plain run) goes to one Hyperscan expression database per slot;
//    regexes Hyperscan cannot take go to RE2; cidr, lt/gt, exists, null, fieldref, neq and the
//    time modifiers are evaluated directly;
//  - keywords: all string values of an event are scanned in one call, joined by a byte no keyword
//    literal contains;
//  - rules are indexed by logsource (a "bucket"): an event activates only the buckets whose
//    source conditions it meets (Channel / EventID ...), found through a hash index;
//  - each rule gets a trigger set: predicates at least one of which must hold for it to match
//    (derived from its condition). A rule is evaluated for an event only when one of its triggers
//    fired during the scan (or it has none, which is rare).
//
// Matching semantics (Sigma v2.1.0): strings compare case-insensitively (ASCII case folding)
// unless `cased`; `re` is case-sensitive unless `i`. Wildcards `*` (any run, also empty) and `?`
// (one character) are honoured in plain values; `\*`, `\?` are literal, `\\` is one backslash,
// and a backslash before any other character is literal. A missing field matches nothing except
// `null` and `exists: false`; an empty string matches only `''`. Typed comparison: a rule's 4688
// (number) matches an event's 4688 whether it arrived as a number or as the text "4688" or
// "0x1250"; a quoted '4688' matches the text "4688" and the number 4688.
//
// Thread-safety: a RuleSet is immutable after Compile except for the per-rule enabled flags and
// statistics, which are atomics. A Matcher is used by one thread at a time; create one per thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "detect/logsource.h"
#include "detect/rule.h"
#include "event/event.h"
#include "event/field.h"

namespace medsoc::detect {

struct CompileOptions {
  // Values of `expand` placeholders: "Administrators" -> ["admin*", "root"] (without the %); from
  // the file named by detect.placeholders_file (placeholders.h).
  std::map<std::string, std::vector<std::string>> placeholders;
  // Hyperscan compile threads (0: hardware concurrency).
  int compile_threads = 0;
  // A rule whose logsource no mapping file names sees only the events that name its product (or
  // category/service) in their metadata (GenericEntry in logsource.h). true: every event, as
  // before 2026-11-22 (configuration key detect.unmapped_logsources: every_event).
  bool unmapped_on_every_event = false;
  event::FieldTable* field_table = nullptr;  // nullptr: event::DefaultFieldTable()
};

// Summary counts of a load (rules check). A document counts once: loaded, unsupported or error.
struct LoadSummary {
  std::size_t documents = 0;
  std::size_t loaded = 0;
  std::size_t unsupported = 0;
  std::size_t errors = 0;
  std::size_t warnings = 0;
  std::vector<Problem> problems;  // sorted by file, line, column
};

// Static description of a compiled rule (for alerts, the API, correlation).
struct RuleInfo {
  std::string id;
  std::string name;
  std::string title;
  std::string level;
  std::string status;
  std::string description;
  std::vector<std::string> tags;
  Logsource logsource;
  std::string file;
  SourcePos pos;
  bool mapped_logsource = true;  // false: no mapping, evaluated on every event
  std::string source_text;
};

// Live statistics of one rule (shared by all threads; relaxed atomics).
struct RuleStats {
  std::atomic<std::uint64_t> evaluations{0};  // times its condition was evaluated
  std::atomic<std::uint64_t> hits{0};
  std::atomic<std::uint64_t> sampled_ns{0};   // evaluation time of sampled evaluations
  std::atomic<std::uint64_t> samples{0};
};

class Matcher;
struct CompiledImpl;
struct CorrelationPlan;

class RuleSet {
 public:
  ~RuleSet();
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  // Compiles the detection rules and filters of `docs` (correlations are left to
  // CorrelationEngine, which reads them from correlations()). Problems are appended to `problems`;
  // every rule without an error or unsupported feature is compiled.
  static std::shared_ptr<RuleSet> Compile(std::vector<SigmaDocument> docs, const LogsourceMap& logsources,
                                          const CompileOptions& options, std::vector<Problem>& problems);

  std::size_t size() const { return infos_.size(); }
  const RuleInfo& info(std::size_t rule) const { return infos_[rule]; }
  RuleStats& stats(std::size_t rule) const { return stats_[rule]; }
  bool enabled(std::size_t rule) const { return enabled_[rule].load(std::memory_order_relaxed); }
  void set_enabled(std::size_t rule, bool on) const { enabled_[rule].store(on, std::memory_order_relaxed); }
  // Index of a rule by id or name; -1 when absent.
  std::ptrdiff_t Find(std::string_view id_or_name) const;

  // Correlation documents that were collected, and their compiled form (correlation.h): only the
  // correlations without problems are in the plan.
  const std::vector<SigmaDocument>& correlations() const { return correlations_; }
  const CorrelationPlan& correlation_plan() const { return *plan_; }

  // Compile figures.
  std::size_t predicate_count() const;
  std::size_t hyperscan_databases() const;
  std::size_t re2_patterns() const;

 private:
  friend class Matcher;
  RuleSet();
  std::unique_ptr<CompiledImpl> impl_;
  std::vector<RuleInfo> infos_;
  std::unique_ptr<RuleStats[]> stats_;
  std::unique_ptr<std::atomic<bool>[]> enabled_;
  std::vector<SigmaDocument> correlations_;
  std::unique_ptr<CorrelationPlan> plan_;
  std::map<std::string, std::size_t, std::less<>> by_id_;
};

// Per-thread evaluation state: scratch arrays stamped by generation (no clearing, no allocation
// per event once warm) and a Hyperscan scratch.
class Matcher {
 public:
  explicit Matcher(std::shared_ptr<const RuleSet> rules);
  ~Matcher();
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // Appends to `out` the indexes of the enabled rules that match `event`, ascending.
  void Match(const event::Event& event, std::vector<std::uint32_t>& out);

  // The Sigma fields and values that made `rule` match the event last passed to Match.
  // REQUIRES: `rule` was reported by that call.
  std::vector<std::pair<std::string, std::string>> Explain(const event::Event& event, std::uint32_t rule);

  // Adds this matcher's per-rule evaluation counters into the RuleSet's stats and resets them.
  void FlushStats();

  const RuleSet& rules() const { return *rules_; }
  std::uint64_t candidates_evaluated() const { return candidates_total_; }

 private:
  struct State;
  std::shared_ptr<const RuleSet> rules_;
  std::unique_ptr<State> s_;
  std::uint64_t candidates_total_ = 0;
};

// Collector + compiler convenience: reads `paths`, compiles with `logsources`, and summarises.
// The returned RuleSet is never null (it may be empty).
std::shared_ptr<RuleSet> LoadRules(const std::vector<std::string>& paths, const LogsourceMap& logsources,
                                   const CompileOptions& options, LoadSummary& summary);

// Builds the summary counts from documents read and problems found.
void Summarize(std::size_t documents, std::vector<Problem> problems, LoadSummary& summary);

}  // namespace medsoc::detect
