#include "triage/engine.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/ids.h"

namespace medsoc::triage {
namespace {

constexpr double BaseScore(Level l) {
  switch (l) {
    case Level::kInformational: return 5;
    case Level::kLow: return 15;
    case Level::kMedium: return 35;
    case Level::kHigh: return 60;
    case Level::kCritical: return 85;
  }
  return 0;
}

constexpr double CriticalityFactor(int c) {
  switch (c) {
    case 1: return 0.6;
    case 2: return 0.8;
    case 4: return 1.25;
    case 5: return 1.5;
    default: return 1.0;
  }
}

template <typename T>
void AddUnique(std::vector<T>& v, const T& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

std::int64_t LocalDay(core::Timestamp t, int offset_minutes) {
  std::int64_t s = t.seconds() + static_cast<std::int64_t>(offset_minutes) * 60;
  return s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
}

}  // namespace

std::string_view TacticNameZh(std::string_view t) {
  static constexpr std::pair<std::string_view, std::string_view> kNames[] = {
      {"reconnaissance", "侦察"},          {"resource-development", "资源开发"}, {"initial-access", "初始访问"},
      {"execution", "执行"},               {"persistence", "持久化"},            {"privilege-escalation", "权限提升"},
      {"defense-evasion", "防御规避"},     {"credential-access", "凭据访问"},    {"discovery", "发现"},
      {"lateral-movement", "横向移动"},    {"collection", "数据收集"},           {"command-and-control", "命令与控制"},
      {"exfiltration", "数据渗出"},        {"impact", "破坏影响"}};
  for (const auto& [k, v] : kNames)
    if (k == t) return v;
  return t;
}

Engine::Engine(TriageOptions options, const AssetTable* assets, const Policy* policy)
    : options_(options), assets_(assets), policy_(policy) {}

double Engine::Score(const AlertInput& a, const AssetInfo* asset) const {
  double s = BaseScore(a.level) * CriticalityFactor(asset ? asset->criticality : 3);
  if (asset && asset->internet_facing) s *= options_.exposure_factor;
  if (!a.intel_hits.empty()) s *= options_.intel_factor;
  if (a.action == SensorAction::kBlocked) s *= options_.blocked_weight;
  return std::min(100.0, std::round(s * 10) / 10);
}

Engine::Resolved Engine::Resolve(const AlertInput& a) const {
  Resolved r;
  auto add_asset = [&](const AssetInfo* asset) {
    Entity e{EntityKind::kAsset, asset->id, false};
    AddUnique(r.entities, e);
    if (!r.primary) r.primary = asset;
  };
  if (!a.host.empty()) {
    if (const AssetInfo* asset = assets_->ByHost(a.host)) add_asset(asset);
    else AddUnique(r.entities, Entity{EntityKind::kHost, a.host, false});
  }
  if (!a.asset_id.empty()) {
    if (const AssetInfo* asset = assets_->ById(a.asset_id)) add_asset(asset);
    else AddUnique(r.entities, Entity{EntityKind::kAsset, a.asset_id, false});
  }
  if (!a.user.empty()) AddUnique(r.entities, Entity{EntityKind::kUser, a.user, false});
  for (const std::string* ip : {&a.src_ip, &a.dst_ip}) {
    if (ip->empty()) continue;
    if (const AssetInfo* asset = assets_->ByIp(*ip)) {
      // An alert about traffic is about its destination when the source is outside (an attack
      // on the asset), else about its source (the internal machine doing something).
      bool dst = ip == &a.dst_ip;
      if (!r.primary && dst && !a.src_ip.empty() && !IsInternalIp(a.src_ip)) r.primary = asset;
      add_asset(asset);
    } else {
      AddUnique(r.entities, Entity{EntityKind::kIp, *ip, !IsInternalIp(*ip)});
    }
  }
  return r;
}

std::string Engine::DedupKey(const AlertInput& a, const Resolved& r) const {
  // Subject: internal entities, in a fixed order; external addresses do not split the alert (a
  // brute force from 300 addresses on the VPN gateway is one alert).
  std::vector<std::string> keys;
  for (const auto& e : r.entities)
    if (!e.external) keys.push_back(e.Key());
  std::sort(keys.begin(), keys.end());
  std::string key = a.tenant_id;
  key += '\x1f';
  key += SourceKindName(a.source);
  key += '\x1f';
  key += a.rule_id;
  // A blocked attempt and one that got through are different alerts.
  key += a.action == SensorAction::kBlocked ? "\x1f" "blocked" : "\x1f" "detected";
  for (const auto& k : keys) {
    key += '\x1f';
    key += k;
  }
  if (keys.empty()) key += "\x1f" + a.src_ip;
  return key;
}

bool Engine::Joinable(const Incident& inc, core::Timestamp at) const {
  return IsOpen(inc.status) && inc.merged_into.empty() && at.ns - inc.last_seen.ns <= options_.join_window_ns &&
         at.ns - inc.created_at.ns <= options_.max_incident_span_ns;
}

void Engine::Count(const AlertInput& a, bool new_record, bool suppressed) {
  std::int64_t day = LocalDay(a.event_time, options_.utc_offset_minutes);
  auto& c = counters_[day][static_cast<int>(a.source)];
  ++c.alerts_in;
  if (new_record) ++c.alert_records;
  if (suppressed) ++c.suppressed;
  changed_days_.insert(day);
}

void Engine::RaiseSeverity(Incident& inc, Severity s, core::Timestamp at, const std::string& why) {
  if (s <= inc.severity) return;
  timeline_.push_back({inc.id, at, "triage", "severity_changed",
                       std::string(SeverityName(inc.severity)) + " -> " + std::string(SeverityName(s)) + ": " + why});
  inc.severity = s;
}

void Engine::AddToIncident(Incident& inc, AlertRecord& rec, core::Timestamp at, bool record_timeline) {
  if (rec.incident_id == inc.id) return;
  rec.incident_id = inc.id;
  if (rec.status != AlertStatus::kClosed) rec.status = AlertStatus::kInIncident;
  inc.alert_ids.push_back(rec.id);
  inc.event_count += rec.count;
  for (const auto& k : rec.entity_keys) {
    if (k.rfind("ip:", 0) == 0 && !IsInternalIp(k.substr(3))) {
      AddUnique(inc.entity_keys, k);  // external: an observable, not a grouping key
      continue;
    }
    AddUnique(inc.entity_keys, k);
    open_by_entity_[k] = inc.id;
  }
  if (!rec.attack_tactic.empty()) AddUnique(inc.tactics, rec.attack_tactic);
  if (!rec.attack_technique.empty()) AddUnique(inc.techniques, rec.attack_technique);
  if (rec.suppression != SuppressionKind::kMaintenance) {
    inc.score = std::max(inc.score, rec.score);
    RaiseSeverity(inc, SeverityForScore(rec.score), at, "alert " + rec.rule_title);
  }
  inc.first_seen = std::min(inc.first_seen, rec.first_seen);
  inc.last_seen = std::max(inc.last_seen, rec.last_seen);
  inc.updated_at = std::max(inc.updated_at, at);
  if (record_timeline) timeline_.push_back({inc.id, at, "triage", "alert_added", rec.id + " " + rec.rule_title});
  Touch(rec.id);
  TouchIncident(inc.id);
}

void Engine::MergeInto(Incident& target, Incident& other, core::Timestamp at) {
  for (const auto& id : std::vector<std::string>(other.alert_ids)) {
    auto it = alerts_.find(id);
    if (it == alerts_.end()) continue;
    it->second.incident_id.clear();
    AddToIncident(target, it->second, at, false);
  }
  other.alert_ids.clear();
  other.merged_into = target.id;
  other.status = IncidentStatus::kClosed;
  other.updated_at = at;
  RaiseSeverity(target, other.severity, at, "merged " + other.id);
  target.risk = std::max(target.risk, other.risk);
  timeline_.push_back({target.id, at, "triage", "merged", other.id});
  timeline_.push_back({other.id, at, "triage", "merged_into", target.id});
  TouchIncident(target.id);
  TouchIncident(other.id);
}

Incident& Engine::CreateIncident(const AlertRecord& trigger, const Resolved& r, core::Timestamp at, bool by_risk,
                                 double risk) {
  Incident inc;
  inc.id = core::NewId();
  inc.tenant_id = trigger.tenant_id;
  inc.raised_by = by_risk ? "risk" : "alert";
  inc.created_at = at;
  inc.updated_at = at;
  inc.first_seen = trigger.first_seen;
  inc.last_seen = trigger.last_seen;
  inc.source = trigger.source;
  inc.risk = risk;
  std::string subject;
  if (r.primary) subject = r.primary->name.empty() ? r.primary->id : r.primary->name;
  else if (!trigger.user.empty()) subject = trigger.user;
  else if (!r.entities.empty()) subject = r.entities.front().value;
  std::string tactic = trigger.attack_tactic.empty() ? std::string("可疑活动") : std::string(TacticNameZh(trigger.attack_tactic));
  inc.title = by_risk ? subject + " 风险累积 (" + std::to_string(static_cast<int>(risk)) + ") · " + tactic + " · " + trigger.rule_title
                      : subject + " · " + tactic + " · " + trigger.rule_title;
  std::string id = inc.id;
  incident_order_.push_back(id);
  auto [it, inserted] = incidents_.emplace(id, std::move(inc));
  Incident& ref = it->second;
  timeline_.push_back({id, at, "triage", "created",
                       std::string(by_risk ? "entity risk " + std::to_string(static_cast<int>(risk)) + " reached the threshold"
                                           : "alert score reached the threshold") +
                           "; trigger " + trigger.id});
  TouchIncident(id);
  return ref;
}

double Engine::EntityRisk(const std::string& key, core::Timestamp at) {
  auto it = risk_.find(key);
  if (it == risk_.end()) return 0;
  auto& window = it->second;
  while (!window.empty() && at.ns - window.front().at.ns > options_.risk_window_ns) window.pop_front();
  std::vector<std::pair<std::string_view, double>> per_rule;
  std::vector<std::string_view> tactics;
  for (const auto& c : window) {
    if (c.context_only || c.at > at) continue;
    auto r = std::find_if(per_rule.begin(), per_rule.end(), [&](const auto& p) { return p.first == c.rule_id; });
    if (r == per_rule.end()) per_rule.emplace_back(c.rule_id, c.score);
    else r->second = std::max(r->second, c.score);
    if (!c.tactic.empty()) AddUnique(tactics, std::string_view(c.tactic));
  }
  double sum = 0;
  for (const auto& p : per_rule) sum += p.second;
  double mult = std::min(2.5, 1.0 + 0.5 * (tactics.empty() ? 0 : static_cast<double>(tactics.size() - 1)));
  return std::round(sum * mult * 10) / 10;
}

ProcessResult Engine::Process(const AlertInput& a) {
  ProcessResult out;
  const core::Timestamp at = a.event_time;
  Resolved r = Resolve(a);
  PolicyMatch pm = policy_->Match(a, r.primary, at);
  const bool suppressed = pm.kind != SuppressionKind::kNone;
  const double score = Score(a, r.primary);
  out.score = score;
  out.suppression = pm.kind;

  // Dedup.
  std::string key = DedupKey(a, r);
  AlertRecord* rec = nullptr;
  if (auto it = by_dedup_key_.find(key); it != by_dedup_key_.end()) {
    auto ai = alerts_.find(it->second);
    if (ai != alerts_.end()) {
      AlertRecord& prev = ai->second;
      if (at.ns - prev.last_seen.ns <= options_.dedup_window_ns && prev.status != AlertStatus::kClosed &&
          prev.suppression == pm.kind)
        rec = &prev;
    }
  }
  if (rec != nullptr) {
    ++rec->count;
    rec->first_seen = std::min(rec->first_seen, at);
    rec->last_seen = std::max(rec->last_seen, at);
    if (!a.event_id.empty()) rec->last_event_id = a.event_id;
    bool rescored = score > rec->score;
    rec->score = std::max(rec->score, score);
    Touch(rec->id);
    Count(a, false, suppressed);
    out.alert_id = rec->id;
    if (!rec->incident_id.empty()) {
      if (auto inc = incidents_.find(rec->incident_id); inc != incidents_.end()) {
        ++inc->second.event_count;
        inc->second.last_seen = std::max(inc->second.last_seen, at);
        inc->second.updated_at = std::max(inc->second.updated_at, at);
        TouchIncident(inc->first);
        out.incident_id = inc->first;
        if (rescored) {
          inc->second.score = std::max(inc->second.score, rec->score);
          RaiseSeverity(inc->second, SeverityForScore(rec->score), at, "alert " + rec->rule_title + " rescored");
        }
      }
      return out;
    }
    if (!rescored || suppressed) return out;
    // A higher score on an open alert is evaluated like a new alert below.
  } else {
    AlertRecord nr;
    nr.id = core::NewId();
    nr.tenant_id = a.tenant_id;
    nr.dedup_key = key;
    nr.source = a.source;
    nr.rule_id = a.rule_id;
    nr.rule_title = a.rule_title;
    nr.level = a.level;
    nr.attack_technique = a.attack_technique;
    nr.attack_tactic = a.attack_tactic;
    nr.host = a.host;
    nr.user = a.user;
    nr.src_ip = a.src_ip;
    nr.dst_ip = a.dst_ip;
    nr.asset_id = !a.asset_id.empty() ? a.asset_id : (r.primary ? r.primary->id : std::string());
    for (const auto& e : r.entities) nr.entity_keys.push_back(e.Key());
    nr.score = score;
    nr.first_seen = nr.last_seen = at;
    nr.count = 1;
    nr.status = suppressed ? AlertStatus::kSuppressed : AlertStatus::kOpen;
    nr.suppression = pm.kind;
    nr.suppressed_by = pm.id;
    nr.last_event_id = a.event_id;
    nr.matched_fields = a.matched_fields;
    nr.intel_hits = a.intel_hits;
    nr.blocked = a.action == SensorAction::kBlocked;
    std::string id = nr.id;
    by_dedup_key_[key] = id;
    rec = &alerts_.emplace(id, std::move(nr)).first->second;
    Touch(id);
    Count(a, true, suppressed);
    out.alert_id = id;
    out.new_record = true;
  }

  if (suppressed && pm.kind != SuppressionKind::kMaintenance) return out;

  // Grouping entities: internal ones only. A user seen on many assets within the risk window (an
  // administrator, a shared clinical account) still accumulates risk but does not group: it would
  // glue unrelated stories into one catch-all incident.
  std::vector<std::string> join_keys, risk_keys;
  std::vector<std::string> asset_keys;
  for (const auto& e : r.entities)
    if (!e.external && e.kind != EntityKind::kUser) asset_keys.push_back(e.Key());
  for (const auto& e : r.entities) {
    if (e.external) continue;
    std::string k = e.Key();
    risk_keys.push_back(k);
    if (e.kind == EntityKind::kUser && UserFanOut(k, asset_keys, at) > options_.max_user_fanout) continue;
    join_keys.push_back(k);
  }

  // Risk (maintenance-window alerts are context: they join, but add no risk).
  // A blocked attempt from outside (an IPS drop at the perimeter) is the internet's background
  // noise: it is counted and kept, and joins an open incident, but adds no risk and no context.
  const bool context_only = pm.kind == SuppressionKind::kMaintenance;
  const bool inbound_blocked = rec->blocked && !a.src_ip.empty() && !IsInternalIp(a.src_ip);
  double max_risk = 0;
  for (const auto& k : risk_keys) {
    if (inbound_blocked) continue;
    risk_[k].push_back({at, a.rule_id, a.attack_tactic, score, rec->id, context_only});
    if (!context_only) max_risk = std::max(max_risk, EntityRisk(k, at));
  }

  // Join an open incident of any entity; merge still-new ones.
  std::vector<Incident*> open;
  for (const auto& k : join_keys) {
    auto it = open_by_entity_.find(k);
    if (it == open_by_entity_.end()) continue;
    auto inc = incidents_.find(it->second);
    if (inc == incidents_.end() || !Joinable(inc->second, at)) continue;
    if (std::find(open.begin(), open.end(), &inc->second) == open.end()) open.push_back(&inc->second);
  }
  if (!open.empty()) {
    std::sort(open.begin(), open.end(), [](const Incident* x, const Incident* y) {
      return x->created_at != y->created_at ? x->created_at < y->created_at : x->id < y->id;
    });
    Incident& target = *open.front();
    for (std::size_t i = 1; i < open.size(); ++i) {
      if (open[i]->status == IncidentStatus::kNew && open[i]->owner.empty()) {
        MergeInto(target, *open[i], at);
      } else {
        timeline_.push_back({target.id, at, "triage", "related", open[i]->id + " via alert " + rec->id});
        timeline_.push_back({open[i]->id, at, "triage", "related", target.id + " via alert " + rec->id});
      }
    }
    AddToIncident(target, *rec, at, true);
    if (!context_only) {
      target.risk = std::max(target.risk, max_risk);
      if (max_risk >= 2 * options_.risk_threshold) RaiseSeverity(target, Severity::kCritical, at, "entity risk");
      else if (max_risk >= options_.risk_threshold) RaiseSeverity(target, Severity::kHigh, at, "entity risk");
    }
    out.incident_id = target.id;
    return out;
  }
  if (context_only) return out;

  const bool by_alert = !rec->blocked && rec->score >= options_.incident_score;
  const bool by_risk = max_risk >= options_.risk_threshold;
  if (!by_alert && !by_risk) return out;

  Incident& inc = CreateIncident(*rec, r, at, !by_alert, max_risk);
  ++counters_[LocalDay(at, options_.utc_offset_minutes)][static_cast<int>(a.source)].incidents;
  changed_days_.insert(LocalDay(at, options_.utc_offset_minutes));
  // Pull in the entities' pending alerts (oldest first), then the trigger.
  std::vector<std::pair<core::Timestamp, std::string>> pending;
  for (const auto& k : join_keys) {
    auto it = risk_.find(k);
    if (it == risk_.end()) continue;
    for (const auto& c : it->second) {
      if (at.ns - c.at.ns > options_.risk_window_ns || c.alert_id == rec->id) continue;
      auto ai = alerts_.find(c.alert_id);
      if (ai == alerts_.end()) continue;
      if (!ai->second.incident_id.empty()) {
        // The recent tail of an incident that aged out (max_incident_span) while nobody worked on
        // it moves to its continuation, so that a chain spanning the cut stays in one incident.
        auto old = incidents_.find(ai->second.incident_id);
        if (old == incidents_.end() || old->second.status != IncidentStatus::kNew || !old->second.owner.empty() ||
            at.ns - old->second.created_at.ns <= options_.max_incident_span_ns)
          continue;
        pending.emplace_back(c.at, c.alert_id);
        continue;
      }
      if (ai->second.status != AlertStatus::kOpen && ai->second.suppression != SuppressionKind::kMaintenance) continue;
      pending.emplace_back(c.at, c.alert_id);
    }
  }
  std::sort(pending.begin(), pending.end());
  pending.erase(std::unique(pending.begin(), pending.end()), pending.end());
  for (const auto& [t, id] : pending) {
    auto ai = alerts_.find(id);
    if (ai == alerts_.end() || ai->second.incident_id == inc.id) continue;
    if (!ai->second.incident_id.empty()) {
      if (auto old = incidents_.find(ai->second.incident_id); old != incidents_.end()) {
        std::erase(old->second.alert_ids, id);
        old->second.event_count -= ai->second.count;
        timeline_.push_back({old->first, at, "triage", "alert_moved", id + " -> continuation " + inc.id});
        TouchIncident(old->first);
      }
      ai->second.incident_id.clear();
    }
    AddToIncident(inc, ai->second, at, true);
  }
  AddToIncident(inc, *rec, at, true);
  inc.risk = max_risk;
  if (by_risk) {
    RaiseSeverity(inc, max_risk >= 2 * options_.risk_threshold ? Severity::kCritical : Severity::kHigh, at,
                  "entity risk " + std::to_string(static_cast<int>(max_risk)));
  }
  out.incident_id = inc.id;
  out.incident_created = true;
  return out;
}

const AlertRecord* Engine::FindAlert(const std::string& id) const {
  auto it = alerts_.find(id);
  return it == alerts_.end() ? nullptr : &it->second;
}
const Incident* Engine::FindIncident(const std::string& id) const {
  auto it = incidents_.find(id);
  return it == incidents_.end() ? nullptr : &it->second;
}
Incident* Engine::MutableIncident(const std::string& id) {
  auto it = incidents_.find(id);
  return it == incidents_.end() ? nullptr : &it->second;
}

void Engine::OnIncidentStatus(const std::string& incident_id, IncidentStatus status) {
  if (Incident* inc = MutableIncident(incident_id)) inc->status = status;
}

void Engine::Restore(std::vector<AlertRecord> alerts, std::vector<Incident> incidents) {
  std::sort(incidents.begin(), incidents.end(),
            [](const Incident& x, const Incident& y) { return x.created_at < y.created_at; });
  for (auto& inc : incidents) {
    std::string id = inc.id;
    if (IsOpen(inc.status) && inc.merged_into.empty())
      for (const auto& k : inc.entity_keys) open_by_entity_[k] = id;
    incident_order_.push_back(id);
    incidents_[id] = std::move(inc);
  }
  std::sort(alerts.begin(), alerts.end(),
            [](const AlertRecord& x, const AlertRecord& y) { return x.last_seen < y.last_seen; });
  for (auto& rec : alerts) {
    std::string id = rec.id;
    by_dedup_key_[rec.dedup_key] = id;
    if (rec.status == AlertStatus::kOpen || rec.status == AlertStatus::kInIncident ||
        rec.suppression == SuppressionKind::kMaintenance) {
      for (const auto& k : rec.entity_keys) {
        if (k.rfind("ip:", 0) == 0 && !IsInternalIp(k.substr(3))) continue;
        risk_[k].push_back({rec.last_seen, rec.rule_id, rec.attack_tactic, rec.score, id,
                            rec.suppression == SuppressionKind::kMaintenance});
      }
    }
    alerts_[id] = std::move(rec);
  }
}

void Engine::Compact(core::Timestamp now) {
  const std::int64_t horizon =
      std::max({options_.dedup_window_ns, options_.risk_window_ns, options_.join_window_ns, options_.max_incident_span_ns});
  for (auto it = risk_.begin(); it != risk_.end();) {
    auto& w = it->second;
    while (!w.empty() && now.ns - w.front().at.ns > horizon) w.pop_front();
    it = w.empty() ? risk_.erase(it) : std::next(it);
  }
  for (auto it = user_assets_.begin(); it != user_assets_.end();) {
    std::erase_if(it->second, [&](const auto& p) { return now.ns - p.first.ns > options_.risk_window_ns; });
    it = it->second.empty() ? user_assets_.erase(it) : std::next(it);
  }
  for (auto it = alerts_.begin(); it != alerts_.end();) {
    if (now.ns - it->second.last_seen.ns > horizon && !changed_alerts_.contains(it->first)) {
      auto k = by_dedup_key_.find(it->second.dedup_key);
      if (k != by_dedup_key_.end() && k->second == it->first) by_dedup_key_.erase(k);
      it = alerts_.erase(it);
    } else {
      ++it;
    }
  }
  std::vector<std::string> kept;
  for (const auto& id : incident_order_) {
    auto it = incidents_.find(id);
    if (it == incidents_.end()) continue;
    if (now.ns - it->second.last_seen.ns > horizon && now.ns - it->second.updated_at.ns > horizon &&
        !changed_incidents_.contains(id)) {
      incidents_.erase(it);
      continue;
    }
    kept.push_back(id);
  }
  incident_order_ = std::move(kept);
  for (auto it = open_by_entity_.begin(); it != open_by_entity_.end();)
    it = incidents_.contains(it->second) ? std::next(it) : open_by_entity_.erase(it);
}

std::size_t Engine::UserFanOut(const std::string& user_key, const std::vector<std::string>& asset_keys,
                              core::Timestamp at) {
  auto& seen = user_assets_[user_key];
  for (const auto& k : asset_keys) {
    auto it = std::find_if(seen.begin(), seen.end(), [&](const auto& p) { return p.second == k; });
    if (it != seen.end()) it->first = std::max(it->first, at);
    else seen.emplace_back(at, k);
  }
  std::erase_if(seen, [&](const auto& p) { return at.ns - p.first.ns > options_.risk_window_ns; });
  return seen.size();
}

EngineChanges Engine::TakeChanges() {
  EngineChanges c;
  c.alert_ids.assign(changed_alerts_.begin(), changed_alerts_.end());
  c.incident_ids.assign(changed_incidents_.begin(), changed_incidents_.end());
  c.timeline = std::move(timeline_);
  c.days.assign(changed_days_.begin(), changed_days_.end());
  changed_alerts_.clear();
  changed_incidents_.clear();
  changed_days_.clear();
  timeline_.clear();
  return c;
}

}  // namespace medsoc::triage
