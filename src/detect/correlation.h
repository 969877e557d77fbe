// Correlation rules (Sigma correlation specification, v2.x): event_count, value_count, temporal,
// temporal_ordered, value_sum, value_avg, value_percentile over the matches of base rules or of
// other correlations (chaining).
//
// Two parts:
//  - CorrelationPlan: compiled once with the RuleSet (RuleSet::Compile calls CompileCorrelations).
//    Every reference in `rules:` is resolved to a base rule or a correlation; every group-by field
//    and value field is resolved, per referenced rule and after `aliases`, through that rule's
//    logsource mapping to event fields. Unknown references and cycles are errors with positions.
//  - CorrelationEngine: the mutable state (per correlation, per group: the entries of the current
//    window), fed with base-rule matches in event order by the Detector.
//
// Semantics (docs/sigma.md, "Correlation rules"):
//  - Sliding window, both ends inclusive: a set of entries forms a match when the time of its
//    newest entry minus the time of its oldest is <= timespan. When an entry arrives in a group,
//    entries older than (newest - timespan) are dropped and the condition is evaluated on what is
//    left. A correlation fires at most once per set of entries: after firing, the group is
//    cleared, so the next alert needs fresh entries.
//  - Out-of-order entries are accepted while they are within the timespan of the correlation's
//    watermark (the newest time it has seen); older ones are dropped and counted (late_entries).
//  - Groups never mix tenants: the event's tenant (empty: "default") is part of every group key.
//  - An entry whose group-by field is missing in the event is dropped and counted
//    (missing_group_field) — a group must have a value for every group-by field.
//  - event_count: number of entries; value_count: distinct values (text, case-sensitive) of the
//    condition field; temporal: number of distinct referenced rules present; temporal_ordered: the
//    longest prefix of `rules` found in order (strictly increasing time, arrival order for ties);
//    value_sum / value_avg / value_percentile (nearest rank): over the numeric values of the field
//    (entries whose field is missing or not numeric do not contribute).
//  - generate: false (the default) suppresses the referenced rules' own alerts; a rule referenced
//    by several correlations generates alerts when any of them says generate: true, or when it is
//    referenced by none.
//  - Chaining: a correlation's alert is an entry for the correlations that reference it; its
//    group values are its fields (group-by names, or aliases naming the inner correlation), its
//    time the newest contributing event, its contributing events are carried over.
//  - Bounded memory: at most max_groups groups (over all correlations) and max_entries_per_group
//    entries per group. When full, the least recently updated group is evicted (evicted_groups),
//    a full group drops its oldest entry (evicted_entries). Groups whose window has passed the
//    watermark are expired (expired_groups, not an eviction: they could not match any more).
//  - Persistence: SaveState writes every group to a file atomically (temporary file, fsync,
//    rename); LoadState restores the groups of correlations whose id and definition fingerprint
//    are unchanged (others are counted in dropped_on_restore). Rebind (hot reload) keeps the
//    state of the same correlations the same way.
//
// Thread-safety: a CorrelationEngine is used by one thread at a time (the Detector serialises
// access); counters() may be read concurrently (atomics).
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "detect/alert.h"
#include "detect/logsource.h"
#include "detect/rule.h"
#include "event/event.h"
#include "event/field.h"

namespace medsoc::detect {

class RuleSet;

// Event fields where one Sigma field is read (first present wins).
using FieldPath = std::vector<std::pair<event::FieldId, event::FieldSpace>>;

struct CompiledCorrelation {
  // A resolved entry of `rules:`.
  struct Ref {
    bool is_correlation = false;
    std::uint32_t index = 0;  // base rule index in the RuleSet, or correlation index in the plan
    // Base rule: per group-by field, where its value is read; value field likewise.
    std::vector<FieldPath> group_fields;
    FieldPath value_field;
    // Correlation: per group-by field, the index into the inner correlation's group (-1: absent).
    std::vector<int> group_from_inner;
    int value_from_inner = -1;
  };
  std::string id;  // id, or title when there is none
  std::string name;
  std::string title, level, status, description;
  std::vector<std::string> tags;
  std::string file;
  SourcePos pos;
  std::string source_text;
  CorrelationSpec spec;
  std::string fingerprint;  // hash of the definition; state is kept only while it is unchanged
  std::vector<Ref> refs;    // parallel to spec.rules
};

// The compiled correlations of a RuleSet.
struct CorrelationPlan {
  std::vector<CompiledCorrelation> correlations;
  // base rule -> (correlation, ref position) that consume its matches
  std::vector<std::vector<std::pair<std::uint32_t, std::uint32_t>>> by_rule;
  // correlation -> (outer correlation, ref position)
  std::vector<std::vector<std::pair<std::uint32_t, std::uint32_t>>> by_correlation;
  std::vector<bool> rule_generates;         // per base rule: emit its own alerts
  std::vector<bool> correlation_generates;  // per correlation: emit its own alerts
  std::unique_ptr<std::atomic<bool>[]> enabled;  // per correlation (API enable/disable)
  std::unique_ptr<std::atomic<std::uint64_t>[]> hits;  // per correlation: alerts fired

  bool enabled_at(std::size_t c) const { return enabled[c].load(std::memory_order_relaxed); }
  std::ptrdiff_t Find(std::string_view id_or_name) const;
};

// Compiles `docs` (kCorrelation documents) against the base rules of `rules`. Correlations with
// problems (unknown references, cycles, unresolvable fields) are reported and left out.
std::unique_ptr<CorrelationPlan> CompileCorrelations(const std::vector<SigmaDocument>& docs, const RuleSet& rules,
                                                     const LogsourceMap& logsources, event::FieldTable& table,
                                                     std::vector<Problem>& problems);

// The definition fingerprint of a correlation (16 hex digits).
std::string CorrelationFingerprint(const SigmaDocument& doc);

struct CorrelationOptions {
  std::size_t max_groups = 200'000;           // groups over all correlations
  std::size_t max_entries_per_group = 10'000;  // entries kept per group
};

struct CorrelationCounters {
  std::atomic<std::uint64_t> entries_observed{0};
  std::atomic<std::uint64_t> alerts{0};
  std::atomic<std::uint64_t> evicted_groups{0};
  std::atomic<std::uint64_t> evicted_entries{0};
  std::atomic<std::uint64_t> expired_groups{0};
  std::atomic<std::uint64_t> late_entries{0};
  std::atomic<std::uint64_t> missing_group_field{0};
  std::atomic<std::uint64_t> restored_groups{0};
  std::atomic<std::uint64_t> dropped_on_restore{0};
  std::atomic<std::uint64_t> groups{0};   // current
  std::atomic<std::uint64_t> entries{0};  // current
};

class CorrelationEngine {
 public:
  CorrelationEngine(std::shared_ptr<const RuleSet> rules, CorrelationOptions options = {});
  ~CorrelationEngine();
  CorrelationEngine(const CorrelationEngine&) = delete;
  CorrelationEngine& operator=(const CorrelationEngine&) = delete;

  // Feeds one match of base rule `rule` on `event` (stream index `index`). Appends the
  // correlation alerts it completes (and those of chained correlations) to `out`; they all belong
  // to the event's tenant.
  void OnRuleMatch(std::uint32_t rule, const event::Event& event, std::uint64_t index, std::vector<Alert>& out);

  // Switches to a new rule set, keeping the state of correlations whose id and fingerprint are
  // unchanged; the state of the others is dropped (counted in dropped_on_restore).
  void Rebind(std::shared_ptr<const RuleSet> rules);

  // Writes / reads the state file. LoadState merges into the current (normally empty) state.
  Status SaveState(const std::string& path) const;
  Status LoadState(const std::string& path);

  const CorrelationCounters& counters() const { return counters_; }
  const RuleSet& rules() const { return *rules_; }

 private:
  struct Entry;
  struct Group;
  struct CorrState;
  void Observe(std::uint32_t corr, Entry entry, const std::string& tenant, std::vector<std::string> key_values,
               std::vector<Alert>& out, int depth);
  void Fire(std::uint32_t corr, Group& g, double value, std::vector<Alert>& out, int depth);
  void Touch(Group& g);
  void RemoveGroup(Group* g);
  void EnforceLimits(Group* keep);
  void ExpireSome();

  std::shared_ptr<const RuleSet> rules_;
  const CorrelationPlan* plan_ = nullptr;
  CorrelationOptions options_;
  std::vector<std::unique_ptr<CorrState>> states_;  // per correlation of plan_
  std::list<Group*> lru_;                           // least recently updated first
  CorrelationCounters counters_;
};

}  // namespace medsoc::detect
