// Address lists for listeners: allow-lists of sender CIDRs and the sender -> tenant/source map.
//
// Accepted forms: "10.0.0.0/8", "192.168.1.5" (a /32), "2001:db8::/32", "::1". IPv4-mapped IPv6
// senders (::ffff:10.1.2.3, as a dual-stack socket reports them) match IPv4 entries.
//
// Thread-safety: immutable after construction; Contains() is safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace medsoc::ingest {

struct Cidr {
  std::array<std::uint8_t, 16> addr{};  // IPv4 as ::ffff:a.b.c.d
  int prefix = 128;                     // in IPv6 bits (an IPv4 /8 is 104)

  static Result<Cidr> Parse(std::string_view text);
  bool Contains(const std::array<std::uint8_t, 16>& ip) const;
};

// Parses an address (IPv4 or IPv6 text) into the 16-byte form. False when it is not an address.
bool ParseAddress(std::string_view text, std::array<std::uint8_t, 16>& out);

class CidrList {
 public:
  // Errors name the bad entry.
  static Result<CidrList> Parse(const std::vector<std::string>& entries);
  bool empty() const { return cidrs_.empty(); }
  // An empty list contains everything (no restriction).
  bool Allows(const std::array<std::uint8_t, 16>& ip) const;
  // Index of the first entry containing `ip`, or -1.
  int FirstMatch(const std::array<std::uint8_t, 16>& ip) const;

 private:
  std::vector<Cidr> cidrs_;
};

}  // namespace medsoc::ingest
