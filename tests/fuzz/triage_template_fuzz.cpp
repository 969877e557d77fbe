// Fuzzes the notification template parser and renderer (triage/notify/template.h): any input must
// parse or report errors with positions inside the text, and rendering with JSON escaping must keep
// a JSON string literal valid.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "triage/notify/channel.h"
#include "triage/notify/template.h"

using namespace medsoc::triage::notify;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<TemplateError> errors;
  Template t = Template::Parse(text, errors, &TemplateVariables(), {"secret."});
  if (errors.size() > kMaxErrors) __builtin_trap();
  for (const auto& e : errors)
    if (e.line < 1 || e.column < 1) __builtin_trap();
  if (!errors.empty()) return 0;
  TemplateVars vars;
  for (const auto& p : t.Paths()) vars[p] = std::string(text.substr(0, 64));
  (void)t.Render(vars, Escape::kJson);
  (void)t.Render(vars, Escape::kUrl);
  // Any value JSON-escaped into a string literal keeps it a valid JSON string (when it is UTF-8).
  Template only = Template::Parse("{{incident.title}}", errors);
  const TemplateVars v = {{"incident.title", std::string(text)}};
  const std::string literal = "\"" + only.Render(v, Escape::kJson) + "\"";
  if (!nlohmann::json::accept(literal)) {
    // Invalid UTF-8 in the value is rejected by the JSON parser, not by our escaping.
    bool ascii = true;
    for (unsigned char c : text) ascii = ascii && c < 0x80;
    if (ascii) __builtin_trap();
  }
  return 0;
}
