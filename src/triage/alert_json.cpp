#include "triage/alert_json.h"

#include <optional>
#include <string>
#include <utility>

#include "core/time.h"

namespace medsoc::triage {
namespace {

using nlohmann::json;

Error Invalid(const char* field, const std::string& what) {
  return Error(ErrorCode::kInvalidArgument, std::string(field) + ": " + what);
}

// A member that is absent or null is std::nullopt; any other non-string is an error.
Result<std::optional<std::string>> OptString(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return Invalid(field, "must be a string");
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::vector<std::string>> OptStrings(const json& j, const char* field) {
  std::vector<std::string> out;
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array()) return Invalid(field, "must be an array of strings");
  out.reserve(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& x = (*it)[i];
    if (!x.is_string()) return Invalid(field, "element " + std::to_string(i) + " must be a string");
    out.push_back(x.get<std::string>());
  }
  return out;
}

}  // namespace

Result<AlertInput> ParseAlertInput(const json& j) {
  if (!j.is_object()) return Error(ErrorCode::kInvalidArgument, "an alert must be a JSON object");
  AlertInput a;
  MEDSOC_ASSIGN_OR_RETURN(auto rule_id, OptString(j, "rule_id"));
  if (!rule_id || rule_id->empty()) return Invalid("rule_id", "required (a non-empty string)");
  a.rule_id = std::move(*rule_id);
  MEDSOC_ASSIGN_OR_RETURN(auto title, OptString(j, "rule_title"));
  a.rule_title = title && !title->empty() ? std::move(*title) : a.rule_id;

  MEDSOC_ASSIGN_OR_RETURN(auto source, OptString(j, "source"));
  if (source) {
    auto s = ParseSourceKind(*source);
    if (!s) return Invalid("source", "unknown source '" + *source + "' (sigma, suricata, waf, firewall_ips, antivirus)");
    a.source = *s;
  }
  MEDSOC_ASSIGN_OR_RETURN(auto level, OptString(j, "level"));
  if (level) {
    auto l = ParseLevel(*level);
    if (!l) return Invalid("level", "unknown level '" + *level + "' (informational, low, medium, high, critical)");
    a.level = *l;
  }
  MEDSOC_ASSIGN_OR_RETURN(auto action, OptString(j, "action"));
  if (action) {
    if (*action == "blocked") a.action = SensorAction::kBlocked;
    else if (*action != "detected") return Invalid("action", "must be detected or blocked, not '" + *action + "'");
  }
  for (auto [field, dst] : {std::pair{"attack_technique", &a.attack_technique}, {"attack_tactic", &a.attack_tactic},
                            {"host", &a.host}, {"user", &a.user}, {"src_ip", &a.src_ip}, {"dst_ip", &a.dst_ip},
                            {"asset_id", &a.asset_id}, {"event_id", &a.event_id}}) {
    MEDSOC_ASSIGN_OR_RETURN(auto v, OptString(j, field));
    if (v) *dst = std::move(*v);
  }
  MEDSOC_ASSIGN_OR_RETURN(a.tags, OptStrings(j, "tags"));
  MEDSOC_ASSIGN_OR_RETURN(a.intel_hits, OptStrings(j, "intel_hits"));

  MEDSOC_ASSIGN_OR_RETURN(auto when, OptString(j, "event_time"));
  if (when) {
    auto t = core::ParseRfc3339(*when);
    if (!t.ok()) return Invalid("event_time", t.error().message());
    a.event_time = *t;
  }

  if (auto it = j.find("matched_fields"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return Invalid("matched_fields", "must be an object");
    a.matched_fields.reserve(it->size());
    for (auto m = it->begin(); m != it->end(); ++m)
      a.matched_fields.emplace_back(m.key(), m->is_string() ? m->get<std::string>()
                                                            : m->dump(-1, ' ', false, json::error_handler_t::replace));
  }
  return a;
}

json AlertInputToJson(const AlertInput& a) {
  json j = {{"rule_id", a.rule_id},
            {"rule_title", a.rule_title},
            {"source", SourceKindName(a.source)},
            {"level", LevelName(a.level)},
            {"action", a.action == SensorAction::kBlocked ? "blocked" : "detected"}};
  for (auto [field, v] : {std::pair{"attack_technique", &a.attack_technique}, {"attack_tactic", &a.attack_tactic},
                          {"host", &a.host}, {"user", &a.user}, {"src_ip", &a.src_ip}, {"dst_ip", &a.dst_ip},
                          {"asset_id", &a.asset_id}, {"event_id", &a.event_id}})
    if (!v->empty()) j[field] = *v;
  if (!a.tags.empty()) j["tags"] = a.tags;
  if (!a.intel_hits.empty()) j["intel_hits"] = a.intel_hits;
  if (a.event_time.ns != 0) j["event_time"] = core::FormatRfc3339(a.event_time, 9);
  if (!a.matched_fields.empty()) {
    json m = json::object();
    for (const auto& [k, v] : a.matched_fields) m[k] = v;
    j["matched_fields"] = std::move(m);
  }
  return j;
}

}  // namespace medsoc::triage
