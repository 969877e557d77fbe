#include "app/detection_stage.h"

#include <map>

#include <spdlog/spdlog.h>

#include "core/strings.h"
#include "event/field.h"

namespace medsoc::app {
namespace {

// Normalized field ids the adapters read, interned once.
struct Fields {
  event::FieldId host = Id("host.name"), user = Id("user.name"), src = Id("source.ip"), dst = Id("destination.ip"),
                 kind = Id("event.kind"), module = Id("event.module"), dataset = Id("event.dataset"),
                 rule_id = Id("rule.id"), rule_name = Id("rule.name"), severity = Id("event.severity"),
                 action = Id("event.action"), outcome = Id("event.outcome"), observer = Id("observer.product");
  static event::FieldId Id(std::string_view name) {
    auto id = event::DefaultFieldTable().Intern(name);
    return id.ok() ? *id : event::FieldId{};
  }
};
const Fields& F() {
  static const Fields kFields;
  return kFields;
}

std::string Text(const event::Event& e, event::FieldId id) {
  const event::Value* v = e.Find(id);
  if (!v) return {};
  event::TextBuffer buf;
  return std::string(v->AsText(buf));
}

std::string StripDomain(std::string user) {
  if (auto p = user.rfind('\\'); p != std::string::npos) user = user.substr(p + 1);
  return user;
}

void FillEntities(triage::AlertInput& in, const event::Event& e) {
  in.tenant_id = e.tenant_id().empty() ? "default" : std::string(e.tenant_id());
  in.host = Text(e, F().host);
  in.user = StripDomain(Text(e, F().user));
  in.src_ip = Text(e, F().src);
  in.dst_ip = Text(e, F().dst);
  in.event_time = e.time();
}

class DetectionStage final : public ingest::TransformStage {
 public:
  explicit DetectionStage(DetectionShared& shared) : shared_(shared) {}
  std::string_view name() const override { return "detect"; }

  Status Process(event::Batch& batch) override {
    if (batch.empty()) return Ok();
    alerts_.clear();
    std::uint64_t first = 0;
    {
      std::lock_guard lock(shared_.mu);
      first = shared_.next_index.fetch_add(batch.size());
      shared_.detector.Process(batch, first, alerts_);
    }
    std::map<std::string, std::vector<triage::AlertInput>> by_tenant;
    for (const detect::Alert& a : alerts_) {
      const event::Event* trigger =
          a.event_index >= first && a.event_index < first + batch.size() ? &batch[a.event_index - first] : nullptr;
      triage::AlertInput in = AlertInputFromSigma(a, trigger);
      by_tenant[in.tenant_id].push_back(std::move(in));
    }
    for (const event::Event& e : batch)
      if (auto in = AlertInputFromEvent(e)) by_tenant[in->tenant_id].push_back(std::move(*in));
    for (auto& [tenant, inputs] : by_tenant) {
      const std::size_t n = inputs.size();
      auto r = shared_.triage.Ingest(store::TenantScope::Of(tenant), std::move(inputs));
      if (!r.ok()) {
        shared_.triage_errors.fetch_add(n);
        spdlog::error("triage: {} alerts of tenant {} not recorded: {}", n, tenant, r.error().ToString());
      } else {
        shared_.alerts.fetch_add(n);
      }
    }
    return Ok();
  }

 private:
  DetectionShared& shared_;
  std::vector<detect::Alert> alerts_;  // reused across batches
};

}  // namespace

ingest::StageFactory MakeDetectionStage(DetectionShared& shared) {
  return [&shared] { return std::make_unique<DetectionStage>(shared); };
}

triage::AlertInput AlertInputFromSigma(const detect::Alert& a, const event::Event* trigger) {
  triage::AlertInput in;
  in.source = triage::SourceKind::kSigma;
  in.rule_id = a.rule_id;
  in.rule_title = a.title;
  in.level = triage::ParseLevel(a.level).value_or(triage::Level::kMedium);
  in.tags = a.tags;
  if (auto t = a.AttackTechniques(); !t.empty()) in.attack_technique = t.front();
  if (auto t = a.AttackTactics(); !t.empty()) in.attack_tactic = t.front();
  in.event_time = a.event_time;
  if (trigger) {
    FillEntities(in, *trigger);
    in.event_time = a.event_time.ns ? a.event_time : trigger->time();
  }
  // A correlation's group-by values name the entity when the last event does not.
  for (const auto& [field, value] : a.group) {
    if (in.user.empty() && (field == "user.name" || field == "TargetUserName" || field == "User")) in.user = StripDomain(value);
    if (in.src_ip.empty() && (field == "source.ip" || field == "IpAddress" || field == "src_ip")) in.src_ip = value;
    if (in.host.empty() && (field == "host.name" || field == "Computer")) in.host = value;
  }
  in.matched_fields = a.matched;
  return in;
}

std::optional<triage::AlertInput> AlertInputFromEvent(const event::Event& e) {
  if (!core::EqualsIgnoreCase(Text(e, F().kind), "alert")) return std::nullopt;
  triage::AlertInput in;
  FillEntities(in, e);
  const std::string module = Text(e, F().module) + " " + Text(e, F().observer) + " " + Text(e, F().dataset);
  auto has = [&](std::string_view word) {
    std::string lower;
    for (char c : module) lower += core::AsciiLower(c);
    return lower.find(word) != std::string::npos;
  };
  std::string prefix = "ips";
  in.source = triage::SourceKind::kFirewallIps;
  if (has("suricata")) {
    in.source = triage::SourceKind::kSuricata;
    prefix = "suricata";
  } else if (has("waf")) {
    in.source = triage::SourceKind::kWaf;
    prefix = "waf";
  } else if (has("antivirus") || has("av")) {
    in.source = triage::SourceKind::kAntivirus;
    prefix = "av";
  }
  const std::string rule = Text(e, F().rule_id);
  in.rule_title = Text(e, F().rule_name);
  in.rule_id = prefix + ":" + (rule.empty() ? in.rule_title : rule);
  if (in.rule_title.empty()) in.rule_title = in.rule_id;
  // Suricata and most IPS: 1 high, 2 medium, 3 low; larger numbers (0-100 scales) by range.
  const std::string sev = Text(e, F().severity);
  long n = sev.empty() ? 2 : std::strtol(sev.c_str(), nullptr, 10);
  in.level = n <= 1 ? triage::Level::kHigh : n == 2 ? triage::Level::kMedium : n <= 4 ? triage::Level::kLow
             : n >= 73 ? triage::Level::kHigh : n >= 47 ? triage::Level::kMedium : triage::Level::kLow;
  const std::string action = Text(e, F().action) + " " + Text(e, F().outcome);
  if (action.find("block") != std::string::npos || action.find("drop") != std::string::npos ||
      action.find("deny") != std::string::npos || action.find("reject") != std::string::npos ||
      action.find("quarantin") != std::string::npos)
    in.action = triage::SensorAction::kBlocked;
  return in;
}

}  // namespace medsoc::app
