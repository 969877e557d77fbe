#include "assets/packet.h"

#include <cstdio>

namespace medsoc::assets::packet {
namespace {

std::uint16_t Get16(std::span<const std::uint8_t> b, size_t at) {
  return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}
std::uint32_t Get32(std::span<const std::uint8_t> b, size_t at) {
  return std::uint32_t{b[at]} << 24 | std::uint32_t{b[at + 1]} << 16 | std::uint32_t{b[at + 2]} << 8 | b[at + 3];
}
void Put16(std::string& s, std::uint16_t v) {
  s.push_back(static_cast<char>(v >> 8));
  s.push_back(static_cast<char>(v & 0xff));
}
void Put32(std::string& s, std::uint32_t v) {
  Put16(s, static_cast<std::uint16_t>(v >> 16));
  Put16(s, static_cast<std::uint16_t>(v & 0xffff));
}
void Set16(std::string& s, size_t at, std::uint16_t v) {
  s[at] = static_cast<char>(v >> 8);
  s[at + 1] = static_cast<char>(v & 0xff);
}
std::span<const std::uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// The IPv4 header at the start of `b`: its length, or 0 when it is not a well-formed first
// fragment of an IPv4 datagram.
size_t Ipv4HeaderLength(std::span<const std::uint8_t> b) {
  if (b.size() < 20 || (b[0] >> 4) != 4) return 0;
  const size_t ihl = static_cast<size_t>(b[0] & 0x0f) * 4;
  if (ihl < 20 || ihl > b.size()) return 0;
  if ((Get16(b, 6) & 0x1fff) != 0) return 0;  // not the first fragment: no transport header here
  return ihl;
}

}  // namespace

std::uint16_t Checksum(std::span<const std::uint8_t> data, std::uint32_t sum) {
  std::uint64_t s = sum;
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) s += static_cast<std::uint32_t>(data[i] << 8 | data[i + 1]);
  if (i < data.size()) s += static_cast<std::uint32_t>(data[i] << 8);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<std::uint16_t>(~s & 0xffff);
}

std::string BuildTcp(std::uint32_t src, std::uint32_t dst, std::uint16_t sport, std::uint16_t dport, std::uint32_t seq,
                     std::uint32_t ack, std::uint8_t flags) {
  const bool mss = (flags & kSyn) != 0;
  const size_t len = mss ? 24 : 20;
  std::string t;
  t.reserve(len);
  Put16(t, sport);
  Put16(t, dport);
  Put32(t, seq);
  Put32(t, (flags & kAck) ? ack : 0);
  t.push_back(static_cast<char>((len / 4) << 4));
  t.push_back(static_cast<char>(flags));
  Put16(t, 1024);  // window
  Put16(t, 0);     // checksum, below
  Put16(t, 0);     // urgent pointer
  if (mss) {
    t += "\x02\x04";  // kind 2 (MSS), length 4
    Put16(t, 1460);
  }
  std::uint32_t pseudo = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 + static_cast<std::uint32_t>(len);
  Set16(t, 16, Checksum(Bytes(t), pseudo));
  return t;
}

std::string BuildIcmpEcho(std::uint16_t id, std::uint16_t seq, std::string_view payload) {
  std::string m;
  m.push_back(8);  // echo request
  m.push_back(0);
  Put16(m, 0);
  Put16(m, id);
  Put16(m, seq);
  m.append(payload);
  Set16(m, 2, Checksum(Bytes(m)));
  return m;
}

std::string BuildArpRequest(const std::array<std::uint8_t, 6>& src_mac, std::uint32_t src_ip, std::uint32_t target_ip) {
  std::string a;
  Put16(a, 1);       // Ethernet
  Put16(a, 0x0800);  // IPv4
  a.push_back(6);
  a.push_back(4);
  Put16(a, 1);  // request
  for (auto b : src_mac) a.push_back(static_cast<char>(b));
  Put32(a, src_ip);
  a.append(6, '\0');
  Put32(a, target_ip);
  return a;
}

bool ParseIpv4(std::span<const std::uint8_t> b, Reply& out) {
  out = Reply{};
  const size_t ihl = Ipv4HeaderLength(b);
  if (ihl == 0) return false;
  // The datagram may arrive with link padding after total_length, never shorter than it claims.
  const size_t total = Get16(b, 2);
  if (total < ihl || total > b.size()) return false;
  const std::uint8_t proto = b[9];
  out.src = Get32(b, 12);
  out.dst = Get32(b, 16);
  auto p = b.subspan(ihl, total - ihl);
  if (proto == 6) {
    if (p.size() < 20) return false;
    const size_t off = static_cast<size_t>(p[12] >> 4) * 4;
    if (off < 20 || off > p.size()) return false;
    out.kind = ReplyKind::kTcp;
    out.sport = Get16(p, 0);
    out.dport = Get16(p, 2);
    out.seq = Get32(p, 4);
    out.ack = Get32(p, 8);
    out.flags = p[13];
    return true;
  }
  if (proto != 1 || p.size() < 8) return false;
  const std::uint8_t type = p[0];
  if (type == 0) {
    out.kind = ReplyKind::kEchoReply;
    out.icmp_id = Get16(p, 4);
    out.icmp_seq = Get16(p, 6);
    return true;
  }
  if (type != 3 && type != 11) return false;
  // The quoted datagram: its IP header and the first 8 bytes of its payload (the ports). Routers
  // may quote fewer bytes than total_length says, so only the header length is checked here.
  auto q = p.subspan(8);
  const size_t qihl = Ipv4HeaderLength(q);
  if (qihl == 0 || q.size() < qihl + 4) return false;
  out.kind = ReplyKind::kUnreachable;
  out.icmp_code = type == 3 ? p[1] : 0xff;  // time exceeded: a code of its own
  out.orig_proto = q[9];
  out.orig_dst = Get32(q, 16);
  out.orig_sport = Get16(q, qihl);
  out.orig_dport = Get16(q, qihl + 2);
  return true;
}

bool ParseArp(std::span<const std::uint8_t> a, Reply& out) {
  out = Reply{};
  if (a.size() < 28) return false;
  if (Get16(a, 0) != 1 || Get16(a, 2) != 0x0800 || a[4] != 6 || a[5] != 4 || Get16(a, 6) != 2) return false;
  out.kind = ReplyKind::kArpReply;
  for (size_t i = 0; i < 6; ++i) out.mac[i] = a[8 + i];
  out.src = Get32(a, 14);
  out.dst = Get32(a, 24);
  return true;
}

std::string MacToString(const std::array<std::uint8_t, 6>& mac) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  return buf;
}

}  // namespace medsoc::assets::packet
