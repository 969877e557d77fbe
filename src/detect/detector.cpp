#include "detect/detector.h"

#include <algorithm>
#include <thread>

namespace medsoc::detect {

struct Detector::Worker {
  explicit Worker(std::shared_ptr<const RuleSet> r) : matcher(std::move(r)) {}
  Matcher matcher;
  std::vector<std::uint32_t> hits;
  struct Hit {
    std::size_t pos;  // event position in the batch
    std::uint32_t rule;
    Alert alert;
  };
  std::vector<Hit> alerts;
};

Alert MakeAlert(const RuleSet& rules, std::uint32_t rule, const event::Event& event, std::uint64_t index,
                Matcher& matcher) {
  const RuleInfo& info = rules.info(rule);
  Alert a;
  a.rule_id = info.id;
  a.title = info.title;
  a.level = info.level;
  a.status = info.status;
  a.tags = info.tags;
  a.logsource = info.logsource;
  a.event_index = index;
  a.event_time = event.time();
  a.matched = matcher.Explain(event, rule);
  return a;
}

bool TenantRuleFilter::Allows(const std::string& rule_id, std::string_view tenant) const {
  if (tenant.empty()) tenant = "default";
  if (auto o = owner.find(rule_id); o != owner.end() && o->second != tenant) return false;
  if (auto d = disabled.find(rule_id); d != disabled.end() && d->second.count(std::string(tenant))) return false;
  return true;
}

void Detector::SetTenantFilter(std::shared_ptr<const TenantRuleFilter> filter) {
  std::lock_guard lock(mu_);
  filter_ = std::move(filter);
}

Detector::Detector(std::shared_ptr<RuleSet> rules, DetectorOptions options)
    : rules_(std::move(rules)),
      options_(options),
      correlation_(std::make_unique<CorrelationEngine>(rules_, options.correlation)) {}
Detector::~Detector() = default;

std::shared_ptr<RuleSet> Detector::rules() const {
  std::lock_guard lock(mu_);
  return rules_;
}

void Detector::Reload(std::shared_ptr<RuleSet> fresh) {
  std::lock_guard lock(mu_);
  for (std::size_t r = 0; r < rules_->size(); ++r) {
    if (rules_->enabled(r)) continue;
    const auto idx = fresh->Find(rules_->info(r).id);
    if (idx >= 0) fresh->set_enabled(static_cast<std::size_t>(idx), false);
  }
  const CorrelationPlan& old_plan = rules_->correlation_plan();
  const CorrelationPlan& new_plan = fresh->correlation_plan();
  for (std::size_t c = 0; c < old_plan.correlations.size(); ++c) {
    if (old_plan.enabled_at(c)) continue;
    const auto idx = new_plan.Find(old_plan.correlations[c].id);
    if (idx >= 0) new_plan.enabled[static_cast<std::size_t>(idx)].store(false);
  }
  rules_ = std::move(fresh);
}

void Detector::Process(const event::Batch& batch, std::uint64_t first_index, std::vector<Alert>& out) {
  std::shared_ptr<RuleSet> rules;
  std::shared_ptr<const TenantRuleFilter> filter;
  {
    std::lock_guard lock(mu_);
    rules = rules_;
    filter = filter_;
  }
  if (filter && filter->empty()) filter.reset();
  if (workers_rules_ != rules) {
    for (auto& w : workers_) w->matcher.FlushStats();
    workers_.clear();
    workers_rules_ = rules;
  }
  const int want = options_.threads > 0 ? options_.threads
                                        : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // Small batches are not worth a thread each.
  const int n = std::max(1, std::min<int>(want, static_cast<int>(batch.size() / 64) + 1));
  while (static_cast<int>(workers_.size()) < n) workers_.push_back(std::make_unique<Worker>(rules));
  auto run = [&](int t) {
    Worker& w = *workers_[t];
    w.alerts.clear();
    const std::size_t begin = batch.size() * t / n, end = batch.size() * (t + 1) / n;
    for (std::size_t i = begin; i < end; ++i) {
      w.hits.clear();
      w.matcher.Match(batch[i], w.hits);
      for (std::uint32_t r : w.hits) w.alerts.push_back({i, r, MakeAlert(*rules, r, batch[i], first_index + i, w.matcher)});
    }
    w.matcher.FlushStats();
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < n; ++t) pool.emplace_back(run, t);
  run(0);
  for (auto& th : pool) th.join();
  // Workers hold consecutive ranges, so this visits the matches in event order.
  std::lock_guard lock(corr_mu_);
  if (&correlation_->rules() != rules.get()) correlation_->Rebind(rules);
  const CorrelationPlan& plan = rules->correlation_plan();
  for (int t = 0; t < n; ++t)
    for (auto& h : workers_[t]->alerts) {
      const event::Event& e = batch[h.pos];
      if (filter && !filter->Allows(h.alert.rule_id, e.tenant_id())) continue;
      const bool correlated = !plan.by_rule[h.rule].empty();
      if (plan.rule_generates[h.rule]) out.push_back(std::move(h.alert));
      if (!correlated) continue;
      const std::size_t before = out.size();
      correlation_->OnRuleMatch(h.rule, e, first_index + h.pos, out);
      if (filter)
        out.erase(std::remove_if(out.begin() + static_cast<std::ptrdiff_t>(before), out.end(),
                                 [&](const Alert& a) { return !filter->Allows(a.rule_id, e.tenant_id()); }),
                  out.end());
    }
  events_ += batch.size();
}

Status Detector::SaveCorrelationState(const std::string& path) const {
  std::lock_guard lock(corr_mu_);
  return correlation_->SaveState(path);
}

Status Detector::LoadCorrelationState(const std::string& path) {
  std::lock_guard lock(corr_mu_);
  // Load against the newest rule set, so that the state is matched with what will run next.
  std::shared_ptr<RuleSet> current = rules();
  if (&correlation_->rules() != current.get()) correlation_->Rebind(current);
  return correlation_->LoadState(path);
}

}  // namespace medsoc::detect
