#include "detect/alert.h"

#include <cctype>
#include <cmath>

#include "event/json.h"
#include "event/value.h"

namespace medsoc::detect {
namespace {

std::string Time(core::Timestamp t) {
  char buf[48];
  return std::string(buf, event::FormatTimeCompact(t, buf));
}

bool IsTechnique(std::string_view tag) {  // attack.t1059 / attack.t1059.001
  if (tag.size() < 12 || tag.substr(0, 8) != "attack.t") return false;
  for (std::size_t i = 8; i < 12; ++i)
    if (!std::isdigit(static_cast<unsigned char>(tag[i]))) return false;
  return true;
}

}  // namespace

std::vector<std::string> Alert::AttackTechniques() const {
  std::vector<std::string> out;
  for (const auto& t : tags) {
    if (!IsTechnique(t)) continue;
    std::string id = t.substr(7);
    for (char& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out.push_back(id);
  }
  return out;
}

std::vector<std::string> Alert::AttackTactics() const {
  std::vector<std::string> out;
  for (const auto& t : tags) {
    if (t.rfind("attack.", 0) != 0 || IsTechnique(t)) continue;
    const std::string rest = t.substr(7);
    if (rest.size() > 1 && (rest[0] == 'g' || rest[0] == 's') && std::isdigit(static_cast<unsigned char>(rest[1])))
      continue;  // groups (g0016) and software (s0002)
    out.push_back(rest);
  }
  return out;
}

std::string AlertToJson(const Alert& a) {
  std::string out = "{\"rule_id\":";
  event::AppendJsonString(a.rule_id, out);
  out += ",\"title\":";
  event::AppendJsonString(a.title, out);
  out += ",\"level\":";
  event::AppendJsonString(a.level, out);
  out += ",\"tags\":[";
  for (std::size_t i = 0; i < a.tags.size(); ++i) {
    if (i) out += ',';
    event::AppendJsonString(a.tags[i], out);
  }
  out += "],\"event_index\":" + std::to_string(a.event_index);
  out += ",\"timestamp\":";
  event::AppendJsonString(Time(a.event_time), out);
  out += ",\"matched\":{";
  for (std::size_t i = 0; i < a.matched.size(); ++i) {
    if (i) out += ',';
    event::AppendJsonString(a.matched[i].first, out);
    out += ':';
    event::AppendJsonString(a.matched[i].second, out);
  }
  out += '}';
  if (a.is_correlation()) {
    out += ",\"correlation\":{\"type\":";
    event::AppendJsonString(a.correlation_type, out);
    out += ",\"group\":{";
    for (std::size_t i = 0; i < a.group.size(); ++i) {
      if (i) out += ',';
      event::AppendJsonString(a.group[i].first, out);
      out += ':';
      event::AppendJsonString(a.group[i].second, out);
    }
    out += "},\"value\":";
    // Counts and sums of whole numbers print as integers (12, not 1.2e+01).
    if (a.value == std::floor(a.value) && std::fabs(a.value) < 9e15)
      event::AppendJsonValue(event::Value::Int(static_cast<std::int64_t>(a.value)), out);
    else
      event::AppendJsonValue(event::Value::Float(a.value), out);
    out += ",\"events\":[";
    for (std::size_t i = 0; i < a.events.size(); ++i) {
      if (i) out += ',';
      out += "{\"event_index\":" + std::to_string(a.events[i].event_index) + ",\"timestamp\":";
      event::AppendJsonString(Time(a.events[i].time), out);
      out += ",\"rule_id\":";
      event::AppendJsonString(a.events[i].rule_id, out);
      out += '}';
    }
    out += "]}";
  }
  out += '}';
  return out;
}

}  // namespace medsoc::detect
