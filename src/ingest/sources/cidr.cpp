#include "ingest/sources/cidr.h"

#include <arpa/inet.h>

#include <cstring>

namespace medsoc::ingest {

bool ParseAddress(std::string_view text, std::array<std::uint8_t, 16>& out) {
  if (text.empty() || text.size() > 64) return false;
  std::string s(text);
  if (s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out.fill(0);
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return true;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return true;
  }
  return false;
}

Result<Cidr> Cidr::Parse(std::string_view text) {
  Cidr c;
  const std::size_t slash = text.find('/');
  const std::string_view host = text.substr(0, slash);
  if (!ParseAddress(host, c.addr))
    return Error(ErrorCode::kInvalidArgument, "'" + std::string(text) + "' is not an address or CIDR");
  const bool v4 = host.find(':') == std::string_view::npos;
  const int max = v4 ? 32 : 128;
  int prefix = max;
  if (slash != std::string_view::npos) {
    const std::string_view p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3) return Error(ErrorCode::kInvalidArgument, "'" + std::string(text) + "': bad prefix length");
    prefix = 0;
    for (char ch : p) {
      if (ch < '0' || ch > '9') return Error(ErrorCode::kInvalidArgument, "'" + std::string(text) + "': bad prefix length");
      prefix = prefix * 10 + (ch - '0');
    }
    if (prefix > max)
      return Error(ErrorCode::kInvalidArgument, "'" + std::string(text) + "': prefix length above " + std::to_string(max));
  }
  c.prefix = v4 ? prefix + 96 : prefix;
  // Clear host bits so that Contains compares only the network part.
  for (int bit = c.prefix; bit < 128; ++bit) c.addr[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  return c;
}

bool Cidr::Contains(const std::array<std::uint8_t, 16>& ip) const {
  const int full = prefix / 8;
  if (std::memcmp(ip.data(), addr.data(), static_cast<std::size_t>(full)) != 0) return false;
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const std::uint8_t mask = static_cast<std::uint8_t>(0xFF00u >> rest);
  return (ip[full] & mask) == addr[full];
}

Result<CidrList> CidrList::Parse(const std::vector<std::string>& entries) {
  CidrList list;
  for (const auto& e : entries) {
    auto c = Cidr::Parse(e);
    if (!c.ok()) return c.error();
    list.cidrs_.push_back(*c);
  }
  return list;
}

bool CidrList::Allows(const std::array<std::uint8_t, 16>& ip) const { return cidrs_.empty() || FirstMatch(ip) >= 0; }

int CidrList::FirstMatch(const std::array<std::uint8_t, 16>& ip) const {
  for (std::size_t i = 0; i < cidrs_.size(); ++i)
    if (cidrs_[i].Contains(ip)) return static_cast<int>(i);
  return -1;
}

}  // namespace medsoc::ingest
