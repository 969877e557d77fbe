// The incident report hospitals file after an incident, 《安全事件应急响应与处置报告》, as JSON:
//
//   report_title, generated_at, incident {number, id, title, severity, status}
//   1 summary           事件概述: what, when, severity, status, owner, counts
//   2 timeline          处置时间线: detection, every status change, comment, escalation
//   3 impact            影响范围: affected assets (criticality, zone, exposure), accounts, analyst text
//   4 analysis          分析与溯源: ATT&CK chain (tactic -> techniques), alerts, observables, root cause
//   5 disposal          处置措施: containment/resolution times, SLA clocks, actions from comments
//   6 hardening_advice  加固建议: advice per ATT&CK tactic seen
//   7 review            复盘总结: the post-incident review
//
// The report module renders the same JSON to HTML and PDF when it exists.
//
// Thread-safety: pure function.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "triage/service.h"

namespace medsoc::triage {

nlohmann::json BuildIncidentReport(const IncidentView& incident, const std::vector<AlertRecord>& alerts,
                                   const std::vector<TimelineRow>& timeline, const std::vector<Comment>& comments,
                                   const std::vector<AssetInfo>& assets, const std::vector<SlaClock>& sla);

}  // namespace medsoc::triage
