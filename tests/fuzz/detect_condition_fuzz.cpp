// Fuzzes the Sigma condition parser (detect/condition.h): any input must parse or fail cleanly,
// and a parsed condition must render and re-parse to the same tree.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "detect/condition.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ast = medsoc::detect::ParseCondition(text);
  if (ast.ok()) {
    const std::string once = medsoc::detect::ConditionToString(**ast);
    auto again = medsoc::detect::ParseCondition(once);
    if (!again.ok() || medsoc::detect::ConditionToString(**again) != once) __builtin_trap();
  }
  (void)medsoc::detect::MatchIdentifierPattern(text.substr(0, size / 2), text.substr(size / 2));
  return 0;
}
