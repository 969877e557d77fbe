// Fuzzes the reader of detect.placeholders_file (values of Sigma `expand` placeholders): the file
// is configuration, but it is YAML from outside the program and goes through yaml-cpp.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "detect/placeholders.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  medsoc::detect::Placeholders out;
  (void)medsoc::detect::ReadPlaceholders(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yaml", out);
  return 0;
}
