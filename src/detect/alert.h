// Alert: what detection hands to triage (issue 5) and prints in `medsoc detect`.
//
// One Alert per (rule, event) match, or per fired correlation. Contract for consumers:
//  - rule_id is the Sigma `id` (a UUID for SigmaHQ and medsoc rules) or, when a document has no
//    id, its title; title/level/status/tags/logsource are copied from the rule.
//  - level is one of informational, low, medium, high, critical ("medium" when the rule omits it).
//  - tags are the rule's tags as written ("attack.t1059.001", "attack.execution", "cve.2021-44228");
//    AttackTechniques() / AttackTactics() pick the ATT&CK ones out.
//  - event_index is the 0-based position of the matched event in the stream the Detector was fed
//    (for `medsoc detect`: the input order across files); event_time its time.
//  - matched lists the Sigma fields whose values made the rule match, with the event's values as
//    text (first value for multi-valued fields), in rule order, without duplicates. Keyword
//    matches use the pseudo-field "keywords".
//  - A correlation alert has correlation_type set, group (group-by field -> value), value (the
//    count, distinct count, sum, average or percentile that met the condition) and events: the
//    contributing base events (index, time, rule) in time order, at most kMaxContributing of them.
//
// Thread-safety: value type.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/time.h"
#include "detect/rule.h"

namespace medsoc::detect {

struct ContributingEvent {
  std::uint64_t event_index = 0;
  core::Timestamp time;
  std::string rule_id;
};

struct Alert {
  static constexpr std::size_t kMaxContributing = 100;

  std::string rule_id;
  std::string title;
  std::string level;
  std::string status;
  std::vector<std::string> tags;
  Logsource logsource;
  std::uint64_t event_index = 0;
  core::Timestamp event_time;
  std::vector<std::pair<std::string, std::string>> matched;

  // Correlation alerts only.
  std::string correlation_type;  // empty for a single-event alert
  std::vector<std::pair<std::string, std::string>> group;
  double value = 0;
  std::vector<ContributingEvent> events;

  bool is_correlation() const { return !correlation_type.empty(); }
  std::vector<std::string> AttackTechniques() const;  // "T1059.001", from attack.t1059.001
  std::vector<std::string> AttackTactics() const;     // "execution", from attack.execution
};

// The one-line JSON of `medsoc detect`:
// {"rule_id","title","level","tags","event_index","timestamp","matched":{field:value}}
// plus, for correlations, "correlation":{"type","group":{..},"value","events":[{"event_index",
// "timestamp","rule_id"}]}.
std::string AlertToJson(const Alert& alert);

}  // namespace medsoc::detect
