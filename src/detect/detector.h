// Detector: evaluates batches of events against the current RuleSet, in parallel across cores,
// and turns matches into Alerts (alert.h). The RuleSet can be replaced at any time (hot reload):
// a batch is evaluated entirely against the set that was current when Process began, the next
// batch against the new one, so no event is skipped or evaluated twice.
//
// Correlation rules (correlation.h) are evaluated after the base rules of each batch, in event
// order: a base rule's alert is emitted unless the correlations referencing it say generate:
// false, and a correlation alert follows the alert of the event that completed it. Reload keeps
// the state of correlations whose id and definition are unchanged; SaveCorrelationState /
// LoadCorrelationState persist it across restarts.
//
// Thread-safety: Process is called by one pipeline thread at a time; Reload, rules(),
// SaveCorrelationState, LoadCorrelationState and correlation_counters() may be called from any
// thread concurrently with it.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "detect/alert.h"
#include "detect/correlation.h"
#include "detect/engine.h"
#include "event/batch.h"

namespace medsoc::detect {

// Which tenants see which rules; built by RuleService (rule_store.h) and published with
// Detector::SetTenantFilter. A rule with an owner (a tenant's custom rule) alerts only on that
// tenant's events; a rule a tenant disabled does not alert on (nor feed correlations from) that
// tenant's events. Events without a tenant count as tenant "default". Immutable once published.
struct TenantRuleFilter {
  std::unordered_map<std::string, std::string> owner;                         // rule id -> tenant
  std::unordered_map<std::string, std::unordered_set<std::string>> disabled;  // rule id -> tenants
  bool Allows(const std::string& rule_id, std::string_view tenant) const;
  bool empty() const { return owner.empty() && disabled.empty(); }
};

struct DetectorOptions {
  int threads = 0;                 // worker threads per batch; 0: hardware concurrency
  CorrelationOptions correlation;  // state limits of the correlation engine
};

class Detector {
 public:
  Detector(std::shared_ptr<RuleSet> rules, DetectorOptions options = {});
  ~Detector();

  // Evaluates every event of `batch` (event i has stream index first_index + i) and appends the
  // alerts in event order, and for one event in rule order.
  void Process(const event::Batch& batch, std::uint64_t first_index, std::vector<Alert>& out);

  // Replaces the rule set; takes effect from the next Process call. Per-rule statistics restart
  // with the new set; enabled flags (of rules and correlations) are carried over by id.
  void Reload(std::shared_ptr<RuleSet> rules);
  std::shared_ptr<RuleSet> rules() const;
  // Replaces the tenant filter (nullptr: every rule for every tenant); from the next batch.
  void SetTenantFilter(std::shared_ptr<const TenantRuleFilter> filter);

  // Correlation state file (correlation.h, "Persistence"). LoadCorrelationState returns
  // kNotFound when the file does not exist (a first start).
  Status SaveCorrelationState(const std::string& path) const;
  Status LoadCorrelationState(const std::string& path);
  const CorrelationCounters& correlation_counters() const { return correlation_->counters(); }

  std::uint64_t events_processed() const { return events_; }

 private:
  struct Worker;
  mutable std::mutex mu_;
  mutable std::mutex corr_mu_;  // guards correlation_ (Process vs. Save/Load)
  std::shared_ptr<RuleSet> rules_;
  std::shared_ptr<const TenantRuleFilter> filter_;
  DetectorOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::shared_ptr<RuleSet> workers_rules_;
  std::uint64_t events_ = 0;
  std::unique_ptr<CorrelationEngine> correlation_;  // after rules_: built from it
};

// Builds the Alert for `rule` matching `event` (explained by `matcher`).
Alert MakeAlert(const RuleSet& rules, std::uint32_t rule, const event::Event& event, std::uint64_t index,
                Matcher& matcher);

}  // namespace medsoc::detect
