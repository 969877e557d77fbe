// Fuzzes the alert JSON parser behind POST /api/v1/triage/alerts (triage/alert_json.h): the input
// is parsed as JSON (without exceptions, as the server does) and handed to ParseAlertInput, both as
// the whole value and, for a request body shape {"alerts": [...]}, element by element.
// Properties: nothing throws or crashes; an error names a field or the shape; an accepted alert has
// a non-empty rule id and title, and its JSON form (AlertInputToJson) reads back to the same JSON.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "triage/alert_json.h"

using medsoc::triage::AlertInputToJson;
using medsoc::triage::ParseAlertInput;
using nlohmann::json;

namespace {

void Check(const json& j) {
  auto r = ParseAlertInput(j);
  if (!r.ok()) {
    const std::string& m = r.error().message();
    if (m.empty() || r.error().code() != medsoc::ErrorCode::kInvalidArgument) __builtin_trap();
    // "field: what", or the one shape error.
    if (m.find(": ") == std::string::npos && m != "an alert must be a JSON object") __builtin_trap();
    return;
  }
  if (r->rule_id.empty() || r->rule_title.empty()) __builtin_trap();
  const json once = AlertInputToJson(*r);
  auto again = ParseAlertInput(once);
  if (!again.ok()) __builtin_trap();
  if (AlertInputToJson(*again) != once) __builtin_trap();
  if (again->event_time != r->event_time || again->matched_fields != r->matched_fields) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The server's body parser: no exceptions, nesting bounded by its own limits.
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  Check(j);
  if (j.is_object()) {
    if (auto it = j.find("alerts"); it != j.end() && it->is_array())
      for (const auto& a : *it) Check(a);
  }
  return 0;
}
