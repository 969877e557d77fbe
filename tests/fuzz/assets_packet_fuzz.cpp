// Fuzzes the reply parsers of the raw-socket scanner (src/assets/packet.h): whatever arrives on a
// raw IPv4 socket (TCP segments, ICMP echo replies and errors quoting a datagram) or a packet
// socket (ARP). The first byte picks the parser; parsers must never read past the input.
#include <cstddef>
#include <cstdint>
#include <span>

#include "assets/packet.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace medsoc::assets::packet;
  if (size == 0) return 0;
  std::span<const std::uint8_t> in(data + 1, size - 1);
  Reply r;
  if (data[0] & 1) {
    if (ParseArp(in, r)) (void)MacToString(r.mac);
  } else {
    ParseIpv4(in, r);
    (void)Checksum(in);
  }
  return 0;
}
