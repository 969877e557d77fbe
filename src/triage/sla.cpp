#include "triage/sla.h"

#include <algorithm>

#include "core/ids.h"

namespace medsoc::triage {

std::array<SlaPolicy, 4> DefaultSlaPolicies() {
  return {{{Severity::kLow, 1440, 2880, 0, 43200, {}},
           {Severity::kMedium, 240, 480, 0, 10080, {}},
           {Severity::kHigh, 30, 120, 480, 2880, {}},
           {Severity::kCritical, 15, 30, 240, 1440, {}}}};
}

std::vector<SlaClock> ComputeSla(const SlaPolicy& p, const SlaInputs& in, core::Timestamp now) {
  const std::pair<const char*, std::pair<int, core::Timestamp>> defs[] = {
      {"acknowledge", {p.ack_minutes, in.acknowledged_at}},
      {"respond", {p.respond_minutes, in.investigating_at}},
      {"onsite", {p.onsite_minutes, in.onsite_at}},
      {"resolve", {p.resolve_minutes, in.resolved_at}},
  };
  const bool paused_now = in.paused_since.ns != 0;
  std::vector<SlaClock> out;
  for (const auto& [name, def] : defs) {
    const auto& [minutes, met] = def;
    if (minutes <= 0) continue;
    SlaClock c;
    c.name = name;
    c.target_minutes = minutes;
    c.met_at = met;
    // Paused time is only known in total; it is attributed to every clock still running during it,
    // which is exact for pauses before the clock was met (the usual case).
    core::Timestamp end = met.ns != 0 ? met : (paused_now ? in.paused_since : now);
    std::int64_t paused = met.ns != 0 ? 0 : in.paused_ns;
    c.elapsed_ns = std::max<std::int64_t>(0, end.ns - in.created_at.ns - paused);
    c.due_at = in.created_at + core::Minutes(minutes) + in.paused_ns + (paused_now ? now.ns - in.paused_since.ns : 0);
    c.breached = c.elapsed_ns > core::Minutes(minutes);
    c.paused = paused_now && met.ns == 0;
    out.push_back(c);
  }
  return out;
}

std::vector<Shift> OnDuty(const std::vector<Shift>& shifts, core::Timestamp at, int tier) {
  std::vector<Shift> out;
  for (const auto& s : shifts)
    if (s.starts_at <= at && at < s.ends_at && (tier == 0 || s.tier == tier)) out.push_back(s);
  std::sort(out.begin(), out.end(), [](const Shift& a, const Shift& b) {
    return a.tier != b.tier ? a.tier < b.tier : a.user_id < b.user_id;
  });
  return out;
}

std::vector<Shift> GenerateRotation(const std::vector<std::pair<std::string, std::string>>& people, int tier,
                                    core::Timestamp start, int days, int shift_hours) {
  std::vector<Shift> out;
  if (people.empty() || shift_hours <= 0 || 24 % shift_hours != 0) return out;
  const int per_day = 24 / shift_hours;
  for (int i = 0; i < days * per_day; ++i) {
    const auto& [user, display] = people[static_cast<std::size_t>(i) % people.size()];
    Shift s;
    s.id = core::NewId();
    s.user_id = user;
    s.display = display;
    s.tier = tier;
    s.starts_at = start + core::Hours(static_cast<std::int64_t>(i) * shift_hours);
    s.ends_at = s.starts_at + core::Hours(shift_hours);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace medsoc::triage
