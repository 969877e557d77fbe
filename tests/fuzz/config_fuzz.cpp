// Fuzzes the configuration loader (core/config.cpp) with arbitrary bytes as medsoc.yaml.
// Properties checked: no crash, no sanitizer report, no exception escapes, and CheckConfig and
// LoadConfigString agree on whether the input is valid.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view yaml(reinterpret_cast<const char*>(data), size);
  auto problems = medsoc::core::CheckConfig(yaml, "fuzz.yaml");
  auto loaded = medsoc::core::LoadConfigString(yaml, "fuzz.yaml");
  if (problems.empty() != loaded.ok()) std::abort();
  for (const auto& p : problems) {
    if (p.message().empty()) std::abort();  // every problem says what is wrong
    (void)p.ToString();
  }
  return 0;
}
