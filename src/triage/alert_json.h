// The JSON form of an AlertInput, as sensors and adapters post it to POST /api/v1/triage/alerts
// (one element of "alerts"). This is outside input: every field is checked, and an error names
// the field it is about ("level: unknown level 'urgent' ...").
//
//   {
//     "rule_id":          string, required, non-empty   stable rule id ("suricata:2019401", a Sigma UUID)
//     "rule_title":       string                        default: rule_id
//     "source":           "sigma" | "suricata" | "waf" | "firewall_ips" | "antivirus"   default: sigma
//     "level":            "informational" | "low" | "medium" | "high" | "critical"   default: medium
//     "action":           "detected" | "blocked"        default: detected
//     "attack_technique", "attack_tactic", "host", "user", "src_ip", "dst_ip", "asset_id",
//     "event_id":         string
//     "tags", "intel_hits": array of strings
//     "event_time":       RFC 3339 string               default (absent): the time triage receives it
//     "matched_fields":   object; string values kept, other values as their JSON text
//   }
//
// null counts as absent for every field. Unknown members are ignored (adapters may carry more).
//
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "triage/model.h"

namespace medsoc::triage {

// Parses one alert object. tenant_id is left at its default (the API sets it from the caller's scope).
Result<AlertInput> ParseAlertInput(const nlohmann::json& j);

// The inverse: the JSON ParseAlertInput reads back into an equal AlertInput (tenant_id aside; an
// event_time of 0 is left out). Used by tests and tools that replay alerts.
nlohmann::json AlertInputToJson(const AlertInput& a);

}  // namespace medsoc::triage
