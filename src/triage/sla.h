// SLA policies and clocks, and the on-call roster.
//
// Clocks: every incident has up to four clocks that start at its creation: acknowledge (status
// leaves "new"), respond (status reaches "investigating" or later), on-site (an engineer recorded
// arrival) and resolve. Time during which the incident was paused (an explicit pause, e.g. waiting
// for the hospital to power down a device, or a status listed in pause_statuses) does not count.
// Defaults follow the tender: critical acknowledged within 15 minutes, responded within 30, on site
// within 4 hours.
//
// Escalation: a breached clock raises the incident's escalation tier by one (at most max tier) and
// notifies whoever is on duty at that tier.
//
// Thread-safety: pure functions and value types.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "triage/model.h"

namespace medsoc::triage {

struct SlaPolicy {
  Severity severity = Severity::kCritical;
  int ack_minutes = 15;
  int respond_minutes = 30;
  int onsite_minutes = 240;   // 0: no on-site target
  int resolve_minutes = 1440;
  std::vector<IncidentStatus> pause_statuses;  // clocks stand still in these statuses
};

// critical 15/30/240/1440, high 30/120/480/2880, medium 240/480/0/10080, low 1440/2880/0/43200.
std::array<SlaPolicy, 4> DefaultSlaPolicies();

// The times an incident's clocks depend on (0: not yet).
struct SlaInputs {
  core::Timestamp created_at, acknowledged_at, investigating_at, onsite_at, resolved_at;
  std::int64_t paused_ns = 0;     // total paused time so far (closed pauses)
  core::Timestamp paused_since;   // 0: running
};

struct SlaClock {
  std::string name;          // acknowledge, respond, onsite, resolve
  int target_minutes = 0;
  core::Timestamp met_at;    // 0: not met yet
  std::int64_t elapsed_ns = 0;    // running time counted against the target (until met or now)
  core::Timestamp due_at;    // when it breaches if nothing pauses it (created + target + paused)
  bool breached = false;
  bool paused = false;
};

// Clocks with a non-zero target, in the order above.
std::vector<SlaClock> ComputeSla(const SlaPolicy& policy, const SlaInputs& in, core::Timestamp now);

// One duty shift of the roster.
struct Shift {
  std::string id;
  std::string tenant_id;
  std::string user_id;
  std::string display;
  std::string phone;
  int tier = 1;                 // 1 first responder, 2 senior analyst, 3 manager ...
  std::string kind = "regular"; // regular, holiday, protection (重保期 extra staff)
  core::Timestamp starts_at, ends_at;
};

// Shifts covering `at` at `tier` (0: any tier), protection and holiday shifts included.
std::vector<Shift> OnDuty(const std::vector<Shift>& shifts, core::Timestamp at, int tier);

// A 7x24 rotation: `people` take turns in shifts of `shift_hours` starting at `start` for `days`
// days, at `tier`. REQUIRES: !people.empty(), 24 % shift_hours == 0.
std::vector<Shift> GenerateRotation(const std::vector<std::pair<std::string, std::string>>& people, int tier,
                                    core::Timestamp start, int days, int shift_hours);

}  // namespace medsoc::triage
