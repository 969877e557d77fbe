#include "detect/correlation.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "detect/engine.h"
#include "event/value.h"

namespace medsoc::detect {

using event::FieldSpace;

std::ptrdiff_t CorrelationPlan::Find(std::string_view id_or_name) const {
  for (std::size_t i = 0; i < correlations.size(); ++i)
    if (correlations[i].id == id_or_name || (!correlations[i].name.empty() && correlations[i].name == id_or_name))
      return static_cast<std::ptrdiff_t>(i);
  return -1;
}

namespace {

constexpr int kMaxChainDepth = 16;
constexpr const char* kStateFormat = "medsoc-correlation-state";

std::uint64_t Fnv1a(std::string_view s, std::uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string Num(const std::optional<double>& v) {
  if (!v) return "-";
  std::ostringstream o;
  o.precision(17);
  o << *v;
  return o.str();
}

// a - b, saturated (event times and timespans come from untrusted input).
std::int64_t SatSub(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return b > 0 ? std::numeric_limits<std::int64_t>::min() : std::numeric_limits<std::int64_t>::max();
  return r;
}

const event::Value* Read(const event::Event& e, const FieldPath& path) {
  for (const auto& [id, space] : path)
    if (const event::Value* v = e.Find(id, space); v && !v->is_null()) return v;
  return nullptr;
}

std::string ValueText(const event::Value& v) {
  event::TextBuffer buf;
  return std::string(v.AsText(buf));
}

std::optional<double> ParseNumber(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

}  // namespace

std::string CorrelationFingerprint(const SigmaDocument& doc) {
  const CorrelationSpec& s = *doc.correlation;
  std::string canon = std::string(CorrelationTypeName(s.type)) + "\n";
  for (const auto& r : s.rules) canon += "r:" + r + "\n";
  for (const auto& g : s.group_by) canon += "g:" + g + "\n";
  canon += "t:" + std::to_string(s.timespan_ns) + "\n";
  const auto& c = s.condition;
  canon += "c:" + Num(c.gt) + "," + Num(c.gte) + "," + Num(c.lt) + "," + Num(c.lte) + "," + Num(c.eq) + "," +
           Num(c.neq) + "," + c.field + "," + Num(c.percentile) + "\n";
  canon += std::string("gen:") + (s.generate ? "1" : "0") + "\n";
  for (const auto& [alias, m] : s.aliases)
    for (const auto& [rule, field] : m) canon += "a:" + alias + "/" + rule + "=" + field + "\n";
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(Fnv1a(canon)));
  return hex;
}

std::unique_ptr<CorrelationPlan> CompileCorrelations(const std::vector<SigmaDocument>& docs, const RuleSet& rules,
                                                     const LogsourceMap& logsources, event::FieldTable& table,
                                                     std::vector<Problem>& problems) {
  auto plan = std::make_unique<CorrelationPlan>();
  const std::size_t n = docs.size();
  auto rid = [&](std::size_t i) { return docs[i].id.empty() ? docs[i].title : docs[i].id; };
  std::map<std::string, std::size_t, std::less<>> by_key;
  for (std::size_t i = 0; i < n; ++i) {
    by_key.emplace(rid(i), i);
    if (!docs[i].name.empty()) by_key.emplace(docs[i].name, i);
  }
  // Resolve references: base rule (>= 0), correlation (-(i+1)), unknown.
  std::vector<std::vector<std::ptrdiff_t>> base(n), inner(n);
  std::vector<bool> bad(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    const CorrelationSpec& s = *docs[i].correlation;
    for (const auto& r : s.rules) {
      const std::ptrdiff_t b = rules.Find(r);
      auto it = by_key.find(r);
      if (b >= 0) {
        base[i].push_back(b);
        inner[i].push_back(-1);
      } else if (it != by_key.end()) {
        base[i].push_back(-1);
        inner[i].push_back(static_cast<std::ptrdiff_t>(it->second));
      } else {
        problems.push_back({Severity::kError, s.pos, rid(i),
                            "correlation references '" + r + "', which is not a loaded rule or correlation"});
        bad[i] = true;
      }
    }
  }
  // Cycles: depth-first search over correlation references.
  std::vector<int> color(n, 0);  // 0 new, 1 on stack, 2 done
  std::function<bool(std::size_t)> cyclic = [&](std::size_t i) -> bool {
    if (color[i] == 1) return true;
    if (color[i] == 2) return false;
    color[i] = 1;
    bool found = false;
    for (auto j : inner[i])
      if (j >= 0 && cyclic(static_cast<std::size_t>(j))) found = true;
    color[i] = 2;
    return found;
  };
  for (std::size_t i = 0; i < n; ++i) {
    std::fill(color.begin(), color.end(), 0);
    if (cyclic(i)) {
      problems.push_back({Severity::kError, docs[i].correlation->pos, rid(i),
                          "correlation is part of a reference cycle"});
      bad[i] = true;
    }
  }
  // A correlation over a broken correlation is broken too.
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t i = 0; i < n; ++i) {
      if (bad[i]) continue;
      for (auto j : inner[i])
        if (j >= 0 && bad[static_cast<std::size_t>(j)]) {
          problems.push_back({Severity::kError, docs[i].correlation->pos, rid(i),
                              "correlation references '" + rid(static_cast<std::size_t>(j)) + "', which did not load"});
          bad[i] = changed = true;
          break;
        }
    }
  }
  std::vector<std::ptrdiff_t> plan_index(n, -1);
  for (std::size_t i = 0; i < n; ++i)
    if (!bad[i]) {
      plan_index[i] = static_cast<std::ptrdiff_t>(plan->correlations.size());
      plan->correlations.emplace_back();
    }
  plan->by_rule.resize(rules.size());
  plan->by_correlation.resize(plan->correlations.size());
  std::vector<int> rule_refs(rules.size(), 0), rule_gen(rules.size(), 0);
  std::vector<int> corr_refs(plan->correlations.size(), 0), corr_gen(plan->correlations.size(), 0);

  auto resolve_path = [&](const RuleInfo& info, const std::string& field) {
    FieldPath path;
    for (const auto& ref : logsources.Resolve(logsources.Find(info.logsource), field)) {
      auto id = table.Intern(ref.name);
      if (id.ok()) path.push_back({*id, ref.space});
    }
    return path;
  };

  for (std::size_t i = 0; i < n; ++i) {
    if (bad[i]) continue;
    const SigmaDocument& d = docs[i];
    const CorrelationSpec& s = *d.correlation;
    const auto me = static_cast<std::uint32_t>(plan_index[i]);
    CompiledCorrelation& cc = plan->correlations[me];
    cc.id = rid(i);
    cc.name = d.name;
    cc.title = d.title;
    cc.level = d.level.empty() ? "medium" : d.level;
    cc.status = d.status;
    cc.description = d.description;
    cc.tags = d.tags;
    cc.file = d.file;
    cc.pos = d.pos;
    cc.source_text = d.source_text;
    cc.spec = s;
    cc.fingerprint = CorrelationFingerprint(d);
    // The field a ref's events carry for a correlation field name, after aliases.
    auto field_for = [&](const std::string& name, const std::string& ref_text, const std::string& other_key) {
      auto a = s.aliases.find(name);
      if (a == s.aliases.end()) return name;
      if (auto f = a->second.find(ref_text); f != a->second.end()) return f->second;
      if (auto f = a->second.find(other_key); f != a->second.end()) return f->second;
      return name;
    };
    for (std::size_t k = 0; k < s.rules.size(); ++k) {
      CompiledCorrelation::Ref ref;
      const auto pos = static_cast<std::uint32_t>(k);
      if (base[i][k] >= 0) {
        const auto r = static_cast<std::uint32_t>(base[i][k]);
        const RuleInfo& info = rules.info(r);
        const std::string other = s.rules[k] == info.id ? info.name : info.id;
        ref.index = r;
        for (const auto& g : s.group_by) ref.group_fields.push_back(resolve_path(info, field_for(g, s.rules[k], other)));
        if (!s.condition.field.empty())
          ref.value_field = resolve_path(info, field_for(s.condition.field, s.rules[k], other));
        plan->by_rule[r].push_back({me, pos});
        ++rule_refs[r];
        if (s.generate) ++rule_gen[r];
      } else {
        const auto j = static_cast<std::size_t>(inner[i][k]);
        const auto inner_plan = static_cast<std::uint32_t>(plan_index[j]);
        const CorrelationSpec& is = *docs[j].correlation;
        const std::string other = s.rules[k] == rid(j) ? docs[j].name : rid(j);
        ref.is_correlation = true;
        ref.index = inner_plan;
        auto index_in_inner = [&](const std::string& f) {
          for (std::size_t x = 0; x < is.group_by.size(); ++x)
            if (is.group_by[x] == f) return static_cast<int>(x);
          return -1;
        };
        for (const auto& g : s.group_by) ref.group_from_inner.push_back(index_in_inner(field_for(g, s.rules[k], other)));
        if (!s.condition.field.empty())
          ref.value_from_inner = index_in_inner(field_for(s.condition.field, s.rules[k], other));
        plan->by_correlation[inner_plan].push_back({me, pos});
        ++corr_refs[inner_plan];
        if (s.generate) ++corr_gen[inner_plan];
      }
      cc.refs.push_back(std::move(ref));
    }
  }
  plan->rule_generates.resize(rules.size());
  for (std::size_t r = 0; r < rules.size(); ++r) plan->rule_generates[r] = rule_refs[r] == 0 || rule_gen[r] > 0;
  plan->correlation_generates.resize(plan->correlations.size());
  for (std::size_t c = 0; c < plan->correlations.size(); ++c)
    plan->correlation_generates[c] = corr_refs[c] == 0 || corr_gen[c] > 0;
  plan->enabled = std::make_unique<std::atomic<bool>[]>(plan->correlations.size());
  plan->hits = std::make_unique<std::atomic<std::uint64_t>[]>(plan->correlations.size());
  for (std::size_t c = 0; c < plan->correlations.size(); ++c) plan->enabled[c].store(true);
  return plan;
}

// ---- Engine ---------------------------------------------------------------------------------------

struct CorrelationEngine::Entry {
  std::int64_t t = 0;
  std::uint64_t index = 0;
  std::uint32_t ref = 0;
  bool has_value = false;
  bool numeric = false;
  double number = 0;
  std::string value;
  std::vector<ContributingEvent> inner;  // entries that are alerts of a chained correlation
};

struct CorrelationEngine::Group {
  std::uint32_t corr = 0;
  std::string tenant;
  std::string key;  // tenant and values, separated
  std::vector<std::string> values;  // parallel to group_by
  std::deque<Entry> entries;        // time order (arrival order for equal times)
  std::list<Group*>::iterator lru;
};

struct CorrelationEngine::CorrState {
  std::unordered_map<std::string, std::unique_ptr<Group>> groups;
  bool has_watermark = false;
  std::int64_t watermark = 0;
};

CorrelationEngine::CorrelationEngine(std::shared_ptr<const RuleSet> rules, CorrelationOptions options)
    : options_(options) {
  options_.max_groups = std::max<std::size_t>(1, options_.max_groups);
  options_.max_entries_per_group = std::max<std::size_t>(1, options_.max_entries_per_group);
  Rebind(std::move(rules));
}

CorrelationEngine::~CorrelationEngine() = default;

void CorrelationEngine::Touch(Group& g) { lru_.splice(lru_.end(), lru_, g.lru); }

void CorrelationEngine::RemoveGroup(Group* g) {
  counters_.entries.fetch_sub(g->entries.size(), std::memory_order_relaxed);
  counters_.groups.fetch_sub(1, std::memory_order_relaxed);
  lru_.erase(g->lru);
  auto& groups = states_[g->corr]->groups;
  auto it = groups.find(g->key);
  MEDSOC_ASSERT(it != groups.end());
  groups.erase(it);
}

void CorrelationEngine::EnforceLimits(Group* keep) {
  while (lru_.size() > options_.max_groups && lru_.front() != keep) {
    RemoveGroup(lru_.front());
    counters_.evicted_groups.fetch_add(1, std::memory_order_relaxed);
  }
}

void CorrelationEngine::ExpireSome() {
  // Looks at a few of the least recently updated groups; a group whose newest entry is older than
  // its correlation's watermark minus the timespan can never complete a window again.
  auto it = lru_.begin();
  for (int seen = 0; seen < 8 && it != lru_.end(); ++seen) {
    Group* g = *it++;
    const CorrState& st = *states_[g->corr];
    const std::int64_t span = plan_->correlations[g->corr].spec.timespan_ns;
    if (g->entries.empty() || g->entries.back().t < SatSub(st.watermark, span)) {
      RemoveGroup(g);
      counters_.expired_groups.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void CorrelationEngine::OnRuleMatch(std::uint32_t rule, const event::Event& event, std::uint64_t index,
                                    std::vector<Alert>& out) {
  if (plan_ == nullptr || rule >= plan_->by_rule.size()) return;
  for (const auto& [c, r] : plan_->by_rule[rule]) {
    if (!plan_->enabled_at(c)) continue;
    const CompiledCorrelation::Ref& ref = plan_->correlations[c].refs[r];
    std::vector<std::string> key_values;
    key_values.reserve(ref.group_fields.size());
    bool ok = true;
    for (const auto& path : ref.group_fields) {
      const event::Value* v = Read(event, path);
      if (v == nullptr) {
        ok = false;
        break;
      }
      key_values.push_back(ValueText(*v));
    }
    if (!ok) {
      counters_.missing_group_field.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    Entry e;
    e.t = event.time().ns;
    e.index = index;
    e.ref = r;
    if (!ref.value_field.empty()) {
      if (const event::Value* v = Read(event, ref.value_field)) {
        e.has_value = true;
        e.value = ValueText(*v);
        if (auto f = v->AsFloat(); f && std::isfinite(*f)) {
          e.numeric = true;
          e.number = *f;
        }
      }
    }
    const std::string tenant(event.tenant_id().empty() ? std::string_view("default") : event.tenant_id());
    Observe(c, std::move(e), tenant, std::move(key_values), out, 0);
  }
}

void CorrelationEngine::Observe(std::uint32_t corr, Entry entry, const std::string& tenant,
                                std::vector<std::string> key_values, std::vector<Alert>& out, int depth) {
  counters_.entries_observed.fetch_add(1, std::memory_order_relaxed);
  const CompiledCorrelation& cc = plan_->correlations[corr];
  const CorrelationSpec& spec = cc.spec;
  const std::int64_t span = spec.timespan_ns;
  CorrState& st = *states_[corr];
  if (st.has_watermark && entry.t < SatSub(st.watermark, span)) {
    counters_.late_entries.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (!st.has_watermark || entry.t > st.watermark) st.watermark = entry.t;
  st.has_watermark = true;

  std::string key = tenant + '\x1e';
  for (const auto& v : key_values) {
    key += v;
    key += '\x1f';
  }
  auto& slot = st.groups[key];
  if (!slot) {
    slot = std::make_unique<Group>();
    slot->corr = corr;
    slot->tenant = tenant;
    slot->key = key;
    slot->values = std::move(key_values);
    slot->lru = lru_.insert(lru_.end(), slot.get());
    counters_.groups.fetch_add(1, std::memory_order_relaxed);
  } else {
    Touch(*slot);
  }
  Group& g = *slot;
  EnforceLimits(&g);

  auto at = std::upper_bound(g.entries.begin(), g.entries.end(), entry.t,
                             [](std::int64_t t, const Entry& e) { return t < e.t; });
  g.entries.insert(at, std::move(entry));
  counters_.entries.fetch_add(1, std::memory_order_relaxed);
  if (g.entries.size() > options_.max_entries_per_group) {
    g.entries.pop_front();
    counters_.entries.fetch_sub(1, std::memory_order_relaxed);
    counters_.evicted_entries.fetch_add(1, std::memory_order_relaxed);
  }
  // The window: [newest - timespan, newest], both ends inclusive.
  const std::int64_t oldest_kept = SatSub(g.entries.back().t, span);
  while (!g.entries.empty() && g.entries.front().t < oldest_kept) {
    g.entries.pop_front();
    counters_.entries.fetch_sub(1, std::memory_order_relaxed);
  }

  double value = 0;
  bool have = true;
  switch (spec.type) {
    case CorrelationType::kEventCount:
      value = static_cast<double>(g.entries.size());
      break;
    case CorrelationType::kValueCount: {
      std::unordered_set<std::string_view> distinct;
      for (const auto& e : g.entries)
        if (e.has_value) distinct.insert(e.value);
      value = static_cast<double>(distinct.size());
      break;
    }
    case CorrelationType::kTemporal: {
      std::vector<bool> seen(spec.rules.size(), false);
      for (const auto& e : g.entries) seen[e.ref] = true;
      value = static_cast<double>(std::count(seen.begin(), seen.end(), true));
      break;
    }
    case CorrelationType::kTemporalOrdered: {
      std::size_t next = 0;
      for (const auto& e : g.entries)
        if (next < spec.rules.size() && e.ref == next) ++next;
      value = static_cast<double>(next);
      break;
    }
    case CorrelationType::kValueSum:
    case CorrelationType::kValueAvg:
    case CorrelationType::kValuePercentile: {
      std::vector<double> nums;
      for (const auto& e : g.entries)
        if (e.numeric) nums.push_back(e.number);
      if (nums.empty()) {
        have = false;
        break;
      }
      if (spec.type == CorrelationType::kValuePercentile) {
        std::sort(nums.begin(), nums.end());
        // Nearest rank: the smallest value with at least p% of the values <= it.
        const double rank = std::ceil(spec.condition.percentile / 100.0 * static_cast<double>(nums.size()));
        const std::size_t i = static_cast<std::size_t>(std::clamp(rank, 1.0, static_cast<double>(nums.size()))) - 1;
        value = nums[i];
      } else {
        double sum = 0;
        for (double d : nums) sum += d;
        value = spec.type == CorrelationType::kValueSum ? sum : sum / static_cast<double>(nums.size());
      }
      break;
    }
  }
  if (have && spec.condition.Holds(value)) Fire(corr, g, value, out, depth);
  ExpireSome();
}

void CorrelationEngine::Fire(std::uint32_t corr, Group& g, double value, std::vector<Alert>& out, int depth) {
  const CompiledCorrelation& cc = plan_->correlations[corr];
  Alert a;
  a.rule_id = cc.id;
  a.title = cc.title;
  a.level = cc.level;
  a.status = cc.status;
  a.tags = cc.tags;
  a.event_index = g.entries.back().index;
  a.event_time = core::Timestamp{g.entries.back().t};
  a.correlation_type = std::string(CorrelationTypeName(cc.spec.type));
  for (std::size_t k = 0; k < cc.spec.group_by.size() && k < g.values.size(); ++k)
    a.group.emplace_back(cc.spec.group_by[k], g.values[k]);
  a.value = value;
  for (const auto& e : g.entries) {
    if (!e.inner.empty()) {
      a.events.insert(a.events.end(), e.inner.begin(), e.inner.end());
      continue;
    }
    const auto& ref = cc.refs[e.ref];
    a.events.push_back({e.index, core::Timestamp{e.t}, ref.is_correlation ? cc.spec.rules[e.ref] : rules_->info(ref.index).id});
  }
  std::stable_sort(a.events.begin(), a.events.end(), [](const ContributingEvent& x, const ContributingEvent& y) {
    return std::tie(x.time.ns, x.event_index) < std::tie(y.time.ns, y.event_index);
  });
  if (a.events.size() > Alert::kMaxContributing)
    a.events.erase(a.events.begin(), a.events.end() - static_cast<std::ptrdiff_t>(Alert::kMaxContributing));
  counters_.alerts.fetch_add(1, std::memory_order_relaxed);
  plan_->hits[corr].fetch_add(1, std::memory_order_relaxed);
  const std::string tenant = g.tenant;
  RemoveGroup(&g);  // the entries are consumed: the next alert needs fresh ones
  if (plan_->correlation_generates[corr]) out.push_back(a);
  if (depth >= kMaxChainDepth) return;
  for (const auto& [outer, r] : plan_->by_correlation[corr]) {
    if (!plan_->enabled_at(outer)) continue;
    const CompiledCorrelation::Ref& ref = plan_->correlations[outer].refs[r];
    std::vector<std::string> key_values;
    bool ok = true;
    for (int idx : ref.group_from_inner) {
      if (idx < 0 || static_cast<std::size_t>(idx) >= a.group.size()) {
        ok = false;
        break;
      }
      key_values.push_back(a.group[static_cast<std::size_t>(idx)].second);
    }
    if (!ok) {
      counters_.missing_group_field.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    Entry e;
    e.t = a.event_time.ns;
    e.index = a.event_index;
    e.ref = r;
    e.inner = a.events;
    if (ref.value_from_inner >= 0 && static_cast<std::size_t>(ref.value_from_inner) < a.group.size()) {
      e.has_value = true;
      e.value = a.group[static_cast<std::size_t>(ref.value_from_inner)].second;
      if (auto d = ParseNumber(e.value)) {
        e.numeric = true;
        e.number = *d;
      }
    }
    Observe(outer, std::move(e), tenant, std::move(key_values), out, depth + 1);
  }
}

void CorrelationEngine::Rebind(std::shared_ptr<const RuleSet> rules) {
  const CorrelationPlan* fresh = &rules->correlation_plan();
  std::vector<std::unique_ptr<CorrState>> next(fresh->correlations.size());
  for (std::size_t old = 0; old < states_.size(); ++old) {
    auto& st = states_[old];
    const CompiledCorrelation& oc = plan_->correlations[old];
    const std::ptrdiff_t n = fresh->Find(oc.id);
    if (n >= 0 && fresh->correlations[static_cast<std::size_t>(n)].fingerprint == oc.fingerprint &&
        !next[static_cast<std::size_t>(n)]) {
      for (auto& [k, g] : st->groups) g->corr = static_cast<std::uint32_t>(n);
      next[static_cast<std::size_t>(n)] = std::move(st);
      continue;
    }
    counters_.dropped_on_restore.fetch_add(st->groups.size(), std::memory_order_relaxed);
    for (auto& [k, g] : st->groups) {
      counters_.entries.fetch_sub(g->entries.size(), std::memory_order_relaxed);
      counters_.groups.fetch_sub(1, std::memory_order_relaxed);
      lru_.erase(g->lru);
    }
  }
  for (auto& st : next)
    if (!st) st = std::make_unique<CorrState>();
  states_ = std::move(next);
  rules_ = std::move(rules);  // keeps the plan alive
  plan_ = fresh;
}

// State file (JSON):
//   {"format":"medsoc-correlation-state","version":1,"correlations":[{"id","fingerprint",
//    "watermark","groups":[{"tenant","values":[..],"entries":[{"t","i","r","v"?,"n"?,"inner"?:[[i,t,rule]]}]}]}]}
Status CorrelationEngine::SaveState(const std::string& path) const {
  nlohmann::json doc = {{"format", kStateFormat}, {"version", 1}};
  nlohmann::json list = nlohmann::json::array();
  for (std::size_t c = 0; c < states_.size(); ++c) {
    const CorrState& st = *states_[c];
    if (st.groups.empty()) continue;
    nlohmann::json groups = nlohmann::json::array();
    for (const auto& [k, g] : st.groups) {
      nlohmann::json entries = nlohmann::json::array();
      for (const auto& e : g->entries) {
        nlohmann::json je = {{"t", e.t}, {"i", e.index}, {"r", e.ref}};
        if (e.has_value) je["v"] = e.value;
        if (e.numeric) je["n"] = e.number;
        if (!e.inner.empty()) {
          nlohmann::json inner = nlohmann::json::array();
          for (const auto& ce : e.inner) inner.push_back({ce.event_index, ce.time.ns, ce.rule_id});
          je["inner"] = std::move(inner);
        }
        entries.push_back(std::move(je));
      }
      groups.push_back({{"tenant", g->tenant}, {"values", g->values}, {"entries", std::move(entries)}});
    }
    list.push_back({{"id", plan_->correlations[c].id},
                    {"fingerprint", plan_->correlations[c].fingerprint},
                    {"watermark", st.watermark},
                    {"groups", std::move(groups)}});
  }
  doc["correlations"] = std::move(list);
  const std::string text = doc.dump();

  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error(ErrorCode::kIo, "cannot write " + tmp + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t w = ::write(fd, text.data() + done, text.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      ::close(fd);
      return Error(ErrorCode::kIo, "cannot write " + tmp + ": " + why);
    }
    done += static_cast<std::size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return Error(ErrorCode::kIo, "cannot sync " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return Error(ErrorCode::kIo, "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
  return Ok();
}

Status CorrelationEngine::LoadState(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kNotFound, "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(ss.str());
  } catch (const std::exception& e) {
    return Error(ErrorCode::kCorruption, path + ": " + e.what());
  }
  try {
    if (!doc.is_object() || doc.value("format", "") != kStateFormat || doc.value("version", 0) != 1)
      return Error(ErrorCode::kCorruption, path + ": not a medsoc correlation state file (version 1)");
    for (const auto& jc : doc.at("correlations")) {
      const std::string id = jc.at("id").get<std::string>();
      const std::ptrdiff_t c = plan_->Find(id);
      const auto& groups = jc.at("groups");
      if (c < 0 || plan_->correlations[static_cast<std::size_t>(c)].fingerprint != jc.at("fingerprint").get<std::string>()) {
        counters_.dropped_on_restore.fetch_add(groups.size(), std::memory_order_relaxed);
        continue;
      }
      const auto corr = static_cast<std::uint32_t>(c);
      CorrState& st = *states_[corr];
      const std::int64_t wm = jc.at("watermark").get<std::int64_t>();
      if (!st.has_watermark || wm > st.watermark) st.watermark = wm;
      st.has_watermark = true;
      const std::size_t nrefs = plan_->correlations[corr].refs.size();
      const std::size_t ngroup = plan_->correlations[corr].spec.group_by.size();
      for (const auto& jg : groups) {
        auto g = std::make_unique<Group>();
        g->corr = corr;
        g->tenant = jg.value("tenant", std::string("default"));
        g->values = jg.at("values").get<std::vector<std::string>>();
        if (g->values.size() != ngroup) return Error(ErrorCode::kCorruption, path + ": group of " + id + " has the wrong arity");
        g->key = g->tenant + '\x1e';
        for (const auto& v : g->values) g->key += v + '\x1f';
        for (const auto& je : jg.at("entries")) {
          Entry e;
          e.t = je.at("t").get<std::int64_t>();
          e.index = je.at("i").get<std::uint64_t>();
          e.ref = je.at("r").get<std::uint32_t>();
          if (e.ref >= nrefs) return Error(ErrorCode::kCorruption, path + ": entry of " + id + " names rule #" + std::to_string(e.ref));
          if (je.contains("v")) {
            e.has_value = true;
            e.value = je["v"].get<std::string>();
          }
          if (je.contains("n")) {
            e.numeric = true;
            e.number = je["n"].get<double>();
          }
          if (je.contains("inner"))
            for (const auto& ji : je["inner"])
              e.inner.push_back({ji.at(0).get<std::uint64_t>(), core::Timestamp{ji.at(1).get<std::int64_t>()},
                                 ji.at(2).get<std::string>()});
          g->entries.push_back(std::move(e));
        }
        std::stable_sort(g->entries.begin(), g->entries.end(), [](const Entry& x, const Entry& y) { return x.t < y.t; });
        if (g->entries.empty() || st.groups.count(g->key)) continue;
        counters_.entries.fetch_add(g->entries.size(), std::memory_order_relaxed);
        counters_.groups.fetch_add(1, std::memory_order_relaxed);
        counters_.restored_groups.fetch_add(1, std::memory_order_relaxed);
        g->lru = lru_.insert(lru_.end(), g.get());
        Group* raw = g.get();
        st.groups.emplace(raw->key, std::move(g));
        EnforceLimits(raw);
      }
    }
  } catch (const std::exception& e) {
    return Error(ErrorCode::kCorruption, path + ": " + e.what());
  }
  return Ok();
}

}  // namespace medsoc::detect
