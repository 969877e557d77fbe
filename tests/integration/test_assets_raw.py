"""Privileged discovery over raw sockets (src/assets/raw_scan.h) against two network namespaces this
test creates on a bridge of its own: ARP finds the hosts and their MACs (the neighbour table is
flushed first, so the answers are the scanner's own), ICMP echo finds a host with no open ports,
a SYN scan finds exactly the ports the test opened and agrees with the connect scan, and without
CAP_NET_RAW `--scan-type syn` is refused while `auto` falls back to connect. Needs root and
`ip netns`; skipped otherwise. Scans touch only the namespaces' addresses (the bridge address is
this host and is never a target)."""
import json
import os
import shutil
import subprocess
import sys
import unittest

from harness import BIN
from test_assets_scan import wait_port

OPEN_PORTS = [22, 104, 4242]  # opened in ns0 by this test; ns1 opens none


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


def netns_available():
    if os.geteuid() != 0 or not shutil.which("ip"):
        return False
    name = f"msr-probe-{os.getpid()}"
    ok = subprocess.run(["ip", "netns", "add", name], capture_output=True).returncode == 0
    if ok:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return ok


LISTENER = """
import socket, sys, time
socks = []
for p in sys.argv[1:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(p)))
    s.listen(128)
    socks.append(s)
time.sleep(3600)
"""


@unittest.skipUnless(netns_available(), "needs root and ip netns")
class RawDiscovery(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tag = os.getpid() % 10000
        cls.bridge = f"msrb{tag}"
        cls.net = f"10.{150 + os.getpid() % 40}.{os.getpid() % 250}"
        cls.ns, cls.procs, cls.macs = [], [], {}
        sh("ip", "link", "add", cls.bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{cls.net}.1/24", "dev", cls.bridge)
        sh("ip", "link", "set", cls.bridge, "up")
        for i in range(2):
            ns, host_if, ns_if = f"msr{tag}n{i}", f"msr{tag}h{i}", f"msr{tag}p{i}"
            sh("ip", "netns", "add", ns)
            cls.ns.append(ns)
            sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if)
            sh("ip", "link", "set", ns_if, "netns", ns)
            sh("ip", "link", "set", host_if, "master", cls.bridge)
            sh("ip", "link", "set", host_if, "up")
            sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"{cls.net}.{10 + i}/24", "dev", ns_if)
            sh("ip", "netns", "exec", ns, "ip", "link", "set", ns_if, "up")
            sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
            cls.macs[f"{cls.net}.{10 + i}"] = sh("ip", "netns", "exec", ns, "cat",
                                                 f"/sys/class/net/{ns_if}/address").stdout.strip()
        cls.procs.append(subprocess.Popen(["ip", "netns", "exec", cls.ns[0], sys.executable, "-c", LISTENER]
                                          + [str(p) for p in OPEN_PORTS]))
        for p in OPEN_PORTS:
            assert wait_port(p, f"{cls.net}.10"), f"port {p} did not start"
        cls.targets = f"{cls.net}.10-20"  # .12-.20 are not there: ARP and echo go unanswered

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs:
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        for ns in cls.ns:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", cls.bridge], capture_output=True)

    def scan(self, *args, prefix=(), ok=True):
        sh("ip", "neigh", "flush", "dev", self.bridge, check=False)
        r = subprocess.run(list(prefix) + [BIN, "scan", "--targets", self.targets, "--format", "json", "-n",
                                           "--timeout-ms", "800"] + list(args),
                           capture_output=True, text=True, timeout=300)
        if not ok:
            return r
        self.assertEqual(r.returncode, 0, r.stderr)
        return {h["ip"]: h for h in json.loads(r.stdout)}

    def test_arp_discovery_finds_hosts_and_macs(self):
        hosts = self.scan("--scan-type", "syn", "--ports", "none", "--ping", "arp")
        self.assertEqual(sorted(hosts), sorted(self.macs))
        for ip, mac in self.macs.items():
            self.assertEqual(hosts[ip]["up_reason"], "arp")
            self.assertEqual(hosts[ip]["mac"], mac)
            self.assertEqual(hosts[ip]["services"], [])

    def test_icmp_finds_host_without_open_ports(self):
        hosts = self.scan("--scan-type", "syn", "--ports", "none", "--ping", "icmp")
        self.assertEqual(sorted(hosts), sorted(self.macs))
        self.assertEqual(hosts[f"{self.net}.11"]["up_reason"], "icmp")
        self.assertEqual(hosts[f"{self.net}.10"]["up_reason"], "icmp")

    def test_syn_ping_only_finds_hosts(self):
        # SYN pings go to the most common scanned ports; a RST proves the host as well as a SYN-ACK.
        hosts = self.scan("--scan-type", "syn", "--ports", "80,443", "--ping", "syn", "--no-identify")
        self.assertEqual(sorted(hosts), sorted(self.macs))
        self.assertEqual({h["up_reason"] for h in hosts.values()}, {"tcp"})

    def test_syn_scan_finds_exactly_the_open_ports_and_agrees_with_connect(self):
        ports = "1-5000"
        syn = self.scan("--scan-type", "syn", "--ports", ports, "--no-identify", "--rate", "20000")
        conn = self.scan("--scan-type", "connect", "--ports", ports, "--no-identify", "--rate", "20000")
        self.assertEqual(sorted(syn), sorted(self.macs))
        self.assertEqual([s["port"] for s in syn[f"{self.net}.10"]["services"]], OPEN_PORTS)
        self.assertEqual(syn[f"{self.net}.11"]["services"], [])
        self.assertEqual(sorted(conn), sorted(syn))
        for ip in syn:
            self.assertEqual(syn[ip]["services"], conn[ip]["services"])  # the same shape and content
            self.assertEqual(syn[ip]["mac"], self.macs[ip])

    def test_syn_scan_identifies_services_like_connect(self):
        hosts = self.scan("--scan-type", "syn", "--ports", ",".join(map(str, OPEN_PORTS)))
        self.assertEqual(sorted(s["port"] for s in hosts[f"{self.net}.10"]["services"]), OPEN_PORTS)
        for s in hosts[f"{self.net}.10"]["services"]:
            self.assertEqual(set(s), {"port", "proto", "service", "product", "version", "cpe", "tls", "extra"})

    def test_without_cap_net_raw(self):
        if not shutil.which("setpriv"):
            self.skipTest("needs setpriv")
        drop = ("setpriv", "--bounding-set", "-net_raw", "--inh-caps", "-net_raw")
        r = self.scan("--scan-type", "syn", "--ports", "104", prefix=drop, ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("CAP_NET_RAW", r.stderr)
        hosts = self.scan("--ports", ",".join(map(str, OPEN_PORTS)), "--no-identify", prefix=drop)
        self.assertEqual([s["port"] for s in hosts[f"{self.net}.10"]["services"]], OPEN_PORTS)


if __name__ == "__main__":
    unittest.main()
