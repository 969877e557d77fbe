// Benchmarks of the discovery scanner, each against a baseline measured in the same run:
//
//  1. port scan: medsoc's asynchronous connect scan (epoll, thousands in flight) versus the
//     straightforward baseline, one blocking connect() after another, over N listening sockets
//     this benchmark opens itself on 127.0.0.1 (never anyone else's ports); with CAP_NET_RAW also
//     medsoc's SYN scan (raw sockets) over the same ports and as many closed ones (ports of
//     sockets this benchmark binds without listening), against the connect scan of the same set;
//  2. identification: DecodeAll + FingerprintDb::Identify over typical responses, versus running
//     only the decoders (the share of the cost spent matching the database).
//
// Prints figures and ratios; run with MEDSOC_SOURCE_DIR set (for content/fingerprints).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "assets/fingerprints.h"
#include "assets/protocols.h"
#include "assets/scanner.h"

using namespace medsoc::assets;
using Clock = std::chrono::steady_clock;

namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double BlockingScan(const std::vector<std::uint16_t>& ports) {
  auto t0 = Clock::now();
  int open = 0;
  for (auto p : ports) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(p);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    linger lg{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) ++open;
    close(fd);
  }
  if (open != static_cast<int>(ports.size())) std::fprintf(stderr, "baseline: %d of %zu open\n", open, ports.size());
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main() {
  const char* src = std::getenv("MEDSOC_SOURCE_DIR");
  std::vector<medsoc::Error> errors;
  auto db = FingerprintDb::LoadDir(std::string(src ? src : ".") + "/content/fingerprints", errors);
  if (!db.ok()) {
    std::fprintf(stderr, "%s\n", db.error().ToString().c_str());
    return 1;
  }

  // ---- 1. port scan ----
  const int kPorts = 2000;
  std::vector<int> listeners;
  std::vector<std::uint16_t> ports;
  for (int i = 0; i < kPorts; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 4096) != 0) {
      close(fd);
      continue;
    }
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    listeners.push_back(fd);
    ports.push_back(ntohs(a.sin_port));
  }
  std::vector<double> base, ours;
  ScanOptions opt;
  opt.ports.tcp = ports;
  opt.policy.rate = 0;
  opt.identify = false;
  opt.resolve = false;
  opt.discovery = false;
  opt.scan_type = ScanType::kConnect;
  Scanner scanner(*db, std::shared_ptr<const OuiDb>());
  auto targets = TargetSet::Parse("127.0.0.1");
  for (int run = 0; run < 5; ++run) {
    base.push_back(BlockingScan(ports));
    auto t0 = Clock::now();
    auto r = scanner.Run(*targets, opt);
    ours.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    if (!r.ok() || r->hosts.empty() || r->hosts[0].services.size() != ports.size())
      std::fprintf(stderr, "scan: unexpected result\n");
  }
  {
    ScanOptions one = opt;
    one.ports.tcp = {ports[0]};
    auto t0 = Clock::now();
    (void)scanner.Run(*targets, one);
    std::printf("fixed cost of a scan (1 port): %.2f ms\n", std::chrono::duration<double>(Clock::now() - t0).count() * 1e3);
  }
  const double b = Median(base), o = Median(ours);
  std::printf("port scan, %zu open loopback ports (median of 5):\n", ports.size());
  std::printf("  baseline blocking connect loop  %8.1f ms  %9.0f ports/s\n", b * 1e3, ports.size() / b);
  std::printf("  medsoc async connect scan       %8.1f ms  %9.0f ports/s\n", o * 1e3, ports.size() / o);
  std::printf("  ratio (baseline / medsoc)       %8.2fx\n", b / o);

  // ---- 1b. SYN scan versus connect scan, open and closed ports ----
  if (RawSocketsAvailable()) {
    std::vector<int> closed_fds;
    ScanOptions mixed = opt;
    for (int i = 0; i < kPorts; ++i) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof a;
      if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
          getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        close(fd);
        continue;
      }
      closed_fds.push_back(fd);  // bound, never listening: the kernel answers RST
      mixed.ports.tcp.push_back(ntohs(a.sin_port));
    }
    std::sort(mixed.ports.tcp.begin(), mixed.ports.tcp.end());
    ScanOptions syn = mixed;
    syn.scan_type = ScanType::kSyn;
    std::vector<double> conn_t, syn_t;
    std::uint64_t raw_probes = 0;
    for (int run = 0; run < 5; ++run) {
      auto t0 = Clock::now();
      auto c = scanner.Run(*targets, mixed);
      conn_t.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
      t0 = Clock::now();
      auto r = scanner.Run(*targets, syn);
      syn_t.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
      if (!r.ok() || !c.ok() || r->hosts.size() != 1 || c->hosts.size() != 1 ||
          r->hosts[0].services.size() != ports.size() || c->hosts[0].services.size() != ports.size())
        std::fprintf(stderr, "syn/connect scan: unexpected result\n");
      else
        raw_probes = r->stats.raw_probes;
    }
    const double ct = Median(conn_t), st = Median(syn_t);
    const size_t n = mixed.ports.tcp.size();
    std::printf("SYN vs connect, %zu loopback ports (%zu open, %zu closed; median of 5):\n", n, ports.size(),
                n - ports.size());
    std::printf("  medsoc async connect scan       %8.1f ms  %9.0f ports/s\n", ct * 1e3, n / ct);
    std::printf("  medsoc SYN scan (raw sockets)   %8.1f ms  %9.0f ports/s  (%llu probes)\n", st * 1e3, n / st,
                static_cast<unsigned long long>(raw_probes));
    std::printf("  ratio (connect / SYN)           %8.2fx\n", ct / st);
    for (int fd : closed_fds) close(fd);
  } else {
    std::printf("SYN scan: skipped (no CAP_NET_RAW)\n");
  }
  for (int fd : listeners) close(fd);

  // ---- 2. identification ----
  static const char kMysql[] = "\x4a\x00\x00\x00\x0a" "8.0.35-0ubuntu0.22.04.1\x00\x08\x00\x00\x00";
  const std::vector<std::pair<std::string, std::string>> corpus = {
      {"null", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"},
      {"null", "220 (vsFTPd 3.0.3)\r\n"},
      {"null", "220 mail.hospital.example ESMTP Postfix (Debian/GNU)\r\n"},
      {"null", std::string(kMysql, sizeof kMysql - 1)},
      {"http-get", "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\n\r\n<html><head><title>HIS</title></head></html>"},
      {"http-get", "HTTP/1.1 404 Not Found\r\nServer: Apache/2.4.57 (Debian)\r\n\r\n<html><title>404</title></html>"},
      {"http-get", "HTTP/1.1 403 Forbidden\r\nX-Jenkins: 2.426.1\r\nServer: Jetty(10.0.13)\r\n\r\n"},
      {"redis-info", "$120\r\n# Server\r\nredis_version:7.0.15\r\n"},
  };
  const int kIter = 20000;
  auto time_it = [&](bool match) {
    std::size_t hits = 0;
    auto t0 = Clock::now();
    for (int i = 0; i < kIter; ++i) {
      const auto& [probe, resp] = corpus[i % corpus.size()];
      Fields f = DecodeAll(resp);
      if (match) hits += (*db)->Identify(probe, resp, f).matched;
      else hits += f.size();
    }
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (hits == 0) std::fprintf(stderr, "nothing matched\n");
    return s;
  };
  std::vector<double> dec, full;
  for (int run = 0; run < 3; ++run) {
    dec.push_back(time_it(false));
    full.push_back(time_it(true));
  }
  const double d = Median(dec), f = Median(full);
  std::printf("identification, %zu matches in the database, %d responses (median of 3):\n", (*db)->match_count(), kIter);
  std::printf("  decode only (baseline)          %8.2f us/response\n", d / kIter * 1e6);
  std::printf("  decode + identify               %8.2f us/response  (%.0f responses/s)\n", f / kIter * 1e6, kIter / f);
  std::printf("  ratio (full / decode only)      %8.2fx\n", f / d);
  return 0;
}
