#include "assets/raw_scan.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netpacket/packet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <map>
#include <queue>
#include <random>
#include <unordered_map>

#include "assets/packet.h"

namespace medsoc::assets {
namespace {

std::int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Bucket {
  double rate = 0;  // per second; 0: unlimited
  double tokens = 0;
  std::int64_t last_us = 0;
  bool Take(std::int64_t now) {
    if (rate <= 0) return true;
    if (last_us == 0) {
      last_us = now;
      tokens = 1;
    }
    tokens = std::min(std::max(1.0, rate / 50.0), tokens + static_cast<double>(now - last_us) * rate / 1e6);
    last_us = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }
};

enum class Kind : std::uint8_t { kSyn, kAck, kEcho, kArp };

struct ProbeSpec {
  Kind kind;
  std::uint16_t port = 0;
};

// Where a target is reached from: the source address the kernel would pick and, for a target on a
// directly attached Ethernet segment, the interface and its hardware address (for ARP).
struct Route {
  std::uint32_t src = 0;
  int ifindex = 0;  // 0: not on a local Ethernet segment
  std::array<std::uint8_t, 6> mac{};
};

struct LocalIf {
  std::string name;
  std::uint32_t addr = 0, mask = 0;
  int ifindex = 0;
  std::array<std::uint8_t, 6> mac{};
  bool ether = false;
};

std::vector<LocalIf> LocalInterfaces() {
  std::vector<LocalIf> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  std::map<std::string, std::pair<std::array<std::uint8_t, 6>, bool>> hw;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || !(i->ifa_flags & IFF_UP)) continue;
    if (i->ifa_addr->sa_family == AF_PACKET) {
      const auto* ll = reinterpret_cast<const sockaddr_ll*>(i->ifa_addr);
      std::array<std::uint8_t, 6> mac{};
      if (ll->sll_halen == 6) std::memcpy(mac.data(), ll->sll_addr, 6);
      hw[i->ifa_name] = {mac, ll->sll_hatype == ARPHRD_ETHER && ll->sll_halen == 6};
    }
  }
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || !i->ifa_netmask || i->ifa_addr->sa_family != AF_INET) continue;
    if (!(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK)) continue;
    LocalIf l;
    l.name = i->ifa_name;
    l.addr = ntohl(reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr);
    l.mask = ntohl(reinterpret_cast<const sockaddr_in*>(i->ifa_netmask)->sin_addr.s_addr);
    l.ifindex = static_cast<int>(if_nametoindex(i->ifa_name));
    if (auto it = hw.find(l.name); it != hw.end()) {
      l.mac = it->second.first;
      l.ether = it->second.second;
    }
    out.push_back(l);
  }
  freeifaddrs(list);
  return out;
}

// <linux/icmp.h> clashes with <net/if.h>: its raw-socket ICMP type filter, restated.
constexpr int kIcmpFilter = 1;  // ICMP_FILTER at level SOL_RAW: a bit set per type drops that type
struct IcmpFilter {
  std::uint32_t data;
};
constexpr int kEchoReply = 0, kDestUnreach = 3, kTimeExceeded = 11;

sockaddr_in Sin(std::uint32_t ip, std::uint16_t port = 0) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(ip);
  a.sin_port = htons(port);
  return a;
}

}  // namespace

bool RawSocketsAvailable() {
  int fd = ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

struct RawScanner::Impl {
  RawScanOptions opt;
  int tcp_fd = -1, icmp_fd = -1, arp_fd = -1, reserve_fd = -1;
  std::uint16_t sport = 0;
  std::uint16_t echo_id = 0;
  std::uint64_t key0 = 0, key1 = 0;
  RawStats stats;
  std::vector<LocalIf> ifs;
  int route_fd = -1;

  // Per scan phase.
  struct HostState {
    Route route;
    bool routed = false;
    size_t cursor = 0;
    std::deque<std::pair<std::uint32_t, int>> retry;  // (plan index, attempt)
    int in_flight = 0;
    Bucket fragile;
    bool stop = false;  // discovery: answered, nothing more to send
  };
  struct Outstanding {
    std::int64_t sent_us = 0;
    int attempt = 0;
  };
  std::vector<RawHost>* hosts = nullptr;
  std::vector<HostState> state;
  std::vector<ProbeSpec> plan;
  bool discovery = false;
  std::unordered_map<std::uint32_t, size_t> by_ip;
  std::unordered_map<std::uint64_t, Outstanding> outstanding;  // host << 20 | plan index
  using Deadline = std::tuple<std::int64_t, std::uint64_t, std::int64_t>;  // deadline, key, sent_us
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines;
  std::vector<std::int32_t> syn_index, ack_index;  // port -> plan index
  std::int32_t echo_index = -1, arp_index = -1;
  Bucket global;
  std::map<std::uint32_t, Bucket> subnet;

  ~Impl() {
    for (int fd : {tcp_fd, icmp_fd, arp_fd, reserve_fd, route_fd})
      if (fd >= 0) ::close(fd);
  }

  // A keyed mix of (address, port, kind): the sequence number of a probe.
  std::uint32_t Cookie(std::uint32_t ip, std::uint16_t port, Kind kind) const {
    std::uint64_t x = (std::uint64_t{ip} << 24 | std::uint64_t{port} << 8 | static_cast<std::uint8_t>(kind)) ^ key0;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= key1;
    x ^= x >> 29;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 32;
    return static_cast<std::uint32_t>(x);
  }

  Route RouteTo(std::uint32_t ip) {
    Route r;
    sockaddr_in a = Sin(ip, 9);
    if (::connect(route_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      sockaddr_in local{};
      socklen_t len = sizeof local;
      if (getsockname(route_fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) r.src = ntohl(local.sin_addr.s_addr);
    }
    for (const auto& l : ifs)
      if (l.ether && l.addr == r.src && (l.addr & l.mask) == (ip & l.mask) && ip != l.addr) {
        r.ifindex = l.ifindex;
        r.mac = l.mac;
      }
    return r;
  }

  std::int64_t TimeoutUs(const RawHost& h) const {
    const std::int64_t max_us = std::int64_t{opt.timeout_ms} * 1000;
    const std::int64_t min_us = std::int64_t{opt.min_timeout_ms} * 1000;
    if (h.samples == 0) return max_us;
    return std::clamp(static_cast<std::int64_t>(h.srtt_us + 4 * h.rttvar_us), min_us, max_us);
  }

  static void Sample(RawHost& h, std::int64_t rtt) {
    if (h.samples == 0) {
      h.srtt_us = static_cast<double>(rtt);
      h.rttvar_us = static_cast<double>(rtt) / 2;
    } else {
      const double err = static_cast<double>(rtt) - h.srtt_us;
      h.srtt_us += err / 8;
      h.rttvar_us += (std::abs(err) - h.rttvar_us) / 4;
    }
    ++h.samples;
  }

  bool HasWork(size_t hi) const {
    const HostState& s = state[hi];
    if (s.stop || (*hosts)[hi].unreachable) return false;
    return !s.retry.empty() || s.cursor < plan.size();
  }

  bool Admit(size_t hi, std::int64_t now) {
    RawHost& h = (*hosts)[hi];
    HostState& s = state[hi];
    if (h.fragile) {
      if (s.in_flight > 0) return false;
      s.fragile.rate = std::max(1, opt.fragile_rate);
      if (!s.fragile.Take(now)) return false;
    }
    if (opt.subnet_rate > 0) {
      const int prefix = std::clamp(opt.subnet_prefix, 0, 32);
      const std::uint32_t key = prefix == 0 ? 0 : h.ip & (~std::uint32_t{0} << (32 - prefix));
      Bucket& b = subnet[key];
      b.rate = opt.subnet_rate;
      if (!b.Take(now)) return false;
    }
    return global.Take(now);
  }

  // Sends the host's next probe. False when the kernel has no buffer for it right now.
  bool SendNext(size_t hi, std::int64_t now) {
    RawHost& h = (*hosts)[hi];
    HostState& s = state[hi];
    std::uint32_t idx;
    int attempt = 0;
    if (!s.retry.empty()) {
      idx = s.retry.front().first;
      attempt = s.retry.front().second;
      s.retry.pop_front();
    } else {
      idx = static_cast<std::uint32_t>(s.cursor++);
    }
    if (!s.routed) {
      s.route = RouteTo(h.ip);
      s.routed = true;
    }
    const ProbeSpec& p = plan[idx];
    ssize_t rc = 0;
    sockaddr_in dst = Sin(h.ip);
    switch (p.kind) {
      case Kind::kArp: {
        if (s.route.ifindex == 0 || arp_fd < 0) return true;  // not on a local segment: no ARP
        std::string a = packet::BuildArpRequest(s.route.mac, s.route.src, h.ip);
        sockaddr_ll ll{};
        ll.sll_family = AF_PACKET;
        ll.sll_protocol = htons(ETH_P_ARP);
        ll.sll_ifindex = s.route.ifindex;
        ll.sll_halen = 6;
        std::memset(ll.sll_addr, 0xff, 6);
        rc = ::sendto(arp_fd, a.data(), a.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&ll), sizeof ll);
        ++stats.arp;
        break;
      }
      case Kind::kEcho: {
        std::string m = packet::BuildIcmpEcho(echo_id, static_cast<std::uint16_t>(hi), "medsoc-discovery");
        rc = ::sendto(icmp_fd, m.data(), m.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&dst), sizeof dst);
        break;
      }
      case Kind::kSyn: {
        std::string t = packet::BuildTcp(s.route.src, h.ip, sport, p.port, Cookie(h.ip, p.port, Kind::kSyn), 0,
                                         packet::kSyn);
        rc = ::sendto(tcp_fd, t.data(), t.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&dst), sizeof dst);
        break;
      }
      case Kind::kAck: {
        std::string t = packet::BuildTcp(s.route.src, h.ip, sport, p.port, Cookie(h.ip, p.port, Kind::kSyn) ^ 0x5a5a5a5a,
                                         Cookie(h.ip, p.port, Kind::kAck), packet::kAck);
        rc = ::sendto(tcp_fd, t.data(), t.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&dst), sizeof dst);
        break;
      }
    }
    if (rc < 0) {
      if (errno == ENOBUFS || errno == EAGAIN || errno == EWOULDBLOCK) {
        s.retry.emplace_front(idx, attempt);
        return false;
      }
      // Unroutable and the like: the kernel already knows the host cannot be reached.
      if (errno == EHOSTUNREACH || errno == ENETUNREACH || errno == EHOSTDOWN) {
        if (!h.up) h.unreachable = true;
      }
      return true;
    }
    ++stats.sent;
    const std::uint64_t key = std::uint64_t{hi} << 20 | idx;
    outstanding[key] = {now, attempt};
    ++s.in_flight;
    deadlines.emplace(now + TimeoutUs(h), key, now);
    return true;
  }

  void MarkUp(size_t hi, const char* reason) {
    RawHost& h = (*hosts)[hi];
    h.unreachable = false;
    if (!h.up) {
      h.up = true;
      h.reason = reason;
    }
    if (discovery) {
      state[hi].stop = true;  // one answer is enough
      state[hi].retry.clear();
    }
  }

  // Settles an outstanding probe; false when it was not outstanding (late or duplicate answer).
  bool Settle(size_t hi, std::int32_t idx, bool sample) {
    if (idx < 0) return false;
    auto it = outstanding.find(std::uint64_t{hi} << 20 | static_cast<std::uint32_t>(idx));
    if (it == outstanding.end()) return false;
    if (sample && it->second.attempt == 0) Sample((*hosts)[hi], NowUs() - it->second.sent_us);
    outstanding.erase(it);
    --state[hi].in_flight;
    ++stats.replies;
    return true;
  }

  void OnTcp(const packet::Reply& r) {
    if (r.dport != sport) return;
    auto hit = by_ip.find(r.src);
    if (hit == by_ip.end()) return;
    const size_t hi = hit->second;
    RawHost& h = (*hosts)[hi];
    const bool syn_ack = (r.flags & (packet::kSyn | packet::kAck)) == (packet::kSyn | packet::kAck);
    const bool rst = (r.flags & packet::kRst) != 0;
    if ((syn_ack || rst) && r.ack == Cookie(r.src, r.sport, Kind::kSyn) + 1) {
      const std::int32_t idx = syn_index[r.sport];
      const bool settled = Settle(hi, idx, true);
      if (!settled && rst) return;
      MarkUp(hi, "tcp");
      if (syn_ack && !discovery && idx >= 0) h.open.insert(r.sport);
    } else if (rst && r.seq == Cookie(r.src, r.sport, Kind::kAck)) {
      Settle(hi, ack_index[r.sport], true);
      MarkUp(hi, "tcp");
    }
  }

  void OnIcmp(const packet::Reply& r) {
    if (r.kind == packet::ReplyKind::kEchoReply) {
      if (r.icmp_id != echo_id) return;
      auto hit = by_ip.find(r.src);
      if (hit == by_ip.end()) return;
      Settle(hit->second, echo_index, true);
      MarkUp(hit->second, "icmp");
      return;
    }
    if (r.kind != packet::ReplyKind::kUnreachable) return;
    auto hit = by_ip.find(r.orig_dst);
    if (hit == by_ip.end()) return;
    const size_t hi = hit->second;
    std::int32_t idx = -1;
    if (r.orig_proto == 6 && r.orig_sport == sport) {
      idx = syn_index[r.orig_dport] >= 0 ? syn_index[r.orig_dport] : ack_index[r.orig_dport];
    } else if (r.orig_proto == 1) {
      idx = echo_index;
    } else {
      return;
    }
    if (!Settle(hi, idx, false)) return;
    if (r.src == r.orig_dst) {
      MarkUp(hi, "icmp");  // the host itself answered: it is there, the port is filtered
    } else if ((r.icmp_code <= 1 || r.icmp_code == 0xff) && !(*hosts)[hi].up) {
      (*hosts)[hi].unreachable = true;  // a router says the host is not reachable
    }
  }

  void OnArp(const packet::Reply& r) {
    auto hit = by_ip.find(r.src);
    if (hit == by_ip.end()) return;
    RawHost& h = (*hosts)[hit->second];
    if (h.mac.empty()) h.mac = packet::MacToString(r.mac);
    Settle(hit->second, arp_index, true);
    MarkUp(hit->second, "arp");
  }

  void Drain() {
    alignas(8) std::uint8_t buf[4096];
    for (int round = 0; round < 4096; ++round) {
      bool any = false;
      ssize_t n = ::recv(tcp_fd, buf, sizeof buf, MSG_DONTWAIT);
      packet::Reply r;
      if (n > 0) {
        any = true;
        if (packet::ParseIpv4({buf, static_cast<size_t>(n)}, r) && r.kind == packet::ReplyKind::kTcp) OnTcp(r);
      }
      n = ::recv(icmp_fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        any = true;
        if (packet::ParseIpv4({buf, static_cast<size_t>(n)}, r)) OnIcmp(r);
      }
      if (arp_fd >= 0) {
        n = ::recv(arp_fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
          any = true;
          if (packet::ParseArp({buf, static_cast<size_t>(n)}, r)) OnArp(r);
        }
      }
      if (!any) return;
    }
  }

  void Expire(std::int64_t now) {
    while (!deadlines.empty() && std::get<0>(deadlines.top()) <= now) {
      auto [deadline, key, sent] = deadlines.top();
      deadlines.pop();
      auto it = outstanding.find(key);
      if (it == outstanding.end() || it->second.sent_us != sent) continue;
      const size_t hi = static_cast<size_t>(key >> 20);
      const auto idx = static_cast<std::uint32_t>(key & 0xfffff);
      const int attempt = it->second.attempt;
      outstanding.erase(it);
      --state[hi].in_flight;
      if (attempt < opt.retries && !state[hi].stop && !(*hosts)[hi].unreachable)
        state[hi].retry.emplace_back(idx, attempt + 1);
    }
  }

  void Run(std::vector<RawHost>& hs, std::vector<ProbeSpec> probes, bool is_discovery) {
    hosts = &hs;
    plan = std::move(probes);
    discovery = is_discovery;
    state.assign(hs.size(), {});
    by_ip.clear();
    for (size_t i = 0; i < hs.size(); ++i) by_ip[hs[i].ip] = i;
    outstanding.clear();
    deadlines = {};
    syn_index.assign(65536, -1);
    ack_index.assign(65536, -1);
    echo_index = arp_index = -1;
    for (size_t i = 0; i < plan.size(); ++i) {
      const auto k = static_cast<std::int32_t>(i);
      switch (plan[i].kind) {
        case Kind::kSyn: syn_index[plan[i].port] = k; break;
        case Kind::kAck: ack_index[plan[i].port] = k; break;
        case Kind::kEcho: echo_index = k; break;
        case Kind::kArp: arp_index = k; break;
      }
    }
    global.rate = opt.rate;
    size_t rr = 0;
    std::vector<size_t> active;  // hosts that still have probes to send
    for (size_t i = 0; i < hs.size(); ++i) active.push_back(i);
    while (true) {
      if (opt.cancelled && opt.cancelled()) break;
      std::int64_t now = NowUs();
      // Launch round-robin over the hosts with work until the window is full, the rate limit
      // says wait, or the kernel has no buffer.
      bool blocked = false;
      size_t idle = 0;
      while (!active.empty() && static_cast<int>(outstanding.size()) < opt.max_in_flight && idle < active.size()) {
        const size_t slot = rr++ % active.size();
        const size_t hi = active[slot];
        if (!HasWork(hi)) {
          if (state[hi].in_flight == 0 || state[hi].stop || hs[hi].unreachable) {
            active[slot] = active.back();  // nothing to send now; retries re-add it below
            active.pop_back();
          } else {
            ++idle;
          }
          continue;
        }
        if (!Admit(hi, now)) {
          ++idle;
          continue;
        }
        idle = 0;
        if (!SendNext(hi, now)) {
          blocked = true;
          break;
        }
        if ((stats.sent & 255) == 0) {
          Drain();  // keep the receive buffers from overflowing during long bursts
          now = NowUs();
        }
      }
      Drain();
      Expire(NowUs());
      // Hosts that got a retry back after leaving the active list.
      if (active.size() < hs.size()) {
        std::vector<char> in(hs.size(), 0);
        for (size_t hi : active) in[hi] = 1;
        for (size_t hi = 0; hi < hs.size(); ++hi)
          if (!in[hi] && HasWork(hi)) active.push_back(hi);
      }
      if (outstanding.empty()) {
        bool work = false;
        for (size_t hi : active)
          if (HasWork(hi)) {
            work = true;
            break;
          }
        if (!work) break;
      }
      // Wait for replies: briefly when there is more to send, else until the next deadline.
      int wait_ms = 1;
      if (!blocked && (active.empty() || static_cast<int>(outstanding.size()) >= opt.max_in_flight) &&
          !deadlines.empty()) {
        wait_ms = static_cast<int>(std::clamp<std::int64_t>((std::get<0>(deadlines.top()) - NowUs()) / 1000, 0, 20));
      }
      pollfd fds[3] = {{tcp_fd, POLLIN, 0}, {icmp_fd, POLLIN, 0}, {arp_fd, POLLIN, 0}};
      ::poll(fds, arp_fd >= 0 ? 3 : 2, wait_ms);
    }
    hosts = nullptr;
  }
};

RawScanner::RawScanner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RawScanner::~RawScanner() = default;

Result<std::unique_ptr<RawScanner>> RawScanner::Open(const RawScanOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->opt = options;
  impl->opt.max_in_flight = std::max(1, options.max_in_flight);
  impl->tcp_fd = ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP);
  if (impl->tcp_fd < 0)
    return Error(ErrorCode::kPermissionDenied, std::string("raw sockets need CAP_NET_RAW: ") + std::strerror(errno));
  impl->icmp_fd = ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMP);
  if (impl->icmp_fd < 0)
    return Error(ErrorCode::kPermissionDenied, std::string("raw ICMP socket: ") + std::strerror(errno));
  if (options.pings & kPingArp)
    impl->arp_fd = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ARP));  // optional
  impl->route_fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  // The source port: reserved by a bound TCP socket that never listens or connects.
  impl->reserve_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in any = Sin(INADDR_ANY);
  socklen_t len = sizeof any;
  if (impl->reserve_fd < 0 || impl->route_fd < 0 ||
      ::bind(impl->reserve_fd, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0 ||
      getsockname(impl->reserve_fd, reinterpret_cast<sockaddr*>(&any), &len) != 0)
    return Error(ErrorCode::kResourceExhausted, std::string("scanner source port: ") + std::strerror(errno));
  impl->sport = ntohs(any.sin_port);
  // Only TCP segments to our port reach the raw TCP socket:
  //   ldxb 4*([0]&0xf); ldh [x+2]; jeq #sport, accept, drop
  sock_filter code[] = {
      {BPF_LDX | BPF_B | BPF_MSH, 0, 0, 0},
      {BPF_LD | BPF_H | BPF_IND, 0, 0, 2},
      {BPF_JMP | BPF_JEQ | BPF_K, 0, 1, impl->sport},
      {BPF_RET | BPF_K, 0, 0, 0xffff},
      {BPF_RET | BPF_K, 0, 0, 0},
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof code / sizeof code[0]), code};
  setsockopt(impl->tcp_fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
  // Only echo replies and destination unreachable / time exceeded reach the ICMP socket.
  IcmpFilter f{~((1u << kEchoReply) | (1u << kDestUnreach) | (1u << kTimeExceeded))};
  setsockopt(impl->icmp_fd, SOL_RAW, kIcmpFilter, &f, sizeof f);
  for (int fd : {impl->tcp_fd, impl->icmp_fd, impl->arp_fd}) {
    if (fd < 0) continue;
    int size = 8 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  std::random_device rd;
  impl->key0 = (std::uint64_t{rd()} << 32) | rd();
  impl->key1 = (std::uint64_t{rd()} << 32) | rd();
  impl->echo_id = static_cast<std::uint16_t>(rd());
  impl->ifs = LocalInterfaces();
  return std::unique_ptr<RawScanner>(new RawScanner(std::move(impl)));
}

void RawScanner::Discover(std::vector<RawHost>& hosts) {
  const auto& o = impl_->opt;
  std::vector<ProbeSpec> plan;
  if (o.pings & kPingArp) plan.push_back({Kind::kArp, 0});
  if (o.pings & kPingIcmp) plan.push_back({Kind::kEcho, 0});
  if (o.pings & kPingSyn)
    for (auto p : o.syn_ping_ports) plan.push_back({Kind::kSyn, p});
  if (o.pings & kPingAck)
    for (auto p : o.ack_ping_ports) plan.push_back({Kind::kAck, p});
  impl_->Run(hosts, std::move(plan), true);
}

void RawScanner::SynScan(std::vector<RawHost>& hosts, const std::vector<std::uint16_t>& ports) {
  std::vector<ProbeSpec> plan;
  plan.reserve(ports.size());
  for (auto p : ports) plan.push_back({Kind::kSyn, p});
  impl_->Run(hosts, std::move(plan), false);
}

const RawStats& RawScanner::stats() const { return impl_->stats; }

}  // namespace medsoc::assets
