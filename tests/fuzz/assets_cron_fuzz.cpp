// Fuzzes the cron expressions of scheduled scans (PUT /api/v1/scan-schedules/{name}: the text
// comes from the network): parsing must report errors, never crash or read out of bounds, and
// the next fire time of anything that parses must be found without hanging.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "assets/cron.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = medsoc::assets::ParseCron(text);
  if (c.ok()) {
    auto next = medsoc::assets::NextFire(*c, medsoc::core::Timestamp::FromSeconds(1'790'000'000));
    if (next && next->ns <= medsoc::core::Timestamp::FromSeconds(1'790'000'000).ns) __builtin_trap();
  }
  return 0;
}
