// Raw packets of the privileged scanner (raw_scan.h): probes built byte by byte, and the replies a
// raw socket or a packet socket delivers, parsed without trusting a single length field.
//
// Wire formats (all fields big-endian):
//   IPv4 (RFC 791)   version/IHL(1) tos(1) total_length(2) id(2) flags/fragment(2) ttl(1)
//                    protocol(1) checksum(2) source(4) destination(4) options(IHL*4 - 20)
//   TCP (RFC 9293)   sport(2) dport(2) seq(4) ack(4) data_offset(1, high nibble) flags(1)
//                    window(2) checksum(2) urgent(2) options(data_offset*4 - 20); the checksum
//                    covers a pseudo header: source(4) destination(4) zero(1) protocol 6(1)
//                    tcp_length(2)
//   ICMP (RFC 792)   type(1) code(1) checksum(2), then for echo (8) / echo reply (0): id(2) seq(2)
//                    data; for destination unreachable (3) and time exceeded (11): unused(4), then
//                    the original datagram's IPv4 header and at least its first 8 bytes
//   ARP (RFC 826)    over Ethernet: htype 1(2) ptype 0x0800(2) hlen 6(1) plen 4(1) op(2)
//                    sender_mac(6) sender_ip(4) target_mac(6) target_ip(4); op 1 request, 2 reply
// Addresses and ports in the structs below are in host byte order.
//
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace medsoc::assets::packet {

inline constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;

// The Internet checksum (RFC 1071) of `data`, folded from `sum` (a partial sum, e.g. of a pseudo
// header).
std::uint16_t Checksum(std::span<const std::uint8_t> data, std::uint32_t sum = 0);

// A TCP header (with an MSS option on SYNs, as real stacks send) for a raw IPPROTO_TCP socket,
// checksummed for `src` -> `dst`.
std::string BuildTcp(std::uint32_t src, std::uint32_t dst, std::uint16_t sport, std::uint16_t dport, std::uint32_t seq,
                     std::uint32_t ack, std::uint8_t flags);
// An ICMP echo request for a raw IPPROTO_ICMP socket (the kernel adds the IP header).
std::string BuildIcmpEcho(std::uint16_t id, std::uint16_t seq, std::string_view payload);
// An ARP request for a packet socket of type SOCK_DGRAM (the kernel adds the Ethernet header).
std::string BuildArpRequest(const std::array<std::uint8_t, 6>& src_mac, std::uint32_t src_ip, std::uint32_t target_ip);

enum class ReplyKind { kNone, kTcp, kEchoReply, kUnreachable, kArpReply };

struct Reply {
  ReplyKind kind = ReplyKind::kNone;
  std::uint32_t src = 0;        // IPv4 source of the reply (ARP: sender address)
  std::uint32_t dst = 0;
  // kTcp: the segment's own ports, numbers and flags.
  std::uint16_t sport = 0, dport = 0;
  std::uint32_t seq = 0, ack = 0;
  std::uint8_t flags = 0;
  // kEchoReply: id and sequence.  kUnreachable: code, and the quoted original datagram's protocol,
  // destination and (TCP/UDP) ports.
  std::uint16_t icmp_id = 0, icmp_seq = 0;
  std::uint8_t icmp_code = 0;
  std::uint8_t orig_proto = 0;
  std::uint32_t orig_dst = 0;
  std::uint16_t orig_sport = 0, orig_dport = 0;
  std::array<std::uint8_t, 6> mac{};  // kArpReply: the sender's hardware address
};

// Parses an IPv4 datagram as a raw socket delivers it (IP header first): TCP segments, ICMP echo
// replies and ICMP destination-unreachable / time-exceeded messages. Anything else, truncated or
// malformed input (bad header length, fragments past the first) returns false.
bool ParseIpv4(std::span<const std::uint8_t> datagram, Reply& out);
// Parses an ARP packet (no Ethernet header) as a SOCK_DGRAM packet socket delivers it; true for an
// IPv4-over-Ethernet reply only.
bool ParseArp(std::span<const std::uint8_t> arp, Reply& out);

std::string MacToString(const std::array<std::uint8_t, 6>& mac);

}  // namespace medsoc::assets::packet
