#include "assets/scanner.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "assets/tls_probe.h"

namespace medsoc::assets {
namespace {

using Json = nlohmann::json;

std::int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr size_t kMaxResponse = 64 * 1024;
constexpr std::int64_t kQuietUs = 250'000;  // after data, this much silence ends a read

// Keys of decoded fields worth keeping in a service's "extra".
bool KeepField(const std::string& k) {
  static const char* kPrefixes[] = {"dicom_", "implementation_", "hl7_", "smb_", "mssql_", "rdp_", "snmp_", "ntp_",
                                    "netbios_", "mdns_", "modbus_", "mysql_", "pg_"};
  for (const char* p : kPrefixes)
    if (k.rfind(p, 0) == 0) return true;
  return k == "title" || k == "generator" || k == "server" || k == "powered_by" || k == "http_status" ||
         k == "dns_version" || k == "ssh_protocol" || k == "auth_realm";
}

struct TokenBucket {
  double rate = 0;  // per second; 0: unlimited
  double tokens = 0;
  std::int64_t last_us = 0;
  bool Take(std::int64_t now) {
    if (rate <= 0) return true;
    if (last_us == 0) {
      last_us = now;
      tokens = 1;
    }
    tokens = std::min(std::max(1.0, rate / 50.0), tokens + (now - last_us) * rate / 1e6);
    last_us = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }
};

enum class StepKind { kProbe, kTlsHandshake, kTlsVersion };

struct Step {
  StepKind kind = StepKind::kProbe;
  const Probe* probe = nullptr;  // kProbe
  bool tls = false;              // run over TLS
  int pin_version = 0;           // kTlsVersion
};

struct Job {
  size_t host = 0;
  std::uint16_t port = 0;
  std::deque<Step> queue;
  bool tls = false;
  bool tls_tried = false;
  bool null_done = false;
  bool matched = false;
  bool done = false;
  bool versions_queued = false;
  Identification best;
  std::string soft_service;
  std::string banner;
  TlsInfo tls_info;
  std::vector<std::string> tls_versions;
  Fields extra;
  std::set<std::string> done_probes;  // "name/tls"
};

struct Host {
  std::string ip;
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  bool up = false;
  std::string reason;
  bool unreachable = false;
  bool fragile = false;
  double srtt_us = 0, rttvar_us = 0;
  int samples = 0;
  size_t cursor = 0;                 // next port index of the current phase
  std::deque<std::pair<std::uint16_t, int>> retry;  // (port, attempt)
  int active = 0;                    // connections in flight to this host
  TokenBucket fragile_bucket;
  std::vector<std::uint16_t> open_tcp;
  std::vector<std::pair<std::uint16_t, std::string>> open_udp;  // port, response
  std::vector<size_t> jobs;
  size_t job_cursor = 0;
  HostResult result;
};

enum class ConnKind { kConnect, kUdp, kStep };

struct Conn {
  ConnKind kind = ConnKind::kConnect;
  int fd = -1;
  size_t host = 0;
  std::uint16_t port = 0;
  int attempt = 0;
  std::int64_t start_us = 0;
  std::int64_t deadline_us = 0;
  std::int64_t read_deadline_us = 0;  // kStep: after the request was sent
  size_t job = 0;
  Step step;
  bool connected = false;
  SSL* ssl = nullptr;
  bool handshaking = false;
  std::string out;
  size_t out_off = 0;
  std::string in;
  std::int64_t last_data_us = 0;
  std::unique_ptr<Dialog> dialog;
  bool dialog_done = false;
  std::string probe_name;  // for UDP
};

class Engine {
 public:
  Engine(const FingerprintDb& db, const ScanOptions& opt) : db_(db), opt_(opt) {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      setrlimit(RLIMIT_NOFILE, &rl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    max_in_flight_ = std::max<int>(16, std::min<long>(opt.max_in_flight, static_cast<long>(rl.rlim_cur) - 64));
    global_.rate = opt.policy.rate;
  }
  ~Engine() {
    for (auto& [fd, c] : conns_) Close(*c);
    if (epfd_ >= 0) ::close(epfd_);
    if (tls_ctx_) SSL_CTX_free(tls_ctx_);
    for (auto& [v, ctx] : pinned_ctx_) SSL_CTX_free(ctx);
  }

  bool ok() const { return epfd_ >= 0; }

  std::vector<Host> hosts;
  std::vector<Job> jobs;
  ScanStats stats;

  // Phase runners.
  void RunConnectPhase(const std::vector<std::uint16_t>& ports, bool discovery) {
    phase_ports_ = &ports;
    phase_ = discovery ? Phase::kDiscovery : Phase::kPorts;
    for (auto& h : hosts) {
      h.cursor = 0;
      h.retry.clear();
    }
    Loop();
  }
  void RunUdpPhase(const std::vector<std::uint16_t>& ports) {
    phase_ports_ = &ports;
    phase_ = Phase::kUdp;
    for (auto& h : hosts) {
      h.cursor = 0;
      h.retry.clear();
    }
    Loop();
  }
  void RunIdentifyPhase() {
    phase_ = Phase::kIdentify;
    for (size_t i = 0; i < hosts.size(); ++i) {
      Host& h = hosts[i];
      h.job_cursor = 0;
      for (auto port : h.open_tcp) {
        Job j;
        j.host = i;
        j.port = port;
        Plan(j);
        h.jobs.push_back(jobs.size());
        jobs.push_back(std::move(j));
      }
    }
    Loop();
  }

 private:
  enum class Phase { kDiscovery, kPorts, kUdp, kIdentify };

  std::int64_t TimeoutUs(const Host& h) const {
    const std::int64_t max_us = static_cast<std::int64_t>(opt_.timeout_ms) * 1000;
    const std::int64_t min_us = static_cast<std::int64_t>(opt_.min_timeout_ms) * 1000;
    if (h.samples == 0) return max_us;
    auto t = static_cast<std::int64_t>(h.srtt_us + 4 * h.rttvar_us);
    return std::clamp(t, min_us, max_us);
  }

  void Sample(Host& h, std::int64_t rtt) {
    if (h.samples == 0) {
      h.srtt_us = static_cast<double>(rtt);
      h.rttvar_us = rtt / 2.0;
    } else {
      double err = rtt - h.srtt_us;
      h.srtt_us += err / 8;
      h.rttvar_us += (std::abs(err) - h.rttvar_us) / 4;
    }
    ++h.samples;
  }

  bool Admit(Host& h, std::int64_t now) {
    if (h.fragile) {
      if (h.active > 0) return false;
      if (h.fragile_bucket.rate == 0) h.fragile_bucket.rate = std::max(1, opt_.policy.fragile_rate);
      if (!h.fragile_bucket.Take(now)) return false;
    } else if (phase_ == Phase::kIdentify && h.active >= opt_.host_parallelism) {
      return false;
    }
    if (opt_.policy.subnet_rate > 0) {
      std::uint32_t a = 0;
      if (ParseIpv4(h.ip, a)) {
        int prefix = std::clamp(opt_.policy.subnet_prefix, 0, 32);
        std::uint32_t key = prefix == 0 ? 0 : a & (~std::uint32_t{0} << (32 - prefix));
        auto& b = subnet_[key];
        b.rate = opt_.policy.subnet_rate;
        if (!b.Take(now)) return false;
      }
    }
    return global_.Take(now);
  }

  // The next unit of work of host i for the current phase; false when it has none right now.
  bool HasWork(const Host& h) const {
    if (h.unreachable) return false;
    switch (phase_) {
      case Phase::kDiscovery:
        if (h.up) return false;
        [[fallthrough]];
      case Phase::kPorts:
      case Phase::kUdp:
        return !h.retry.empty() || h.cursor < phase_ports_->size();
      case Phase::kIdentify:
        for (size_t k = h.job_cursor; k < h.jobs.size(); ++k)
          if (!jobs[h.jobs[k]].done && !busy_jobs_.count(h.jobs[k])) return true;
        return false;
    }
    return false;
  }

  void StartWork(size_t hi, std::int64_t now) {
    Host& h = hosts[hi];
    if (phase_ == Phase::kIdentify) {
      for (size_t k = h.job_cursor; k < h.jobs.size(); ++k) {
        size_t ji = h.jobs[k];
        if (jobs[ji].done || busy_jobs_.count(ji)) continue;
        StartStep(ji, now);
        return;
      }
      return;
    }
    std::uint16_t port;
    int attempt = 0;
    if (!h.retry.empty()) {
      port = h.retry.front().first;
      attempt = h.retry.front().second;
      h.retry.pop_front();
    } else {
      port = (*phase_ports_)[h.cursor++];
    }
    if (phase_ == Phase::kUdp) {
      StartUdp(hi, port, attempt, now);
    } else {
      StartConnect(hi, port, attempt, now);
    }
  }

  void Loop() {
    std::vector<epoll_event> events(1024);
    size_t rr = 0;
    while (true) {
      if (opt_.cancelled && opt_.cancelled()) break;
      const std::int64_t now = NowUs();
      // Launch: round-robin over hosts with work, until the in-flight limit or a full idle cycle.
      bool any_work = false;
      if (static_cast<int>(conns_.size()) < max_in_flight_ && !hosts.empty()) {
        size_t idle = 0;
        while (static_cast<int>(conns_.size()) < max_in_flight_ && idle < hosts.size()) {
          size_t hi = rr++ % hosts.size();
          Host& h = hosts[hi];
          if (!HasWork(h)) {
            ++idle;
            continue;
          }
          any_work = true;
          if (!Admit(h, now)) {
            ++idle;
            continue;
          }
          idle = 0;
          StartWork(hi, now);
        }
      }
      if (!any_work) {
        for (const auto& h : hosts)
          if (HasWork(h)) {
            any_work = true;
            break;
          }
      }
      if (conns_.empty() && !any_work) break;
      // Wait for events or the next deadline (5 ms at most, so rate-limited launches continue).
      int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), conns_.empty() ? 2 : 1);
      for (int i = 0; i < n; ++i) {
        auto it = conns_.find(events[i].data.fd);
        if (it == conns_.end()) continue;
        OnEvent(*it->second, events[i].events);
      }
      // Deadlines, swept at most once a millisecond (a sweep walks every connection in flight).
      const std::int64_t t = NowUs();
      if (t - last_sweep_us_ < 1000) continue;
      last_sweep_us_ = t;
      std::vector<int> expired;
      for (auto& [fd, c] : conns_) {
        if (t >= c->deadline_us) expired.push_back(fd);
        else if (c->kind == ConnKind::kStep && c->last_data_us && t - c->last_data_us >= kQuietUs) expired.push_back(fd);
      }
      for (int fd : expired) {
        auto it = conns_.find(fd);
        if (it != conns_.end()) OnTimeout(*it->second);
      }
    }
    // Cancelled: drop whatever is in flight.
    std::vector<int> fds;
    for (auto& [fd, c] : conns_) fds.push_back(fd);
    for (int fd : fds) Finish(fd);
  }

  Conn& Register(std::unique_ptr<Conn> c, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = c->fd;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, c->fd, &ev);
    Conn& ref = *c;
    conns_[c->fd] = std::move(c);
    ++hosts[ref.host].active;
    return ref;
  }

  void Modify(Conn& c, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = c.fd;
    epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void Close(Conn& c) {
    if (c.ssl) {
      SSL_free(c.ssl);
      c.ssl = nullptr;
    }
    if (c.fd >= 0) {
      ::close(c.fd);
      c.fd = -1;
    }
  }

  void Finish(int fd) {
    auto it = conns_.find(fd);
    if (it == conns_.end()) return;
    std::unique_ptr<Conn> c = std::move(it->second);
    conns_.erase(it);
    --hosts[c->host].active;
    // close() removes the descriptor from the epoll set (it is not shared): no EPOLL_CTL_DEL.
    Close(*c);
  }

  // `probe`: a connection that will carry a conversation (options set up front). Plain port-scan
  // connects skip the options: most are refused, and an open one gets SO_LINGER before its close.
  int NewSocket(const Host& h, int type, bool probe = true) {
    int fd = ::socket(h.addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (type == SOCK_STREAM && probe) {
      // RST on close: no TIME_WAIT pile-up after a hundred thousand connects, and services see an
      // abort rather than a half-finished conversation.
      linger lg{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
  }

  sockaddr_storage AddrWithPort(const Host& h, std::uint16_t port) const {
    sockaddr_storage a = h.addr;
    if (a.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&a)->sin_port = htons(port);
    else reinterpret_cast<sockaddr_in6*>(&a)->sin6_port = htons(port);
    return a;
  }

  // ---- TCP connect (discovery and port phases) ----
  void StartConnect(size_t hi, std::uint16_t port, int attempt, std::int64_t now) {
    Host& h = hosts[hi];
    int fd = NewSocket(h, SOCK_STREAM, /*probe=*/false);
    if (fd < 0) {
      h.retry.emplace_front(port, attempt);  // out of descriptors: try later
      return;
    }
    ++stats.connects;
    auto c = std::make_unique<Conn>();
    c->kind = ConnKind::kConnect;
    c->fd = fd;
    c->host = hi;
    c->port = port;
    c->attempt = attempt;
    c->start_us = now;
    c->deadline_us = now + TimeoutUs(h);
    sockaddr_storage a = AddrWithPort(h, port);
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), h.addr_len);
    if (rc == 0 || errno != EINPROGRESS) {
      // Settled at once (loopback, an immediate refusal or error): no need to involve epoll.
      const int err = rc == 0 ? 0 : errno;
      ++h.active;
      conns_[fd] = std::move(c);
      OnConnectResult(*conns_[fd], err);
      return;
    }
    Register(std::move(c), EPOLLOUT);
  }

  void OnConnectResult(Conn& c, int err) {
    Host& h = hosts[c.host];
    const std::int64_t now = NowUs();
    if (err == 0 || err == ECONNREFUSED) {
      Sample(h, now - c.start_us);
      if (!h.up) {
        h.up = true;
        h.reason = "tcp";
      }
      if (err == 0) {
        // Abort rather than close: no TIME_WAIT, and the service sees no half conversation.
        linger lg{1, 0};
        setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      }
      if (err == 0 && phase_ == Phase::kPorts) h.open_tcp.push_back(c.port);
      if (err == 0 && phase_ == Phase::kDiscovery) discovered_open_[c.host].push_back(c.port);
    } else if (err == EHOSTUNREACH || err == ENETUNREACH || err == EHOSTDOWN) {
      // The network says the host is not there: stop spending probes on it.
      if (!h.up) h.unreachable = true;
    }
    Finish(c.fd);
  }

  // ---- UDP ----
  void StartUdp(size_t hi, std::uint16_t port, int attempt, std::int64_t now) {
    Host& h = hosts[hi];
    int fd = NewSocket(h, SOCK_DGRAM);
    if (fd < 0) {
      h.retry.emplace_front(port, attempt);
      return;
    }
    auto c = std::make_unique<Conn>();
    c->kind = ConnKind::kUdp;
    c->fd = fd;
    c->host = hi;
    c->port = port;
    c->attempt = attempt;
    c->start_us = now;
    c->deadline_us = now + std::max<std::int64_t>(TimeoutUs(h), 500'000);
    sockaddr_storage a = AddrWithPort(h, port);
    std::string payload;
    for (const auto& p : db_.probes()) {
      if (p.proto != "udp" || !p.AppliesTo(port)) continue;
      if (h.fragile && !p.fragile_safe) continue;
      ProbeParams params = opt_.params;
      params.host = h.ip;
      payload = p.builder.empty() ? ExpandPayload(p.payload, params) : BuildPayload(p.builder, params);
      if (!p.builder.empty() && payload.empty()) continue;  // e.g. SNMP without a community
      c->probe_name = p.name;
      break;
    }
    ++stats.datagrams;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), h.addr_len) != 0 ||
        ::send(fd, payload.data(), payload.size(), MSG_NOSIGNAL) < 0) {
      ::close(fd);
      return;
    }
    Register(std::move(c), EPOLLIN);
  }

  void OnUdpReadable(Conn& c) {
    char buf[65536];
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    Host& h = hosts[c.host];
    if (n >= 0) {
      h.up = true;
      if (h.reason.empty()) h.reason = "udp";
      h.open_udp.emplace_back(c.port, c.probe_name + '\0' + std::string(buf, static_cast<size_t>(n)));
    } else if (errno == ECONNREFUSED) {
      h.up = true;  // an ICMP port unreachable came back: the host is there, the port is closed
      if (h.reason.empty()) h.reason = "udp";
    } else if (errno == EAGAIN) {
      return;
    }
    Finish(c.fd);
  }

  // ---- identification ----
  void Plan(Job& j) {
    const Host& h = hosts[j.host];
    const PortInfo* info = db_.Port(j.port, "tcp");
    bool specific = false;
    for (const auto& p : db_.probes())
      if (p.proto == "tcp" && p.AppliesTo(j.port) && p.name != "null") specific = true;
    if (info && info->tls) {
      j.queue.push_back({StepKind::kTlsHandshake});
      j.tls_tried = true;
    } else if (!specific) {
      if (const Probe* null = db_.FindProbe("null")) j.queue.push_back({StepKind::kProbe, null, false});
    }
    for (const auto& p : db_.probes())
      if (p.proto == "tcp" && p.AppliesTo(j.port) && p.name != "null" && (!h.fragile || p.fragile_safe))
        j.queue.push_back({StepKind::kProbe, &p, p.tls});
    if (!h.fragile) {
      if (!j.tls_tried) j.queue.push_back({StepKind::kTlsHandshake});
      for (const auto& p : db_.probes())
        if (p.proto == "tcp" && p.all_ports && !p.AppliesTo(j.port) && p.name != "null")
          j.queue.push_back({StepKind::kProbe, &p, p.tls});
    }
    if (const Probe* null = db_.FindProbe("null"); null && specific)
      j.queue.push_back({StepKind::kProbe, null, false});
  }

  void QueueTlsVersions(Job& j) {
    if (j.versions_queued || !opt_.tls_versions || hosts[j.host].fragile) return;
    j.versions_queued = true;
    for (int v : {TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION, TLS1_3_VERSION})
      j.queue.push_back({StepKind::kTlsVersion, nullptr, true, v});
  }

  SSL_CTX* PinnedCtx(int version) {
    auto it = pinned_ctx_.find(version);
    if (it != pinned_ctx_.end()) return it->second;
    SSL_CTX* ctx = NewScanTlsContext(version, version);
    pinned_ctx_[version] = ctx;
    return ctx;
  }

  void StartStep(size_t ji, std::int64_t now) {
    Job& j = jobs[ji];
    while (!j.queue.empty()) {
      Step s = j.queue.front();
      if (s.kind == StepKind::kProbe) {
        const bool over_tls = s.tls || j.tls;
        std::string key = s.probe->name + (over_tls ? "/tls" : "");
        if (j.done_probes.count(key) || (j.matched)) {
          j.queue.pop_front();
          continue;
        }
        if (s.probe->tls && !j.tls) {  // a TLS-only probe, but the port does not speak TLS
          j.queue.pop_front();
          continue;
        }
      }
      if (s.kind == StepKind::kTlsHandshake && (j.tls || j.matched)) {
        j.queue.pop_front();
        continue;
      }
      break;
    }
    if (j.queue.empty()) {
      FinishJob(j);
      return;
    }
    Step s = j.queue.front();
    j.queue.pop_front();
    Host& h = hosts[j.host];
    int fd = NewSocket(h, SOCK_STREAM);
    if (fd < 0) {
      j.queue.push_front(s);
      return;
    }
    ++stats.connects;
    auto c = std::make_unique<Conn>();
    c->kind = ConnKind::kStep;
    c->fd = fd;
    c->host = j.host;
    c->port = j.port;
    c->job = ji;
    c->step = s;
    c->start_us = now;
    c->deadline_us = now + TimeoutUs(h);
    if (s.kind == StepKind::kProbe) {
      s.tls = s.tls || j.tls;
      c->step.tls = s.tls;
      j.done_probes.insert(s.probe->name + (s.tls ? "/tls" : ""));
      if (s.probe->name == "null") j.null_done = true;
      ProbeParams params = opt_.params;
      params.host = h.ip;
      if (!s.probe->builder.empty()) {
        c->dialog = MakeDialog(s.probe->builder, params);
        c->out = c->dialog ? c->dialog->Start() : BuildPayload(s.probe->builder, params);
      } else {
        c->out = ExpandPayload(s.probe->payload, params);
      }
    }
    busy_jobs_.insert(ji);
    sockaddr_storage a = AddrWithPort(h, j.port);
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), h.addr_len);
    int err = rc == 0 ? 0 : errno;
    Conn& ref = Register(std::move(c), EPOLLOUT);
    if (rc == 0 || err != EINPROGRESS) OnStepConnected(ref, rc == 0 ? 0 : err);
  }

  void OnStepConnected(Conn& c, int err) {
    Job& j = jobs[c.job];
    if (err != 0) {
      // The port stopped accepting: nothing more to learn from it.
      j.queue.clear();
      EndStep(c);
      return;
    }
    c.connected = true;
    Sample(hosts[c.host], NowUs() - c.start_us);
    if (c.step.kind != StepKind::kProbe || c.step.tls) {
      // Contexts are made on first use: a scan without TLS services never pays for them.
      if (!tls_ctx_) tls_ctx_ = NewScanTlsContext();
      SSL_CTX* ctx = c.step.kind == StepKind::kTlsVersion ? PinnedCtx(c.step.pin_version) : tls_ctx_;
      c.ssl = ctx ? SSL_new(ctx) : nullptr;
      if (!c.ssl) {
        EndStep(c);
        return;
      }
      SSL_set_fd(c.ssl, c.fd);
      SSL_set_connect_state(c.ssl);
      c.handshaking = true;
      c.deadline_us = NowUs() + std::max<std::int64_t>(TimeoutUs(hosts[c.host]) * 2, 1'000'000);
      DriveTls(c);
      return;
    }
    BeginExchange(c);
  }

  void BeginExchange(Conn& c) {
    const Probe* p = c.step.probe;
    const std::int64_t wait = (p->wait_ms > 0 ? p->wait_ms : (p->name == "null" ? opt_.banner_wait_ms : opt_.timeout_ms)) * 1000LL;
    c.read_deadline_us = NowUs() + wait;
    c.deadline_us = c.read_deadline_us;
    if (c.out.empty()) {
      Modify(c, EPOLLIN);
      return;
    }
    Modify(c, EPOLLOUT | EPOLLIN);
    WriteOut(c);
  }

  void DriveTls(Conn& c) {
    ERR_clear_error();
    int rc = SSL_do_handshake(c.ssl);
    if (rc == 1) {
      c.handshaking = false;
      Job& j = jobs[c.job];
      if (c.step.kind == StepKind::kTlsVersion) {
        j.tls_versions.push_back(TlsVersionName(SSL_version(c.ssl)));
        EndStep(c);
        return;
      }
      if (c.step.kind == StepKind::kTlsHandshake) {
        j.tls = true;
        j.tls_info = SessionInfo(c.ssl);
        // Probe again, now over TLS: the port's own probes, then the fallbacks.
        std::deque<Step> again;
        const bool fragile = hosts[j.host].fragile;
        for (const auto& p : db_.probes())
          if (p.proto == "tcp" && p.AppliesTo(j.port) && p.name != "null" && (!fragile || p.fragile_safe))
            again.push_back({StepKind::kProbe, &p, true});
        if (!fragile)
          for (const auto& p : db_.probes())
            if (p.proto == "tcp" && p.all_ports && !p.AppliesTo(j.port) && p.name != "null")
              again.push_back({StepKind::kProbe, &p, true});
        if (const Probe* null = db_.FindProbe("null")) again.push_back({StepKind::kProbe, null, true});
        j.queue = std::move(again);
        QueueTlsVersions(j);
        EndStep(c);
        return;
      }
      BeginExchange(c);
      return;
    }
    int e = SSL_get_error(c.ssl, rc);
    if (e == SSL_ERROR_WANT_READ) {
      Modify(c, EPOLLIN);
    } else if (e == SSL_ERROR_WANT_WRITE) {
      Modify(c, EPOLLOUT);
    } else {
      EndStep(c);  // not TLS (or not this version)
    }
  }

  void WriteOut(Conn& c) {
    while (c.out_off < c.out.size()) {
      ssize_t n;
      if (c.ssl) {
        ERR_clear_error();
        int rc = SSL_write(c.ssl, c.out.data() + c.out_off, static_cast<int>(c.out.size() - c.out_off));
        if (rc <= 0) {
          int e = SSL_get_error(c.ssl, rc);
          if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) return;
          EndStep(c);
          return;
        }
        n = rc;
      } else {
        n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EAGAIN) return;
          EndStep(c);
          return;
        }
      }
      c.out_off += static_cast<size_t>(n);
    }
    c.out.clear();
    c.out_off = 0;
    Modify(c, EPOLLIN);
  }

  void ReadIn(Conn& c) {
    char buf[16384];
    bool eof = false;
    while (c.in.size() < kMaxResponse) {
      ssize_t n;
      if (c.ssl) {
        ERR_clear_error();
        int rc = SSL_read(c.ssl, buf, sizeof buf);
        if (rc <= 0) {
          int e = SSL_get_error(c.ssl, rc);
          if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
          eof = true;
          break;
        }
        n = rc;
      } else {
        n = ::recv(c.fd, buf, sizeof buf, 0);
        if (n < 0) {
          if (errno == EAGAIN) break;
          eof = true;
          break;
        }
        if (n == 0) {
          eof = true;
          break;
        }
      }
      c.in.append(buf, static_cast<size_t>(n));
      c.last_data_us = NowUs();
    }
    if (c.dialog && !c.in.empty()) {
      auto next = c.dialog->Next(c.in);
      if (!next) {
        EndStep(c);
        return;
      }
      if (!next->empty()) {
        c.out = *next;
        c.out_off = 0;
        c.last_data_us = 0;  // wait for the answer to this message
        c.deadline_us = NowUs() + opt_.timeout_ms * 1000LL;
        Modify(c, EPOLLOUT | EPOLLIN);
        WriteOut(c);
        return;
      }
    }
    if (eof || c.in.size() >= kMaxResponse) {
      EndStep(c);
      return;
    }
    if (!c.dialog && !c.in.empty()) {
      // A decisive answer ends the wait early.
      Fields f = DecodeAll(c.in);
      Identification id = db_.Identify(c.step.probe->name, c.in, f);
      if (id.matched && !id.soft) EndStep(c);
    }
  }

  void OnEvent(Conn& c, std::uint32_t ev) {
    if (c.kind == ConnKind::kConnect) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      OnConnectResult(c, err);
      return;
    }
    if (c.kind == ConnKind::kUdp) {
      OnUdpReadable(c);
      return;
    }
    if (!c.connected) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      OnStepConnected(c, err);
      return;
    }
    if (c.handshaking) {
      DriveTls(c);
      return;
    }
    const int fd = c.fd;
    if ((ev & EPOLLOUT) && !c.out.empty()) {
      WriteOut(c);
      if (!conns_.count(fd)) return;
    }
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) ReadIn(c);
  }

  void OnTimeout(Conn& c) {
    if (c.kind == ConnKind::kConnect) {
      Host& h = hosts[c.host];
      if (c.attempt < opt_.retries && phase_ == Phase::kPorts) h.retry.emplace_back(c.port, c.attempt + 1);
      Finish(c.fd);
      return;
    }
    if (c.kind == ConnKind::kUdp) {
      Host& h = hosts[c.host];
      if (c.attempt < opt_.retries) h.retry.emplace_back(c.port, c.attempt + 1);
      Finish(c.fd);
      return;
    }
    EndStep(c);
  }

  // A probe step is over: learn from its response, then go on with the job.
  void EndStep(Conn& c) {
    Job& j = jobs[c.job];
    if (c.step.kind == StepKind::kProbe && !c.in.empty()) {
      if (j.banner.empty()) j.banner = PrintableBanner(c.in);
      Fields f = DecodeAll(c.in);
      Identification id = db_.Identify(c.step.probe->name, c.in, f);
      if (id.matched && !id.soft && !j.matched) {
        j.matched = true;
        j.best = id;
        j.banner = PrintableBanner(c.in);
        for (auto& [k, v] : f)
          if (KeepField(k) && !v.empty()) j.extra[k] = v;
        if (j.tls) QueueTlsVersions(j);
      } else if (id.matched && id.soft && j.soft_service.empty()) {
        j.soft_service = id.service;
        for (auto& [k, v] : f)
          if (KeepField(k) && !v.empty()) j.extra[k] = v;
      }
    }
    const size_t ji = c.job;
    busy_jobs_.erase(ji);
    Finish(c.fd);
    // The job continues on the next launch round (admission and rate limits apply).
    if (j.queue.empty() || (j.matched && std::all_of(j.queue.begin(), j.queue.end(), [](const Step& s) {
          return s.kind != StepKind::kTlsVersion;
        })))
      FinishJob(j);
  }

  void FinishJob(Job& j) {
    if (j.done) return;
    j.done = true;
    j.queue.clear();
  }

  const FingerprintDb& db_;
  const ScanOptions& opt_;
  int epfd_ = -1;
  int max_in_flight_ = 1024;
  SSL_CTX* tls_ctx_ = nullptr;
  std::map<int, SSL_CTX*> pinned_ctx_;
  std::map<int, std::unique_ptr<Conn>> conns_;
  std::set<size_t> busy_jobs_;
  Phase phase_ = Phase::kPorts;
  const std::vector<std::uint16_t>* phase_ports_ = nullptr;
  TokenBucket global_;
  std::map<std::uint32_t, TokenBucket> subnet_;
  std::int64_t last_sweep_us_ = 0;

 public:
  std::map<size_t, std::vector<std::uint16_t>> discovered_open_;
};

// The kernel's neighbour table: IPv4 address -> MAC of complete entries.
std::map<std::string, std::string> ReadArpTable() {
  std::map<std::string, std::string> out;
  std::ifstream in("/proc/net/arp");
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::string ip, hw, flags, mac;
    ss >> ip >> hw >> flags >> mac;
    if (flags == "0x2" || flags == "0x6") {
      if (mac != "00:00:00:00:00:00") out[ip] = mac;
    }
  }
  return out;
}

std::string ReverseDns(const sockaddr_storage& addr, socklen_t len) {
  char host[NI_MAXHOST];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof host, nullptr, 0, NI_NAMEREQD) == 0)
    return host;
  return "";
}

Service MakeService(const Job& j, const FingerprintDb& db) {
  Service s;
  s.port = j.port;
  s.proto = "tcp";
  if (j.matched) {
    s.service = j.best.service;
    s.product = j.best.product;
    s.version = j.best.version;
    s.cpe = j.best.cpe;
    if (!j.best.info.empty()) s.extra["info"] = j.best.info;
    if (!j.best.device.empty()) s.extra["device"] = j.best.device;
    if (!j.best.os.empty()) s.extra["os"] = j.best.os;
    if (!j.best.hostname.empty()) s.extra["hostname"] = j.best.hostname;
    s.extra["method"] = "probe";
  } else if (!j.soft_service.empty()) {
    s.service = j.soft_service;
    s.extra["method"] = "probe";
  } else if (const PortInfo* p = db.Port(j.port, "tcp")) {
    s.service = p->service;
    s.extra["method"] = "port";
  } else {
    s.service = "unknown";
    s.extra["method"] = "none";
  }
  if (j.tls) {
    TlsInfo t = j.tls_info;
    t.versions = j.tls_versions;
    std::sort(t.versions.begin(), t.versions.end());
    s.tls = t;
    if (s.service == "http") s.service = "https";
  }
  for (const auto& [k, v] : j.extra) s.extra[k] = v.substr(0, 512);
  s.banner = j.banner;
  s.open = true;
  return s;
}

bool ResolveHost(const std::string& ip, Host& h) {
  std::memset(&h.addr, 0, sizeof h.addr);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&h.addr);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    h.addr_len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&h.addr);
  if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    h.addr_len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

// Discovery (when `discover`) and the TCP port phase over raw sockets (raw_scan.h), in place of
// the connect phases: fills the engine's hosts as those phases would, and drops the hosts that
// discovery did not find. Errors: no raw sockets.
Status RawSynPhases(Engine& engine, const FingerprintDb& db, const ScanOptions& options, bool discover) {
  RawScanOptions ro;
  ro.rate = options.policy.rate;
  ro.subnet_rate = options.policy.subnet_rate;
  ro.subnet_prefix = options.policy.subnet_prefix;
  ro.fragile_rate = options.policy.fragile_rate;
  ro.max_in_flight = options.max_in_flight;
  ro.timeout_ms = options.timeout_ms;
  ro.min_timeout_ms = options.min_timeout_ms;
  ro.retries = options.retries;
  ro.pings = options.pings;
  ro.cancelled = options.cancelled;
  const auto& tcp = options.ports.tcp;
  if (!tcp.empty()) {
    // SYN pings only to the most common of the scanned ports, as the connect discovery does.
    std::vector<std::uint16_t> ranked = tcp;
    std::stable_sort(ranked.begin(), ranked.end(), [&db](std::uint16_t a, std::uint16_t b) {
      const PortInfo* pa = db.Port(a, "tcp");
      const PortInfo* pb = db.Port(b, "tcp");
      return (pa ? pa->rank : 1000000) < (pb ? pb->rank : 1000000);
    });
    ranked.resize(std::min<size_t>(ranked.size(), 3));
    ro.syn_ping_ports = ranked;
  }
  MEDSOC_ASSIGN_OR_RETURN(auto raw, RawScanner::Open(ro));
  std::vector<RawHost> rh(engine.hosts.size());
  for (size_t i = 0; i < engine.hosts.size(); ++i) {
    ParseIpv4(engine.hosts[i].ip, rh[i].ip);
    rh[i].fragile = engine.hosts[i].fragile;
  }
  if (discover) {
    raw->Discover(rh);
    std::vector<Host> hosts;
    std::vector<RawHost> kept;
    for (size_t i = 0; i < rh.size(); ++i)
      if (rh[i].up) {
        hosts.push_back(std::move(engine.hosts[i]));
        kept.push_back(std::move(rh[i]));
      }
    engine.hosts = std::move(hosts);
    rh = std::move(kept);
  }
  if (!tcp.empty()) raw->SynScan(rh, tcp);
  for (size_t i = 0; i < rh.size(); ++i) {
    Host& h = engine.hosts[i];
    if (rh[i].up && !h.up) {
      h.up = true;
      h.reason = rh[i].reason;
    }
    h.unreachable = rh[i].unreachable;
    h.result.mac = rh[i].mac;
    h.srtt_us = rh[i].srtt_us;
    h.rttvar_us = rh[i].rttvar_us;
    h.samples = rh[i].samples;
    h.open_tcp.assign(rh[i].open.begin(), rh[i].open.end());
  }
  engine.stats.method = "syn";
  engine.stats.raw_probes = raw->stats().sent;
  return Ok();
}

}  // namespace

Result<ScanType> ParseScanType(std::string_view text) {
  if (text == "auto" || text.empty()) return ScanType::kAuto;
  if (text == "connect") return ScanType::kConnect;
  if (text == "syn") return ScanType::kSyn;
  return Error(ErrorCode::kInvalidArgument, "scan type '" + std::string(text) + "': expected auto, connect or syn");
}

const char* ScanTypeName(ScanType type) {
  switch (type) {
    case ScanType::kAuto: return "auto";
    case ScanType::kConnect: return "connect";
    case ScanType::kSyn: return "syn";
  }
  return "auto";
}

Scanner::Scanner(std::shared_ptr<const FingerprintDb> db, std::shared_ptr<const OuiDb> oui)
    : db_(std::move(db)), oui_(std::move(oui)), oui_tried_(true) {}

Scanner::Scanner(std::shared_ptr<const FingerprintDb> db, std::string oui_dir)
    : db_(std::move(db)), oui_dir_(std::move(oui_dir)) {}

const OuiDb* Scanner::Oui() {
  if (!oui_tried_) {
    oui_tried_ = true;
    if (auto o = OuiDb::Load(oui_dir_); o.ok()) oui_ = std::make_shared<OuiDb>(std::move(*o));
  }
  return oui_.get();
}

Result<ScanReport> Scanner::Run(TargetSet targets, const ScanOptions& options) {
  MEDSOC_TRY(ApplyPolicy(targets, options.policy, core::Now()));
  const std::int64_t t0 = NowUs();
  Engine engine(*db_, options);
  if (!engine.ok()) return Error(ErrorCode::kResourceExhausted, "scanner: cannot create epoll or TLS context");
  ScanReport report;
  for (const auto& ip : targets.Addresses()) {
    Host h;
    h.ip = ip;
    if (!ResolveHost(ip, h)) continue;
    h.fragile = InNets(options.policy.fragile, ip) || options.fragile_hosts.count(ip) > 0;
    engine.hosts.push_back(std::move(h));
  }
  engine.stats.hosts_targeted = engine.hosts.size();

  const auto& tcp = options.ports.tcp;
  bool use_raw = false;
  const bool all_v4 = std::all_of(engine.hosts.begin(), engine.hosts.end(),
                                  [](const Host& h) { return h.addr.ss_family == AF_INET; });
  if (options.scan_type == ScanType::kSyn) {
    if (!all_v4) return Error(ErrorCode::kInvalidArgument, "SYN scans are IPv4 only; use --scan-type connect for IPv6");
    use_raw = true;
  } else if (options.scan_type == ScanType::kAuto) {
    use_raw = all_v4 && !engine.hosts.empty() && RawSocketsAvailable();
  }
  bool discover = options.discovery && tcp.size() > 32 && engine.hosts.size() > 1;
  if (use_raw) {
    discover = options.discovery && (engine.hosts.size() > 1 || (tcp.empty() && options.ports.udp.empty()));
    auto raw = RawSynPhases(engine, *db_, options, discover);
    if (!raw.ok()) {
      if (options.scan_type == ScanType::kSyn) return raw.error();
      report.warnings.push_back("SYN scan unavailable, connect scan instead: " + raw.error().message());
      use_raw = false;
      discover = options.discovery && tcp.size() > 32 && engine.hosts.size() > 1;
    }
  }
  if (!use_raw && discover) {
    // TCP "ping" on the most common of the scanned ports only.
    std::vector<std::uint16_t> ranked = tcp;
    std::stable_sort(ranked.begin(), ranked.end(), [&](std::uint16_t a, std::uint16_t b) {
      const PortInfo* pa = db_->Port(a, "tcp");
      const PortInfo* pb = db_->Port(b, "tcp");
      return (pa ? pa->rank : 1000000) < (pb ? pb->rank : 1000000);
    });
    ranked.resize(std::min<size_t>(ranked.size(), 8));
    engine.RunConnectPhase(ranked, true);
    auto arp = ReadArpTable();
    for (auto& h : engine.hosts)
      if (!h.up && arp.count(h.ip)) {
        h.up = true;
        h.reason = "arp";
      }
    // Only hosts that answered continue.
    std::vector<Host> up;
    for (auto& h : engine.hosts)
      if (h.up) up.push_back(std::move(h));
    engine.hosts = std::move(up);
  }
  if (!use_raw && !tcp.empty()) engine.RunConnectPhase(tcp, false);
  if (options.cancelled && options.cancelled()) return Error(ErrorCode::kUnavailable, "scan cancelled");

  // Neighbour table and vendors before UDP and identification: a fragile vendor (or a fragile TCP
  // port seen open) changes the probe plan, so such a host gets only fragile_safe UDP probes too.
  // Read again after UDP (its datagrams fill the neighbour table of hosts seen only by UDP); only
  // then may an ARP entry alone show a host up.
  auto enrich = [&](bool mark_up) {
    auto arp = ReadArpTable();
    for (auto& h : engine.hosts) {
      if (!h.up && !h.open_tcp.empty()) h.up = true;
      if (auto it = arp.find(h.ip); it != arp.end()) {
        if (h.result.mac.empty()) h.result.mac = it->second;
        if (mark_up && !h.up && !discover) {
          h.up = true;
          h.reason = "arp";
        }
      }
      if (!h.result.mac.empty() && h.result.vendor.empty())
        if (const OuiDb* oui = Oui()) h.result.vendor = oui->Lookup(h.result.mac);
      if (IsFragileVendor(h.result.vendor)) h.fragile = true;
      for (auto p : h.open_tcp)
        if (const PortInfo* info = db_->Port(p, "tcp"); info && info->fragile) h.fragile = true;
      std::sort(h.open_tcp.begin(), h.open_tcp.end());
    }
  };
  if (!options.ports.udp.empty()) {
    enrich(/*mark_up=*/false);
    engine.RunUdpPhase(options.ports.udp);
    if (options.cancelled && options.cancelled()) return Error(ErrorCode::kUnavailable, "scan cancelled");
  }
  enrich(/*mark_up=*/true);
  if (options.identify) engine.RunIdentifyPhase();

  std::vector<std::future<std::string>> names;
  for (auto& h : engine.hosts) {
    if (!h.up) continue;
    HostResult& r = h.result;
    r.ip = h.ip;
    r.up = true;
    r.reason = h.reason;
    r.fragile = h.fragile;
    std::map<std::string, int> os_votes, device_votes;
    for (size_t ji : h.jobs) {
      Service s = MakeService(engine.jobs[ji], *db_);
      if (engine.jobs[ji].matched) ++engine.stats.identified;
      if (s.extra.count("os")) ++os_votes[s.extra["os"]];
      if (s.extra.count("device")) ++device_votes[s.extra["device"]];
      if (r.hostname.empty() && s.extra.count("hostname")) r.hostname = s.extra["hostname"];
      r.services.push_back(std::move(s));
    }
    if (!options.identify)
      for (auto p : h.open_tcp) {
        Service s;
        s.port = p;
        const PortInfo* info = db_->Port(p, "tcp");
        s.service = info ? info->service : "unknown";
        r.services.push_back(s);
      }
    for (auto& [port, tagged] : h.open_udp) {
      auto nul = tagged.find('\0');
      std::string probe = tagged.substr(0, nul), resp = tagged.substr(nul + 1);
      Service s;
      s.port = port;
      s.proto = "udp";
      Fields f = DecodeAll(resp);
      Identification id = db_->Identify(probe, resp, f, /*probe_only=*/true);
      if (id.matched) {
        s.service = id.service;
        s.product = id.product;
        s.version = id.version;
        s.cpe = id.cpe;
        if (!id.os.empty()) ++os_votes[id.os];
        if (!id.device.empty()) ++device_votes[id.device];
        if (!id.hostname.empty() && r.hostname.empty()) r.hostname = id.hostname;
        if (!id.soft) ++engine.stats.identified;
      } else if (const PortInfo* info = db_->Port(port, "udp")) {
        s.service = info->service;
      } else {
        s.service = "unknown";
      }
      for (auto& [k, v] : f)
        if (KeepField(k) && !v.empty()) s.extra[k] = v.substr(0, 512);
      if (r.hostname.empty() && f.count("netbios_name")) r.hostname = f["netbios_name"];
      if (r.mac.empty() && f.count("netbios_mac")) {
        r.mac = f["netbios_mac"];
        if (const OuiDb* oui = Oui()) r.vendor = oui->Lookup(r.mac);
      }
      s.banner = PrintableBanner(resp);
      r.services.push_back(std::move(s));
    }
    std::sort(r.services.begin(), r.services.end(), [](const Service& a, const Service& b) {
      return a.proto != b.proto ? a.proto < b.proto : a.port < b.port;
    });
    auto top = [](const std::map<std::string, int>& votes) {
      std::string best;
      int n = 0;
      for (const auto& [k, v] : votes)
        if (v > n) {
          best = k;
          n = v;
        }
      return best;
    };
    r.os = top(os_votes);
    r.device = top(device_votes);
    // What the services revealed may put the host in the fragile class after the fact; the ledger
    // keeps the flag so the next scan probes it lightly from the start.
    static const std::set<std::string> kFragileDevices = {"dicom", "printer", "plc", "medical", "modality", "monitor"};
    if (kFragileDevices.count(r.device)) r.fragile = true;
    engine.stats.open_ports += r.services.size();
  }
  if (options.resolve) {
    // Reverse DNS in parallel (the resolver blocks); at most 16 lookups at a time.
    std::vector<Host*> todo;
    for (auto& h : engine.hosts)
      if (h.up && h.result.hostname.empty()) todo.push_back(&h);
    for (size_t i = 0; i < todo.size(); i += 16) {
      std::vector<std::future<std::string>> batch;
      for (size_t k = i; k < std::min(todo.size(), i + 16); ++k)
        batch.push_back(std::async(std::launch::async, ReverseDns, todo[k]->addr, todo[k]->addr_len));
      for (size_t k = 0; k < batch.size(); ++k) todo[i + k]->result.hostname = batch[k].get();
    }
  }
  for (auto& h : engine.hosts)
    if (h.up) report.hosts.push_back(std::move(h.result));
  report.stats = engine.stats;
  report.stats.hosts_up = report.hosts.size();
  report.stats.seconds = (NowUs() - t0) / 1e6;
  return report;
}

Service Scanner::IdentifyPort(const std::string& ip, std::uint16_t port, const ScanOptions& options, bool fragile) {
  Engine engine(*db_, options);
  Host h;
  h.ip = ip;
  ResolveHost(ip, h);
  h.up = true;
  h.fragile = fragile;
  h.open_tcp = {port};
  engine.hosts.push_back(std::move(h));
  engine.RunIdentifyPhase();
  if (engine.jobs.empty()) return {};
  return MakeService(engine.jobs[0], *db_);
}

namespace {

Json TlsJson(const TlsInfo& t) {
  return {{"version", t.version},       {"versions", t.versions}, {"cipher", t.cipher},
          {"subject", t.subject},       {"issuer", t.issuer},     {"sans", t.sans},
          {"not_before", t.not_before}, {"not_after", t.not_after}, {"sha256", t.sha256},
          {"self_signed", t.self_signed}};
}

// JSON text must be valid UTF-8; banners and device strings may not be.
std::string Utf8Safe(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 2;
    if (ok) {
      out.append(s, i, n);
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

}  // namespace

std::string ReportJson(const ScanReport& report) {
  Json hosts = Json::array();
  for (const auto& h : report.hosts) {
    Json services = Json::array();
    for (const auto& s : h.services) {
      Json extra = Json::object();
      for (const auto& [k, v] : s.extra) extra[k] = Utf8Safe(v);
      services.push_back({{"port", s.port},
                          {"proto", s.proto},
                          {"service", s.service},
                          {"product", Utf8Safe(s.product)},
                          {"version", Utf8Safe(s.version)},
                          {"cpe", s.cpe},
                          {"tls", s.tls ? TlsJson(*s.tls) : Json(nullptr)},
                          {"extra", extra}});
    }
    hosts.push_back({{"ip", h.ip},
                     {"mac", h.mac},
                     {"vendor", Utf8Safe(h.vendor)},
                     {"hostname", Utf8Safe(h.hostname)},
                     {"os", Utf8Safe(h.os)},
                     {"device", h.device},
                     {"fragile", h.fragile},
                     {"up_reason", h.reason},
                     {"services", services}});
  }
  return hosts.dump(2) + "\n";
}

std::string ReportTable(const ScanReport& report) {
  std::ostringstream out;
  for (const auto& h : report.hosts) {
    out << h.ip;
    if (!h.hostname.empty()) out << " (" << h.hostname << ")";
    if (!h.mac.empty()) out << "  " << h.mac << (h.vendor.empty() ? "" : " " + h.vendor);
    if (!h.os.empty()) out << "  os: " << h.os;
    if (h.fragile) out << "  [fragile]";
    out << "\n";
    for (const auto& s : h.services) {
      std::string port = std::to_string(s.port) + "/" + s.proto;
      std::string what = s.product + (s.version.empty() ? "" : " " + s.version);
      out << "  " << port << std::string(port.size() < 10 ? 10 - port.size() : 1, ' ') << s.service
          << std::string(s.service.size() < 14 ? 14 - s.service.size() : 1, ' ') << what;
      if (s.tls) out << "  [" << s.tls->version << (s.tls->subject.empty() ? "" : " " + s.tls->subject) << "]";
      auto uid = s.extra.find("implementation_uid");
      if (uid != s.extra.end()) out << "  uid " << uid->second;
      out << "\n";
    }
  }
  out << report.stats.hosts_up << " of " << report.stats.hosts_targeted << " hosts up, " << report.stats.open_ports
      << " open ports, " << report.stats.identified << " identified, " << report.stats.connects << " connects in "
      << report.stats.seconds << " s\n";
  return out.str();
}

Observation ToObservation(const HostResult& h) {
  Observation o;
  o.ip = h.ip;
  o.mac = h.mac;
  if (!h.hostname.empty()) o.attrs["hostname"] = h.hostname;
  if (!h.os.empty()) o.attrs["os"] = h.os;
  if (!h.vendor.empty()) o.attrs["mac_vendor"] = h.vendor;
  if (h.fragile) o.attrs["fragile"] = "yes";
  if (!h.device.empty()) {
    static const std::map<std::string, std::string> kKinds = {
        {"printer", "printer"}, {"dicom", "dicom_node"}, {"medical", "medical_device"}, {"plc", "plc"},
        {"router", "network_device"}, {"switch", "network_device"}, {"firewall", "security_device"},
        {"modality", "imaging_modality"}, {"monitor", "patient_monitor"}, {"camera", "iot"}};
    if (auto it = kKinds.find(h.device); it != kKinds.end()) o.attrs["kind"] = it->second;
  }
  o.services = h.services;
  return o;
}

}  // namespace medsoc::assets
