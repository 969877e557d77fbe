#include "assets/packet.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace medsoc::assets::packet {
namespace {

std::span<const std::uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// An IPv4 header (no options) in front of `payload`.
std::string Ip(std::uint8_t proto, const std::string& payload, std::uint32_t src, std::uint32_t dst) {
  std::string h(20, '\0');
  h[0] = 0x45;
  const size_t total = 20 + payload.size();
  h[2] = static_cast<char>(total >> 8);
  h[3] = static_cast<char>(total & 0xff);
  h[8] = 64;
  h[9] = static_cast<char>(proto);
  for (int i = 0; i < 4; ++i) {
    h[12 + i] = static_cast<char>(src >> (24 - 8 * i));
    h[16 + i] = static_cast<char>(dst >> (24 - 8 * i));
  }
  const std::uint16_t c = Checksum(Bytes(h));
  h[10] = static_cast<char>(c >> 8);
  h[11] = static_cast<char>(c & 0xff);
  return h + payload;
}

constexpr std::uint32_t kA = 0x0a00000a, kB = 0x0a000001;

TEST(Packet, ChecksumOfRfc1071Example) {
  const std::vector<std::uint8_t> d = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(Checksum(d), static_cast<std::uint16_t>(~0xddf2 & 0xffff));
}

TEST(Packet, SynRoundTripsWithValidChecksum) {
  const std::string t = BuildTcp(kB, kA, 40000, 104, 0x11223344, 0, kSyn);
  ASSERT_EQ(t.size(), 24u);  // MSS option on SYNs
  // A TCP checksum verifies to zero when summed with the pseudo header.
  const std::uint32_t pseudo = (kB >> 16) + (kB & 0xffff) + (kA >> 16) + (kA & 0xffff) + 6 + 24;
  EXPECT_EQ(Checksum(Bytes(t), pseudo), 0);
  Reply r;
  ASSERT_TRUE(ParseIpv4(Bytes(Ip(6, t, kB, kA)), r));
  EXPECT_EQ(r.kind, ReplyKind::kTcp);
  EXPECT_EQ(r.src, kB);
  EXPECT_EQ(r.dst, kA);
  EXPECT_EQ(r.sport, 40000);
  EXPECT_EQ(r.dport, 104);
  EXPECT_EQ(r.seq, 0x11223344u);
  EXPECT_EQ(r.flags, kSyn);
}

TEST(Packet, AckProbeCarriesAckNumber) {
  const std::string t = BuildTcp(kB, kA, 40000, 80, 7, 0xcafebabe, kAck);
  ASSERT_EQ(t.size(), 20u);
  Reply r;
  ASSERT_TRUE(ParseIpv4(Bytes(Ip(6, t, kB, kA)), r));
  EXPECT_EQ(r.ack, 0xcafebabeu);
  EXPECT_EQ(r.flags, kAck);
}

TEST(Packet, EchoReplyAndUnreachableQuotingOurSyn) {
  std::string echo = BuildIcmpEcho(0x1234, 7, "x");
  EXPECT_EQ(Checksum(Bytes(echo)), 0);
  echo[0] = 0;  // as a reply (checksum no longer matters to the parser)
  Reply r;
  ASSERT_TRUE(ParseIpv4(Bytes(Ip(1, echo, kA, kB)), r));
  EXPECT_EQ(r.kind, ReplyKind::kEchoReply);
  EXPECT_EQ(r.icmp_id, 0x1234);
  EXPECT_EQ(r.icmp_seq, 7);

  const std::string quoted = Ip(6, BuildTcp(kB, kA, 40000, 443, 1, 0, kSyn), kB, kA).substr(0, 28);
  const std::string unreach = std::string("\x03\x0d\x00\x00\x00\x00\x00\x00", 8) + quoted;
  ASSERT_TRUE(ParseIpv4(Bytes(Ip(1, unreach, 0x0a0000fe, kB)), r));
  EXPECT_EQ(r.kind, ReplyKind::kUnreachable);
  EXPECT_EQ(r.icmp_code, 13);
  EXPECT_EQ(r.orig_proto, 6);
  EXPECT_EQ(r.orig_dst, kA);
  EXPECT_EQ(r.orig_sport, 40000);
  EXPECT_EQ(r.orig_dport, 443);
}

TEST(Packet, RejectsMalformed) {
  Reply r;
  const std::string syn = Ip(6, BuildTcp(kB, kA, 1, 2, 3, 0, kSyn), kB, kA);
  EXPECT_FALSE(ParseIpv4(Bytes(syn.substr(0, 30)), r));  // shorter than total_length
  std::string bad_ihl = syn;
  bad_ihl[0] = 0x44;  // IHL 16 bytes
  EXPECT_FALSE(ParseIpv4(Bytes(bad_ihl), r));
  std::string fragment = syn;
  fragment[7] = 8;  // offset 64: no TCP header in this fragment
  EXPECT_FALSE(ParseIpv4(Bytes(fragment), r));
  std::string v6 = syn;
  v6[0] = 0x65;
  EXPECT_FALSE(ParseIpv4(Bytes(v6), r));
  EXPECT_FALSE(ParseIpv4({}, r));
}

TEST(Packet, ArpRequestAndReply) {
  const std::array<std::uint8_t, 6> mac = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
  std::string a = BuildArpRequest(mac, kB, kA);
  ASSERT_EQ(a.size(), 28u);
  Reply r;
  EXPECT_FALSE(ParseArp(Bytes(a), r));  // a request, not a reply
  a[7] = 2;
  ASSERT_TRUE(ParseArp(Bytes(a), r));
  EXPECT_EQ(r.kind, ReplyKind::kArpReply);
  EXPECT_EQ(r.src, kB);
  EXPECT_EQ(r.dst, kA);
  EXPECT_EQ(MacToString(r.mac), "02:aa:bb:cc:dd:ee");
  EXPECT_FALSE(ParseArp(Bytes(a.substr(0, 27)), r));
}

}  // namespace
}  // namespace medsoc::assets::packet
