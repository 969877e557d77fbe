"""Discovery against hosts in network namespaces this test creates (ip netns + veth on a bridge of
its own): host discovery, MAC addresses from the neighbour table with their IEEE vendor, the
fragile class (a device with a medical vendor's MAC gets light probes only), DICOM on 104 and HL7
on 2575 inside the namespaces. Needs root and `ip netns`; skipped otherwise. The scan targets only
the namespaces' addresses, never the bridge address (which is this host)."""
import json
import os
import shutil
import subprocess
import sys
import time
import unittest

from harness import BIN
from test_assets_scan import DICOM_UID, wait_port

HERE = os.path.dirname(os.path.abspath(__file__))


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


def netns_available():
    if os.geteuid() != 0 or not shutil.which("ip"):
        return False
    name = f"msa-probe-{os.getpid()}"
    ok = subprocess.run(["ip", "netns", "add", name], capture_output=True).returncode == 0
    if ok:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return ok


def vendor_oui(name):
    """An IEEE MA-L assignment of a vendor, read from Debian's ieee-data."""
    with open("/usr/share/ieee-data/oui.csv", encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.split(",")
            if len(parts) > 2 and parts[0] == "MA-L" and name.lower() in parts[2].lower():
                return parts[1]
    return None


@unittest.skipUnless(netns_available(), "needs root and ip netns")
class NetnsDiscovery(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tag = os.getpid() % 10000
        cls.bridge = f"msab{tag}"
        cls.net = f"10.{200 + os.getpid() % 50}.{os.getpid() % 250}"
        cls.ns = []
        cls.procs = []
        sh("ip", "link", "add", cls.bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{cls.net}.1/24", "dev", cls.bridge)
        sh("ip", "link", "set", cls.bridge, "up")
        cls.oui = vendor_oui("GE Healthcare") or vendor_oui("Siemens Healthineers")
        cls.macs = {}
        for i in range(3):
            ns = f"msa{tag}n{i}"
            host_if, ns_if = f"msa{tag}h{i}", f"msa{tag}p{i}"
            sh("ip", "netns", "add", ns)
            cls.ns.append(ns)
            sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if)
            sh("ip", "link", "set", ns_if, "netns", ns)
            sh("ip", "link", "set", host_if, "master", cls.bridge)
            sh("ip", "link", "set", host_if, "up")
            if i == 0 and cls.oui:
                mac = ":".join([cls.oui[0:2], cls.oui[2:4], cls.oui[4:6], "12", "34", "56"]).lower()
                sh("ip", "netns", "exec", ns, "ip", "link", "set", ns_if, "address", mac)
            sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"{cls.net}.{10 + i}/24", "dev", ns_if)
            sh("ip", "netns", "exec", ns, "ip", "link", "set", ns_if, "up")
            sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
            cls.macs[f"{cls.net}.{10 + i}"] = sh("ip", "netns", "exec", ns, "cat", f"/sys/class/net/{ns_if}/address").stdout.strip()
        py = sys.executable
        resp = os.path.join(HERE, "test_assets_scan.py")
        # ns0: a DICOM node (fragile by its vendor); ns1: an HL7 interface engine and a web server;
        # ns2: no services at all.
        cls.procs.append(subprocess.Popen(["ip", "netns", "exec", cls.ns[0], py, resp, "serve", "dicom", "0.0.0.0", "104"]))
        cls.procs.append(subprocess.Popen(["ip", "netns", "exec", cls.ns[1], py, resp, "serve", "hl7", "0.0.0.0", "2575"]))
        cls.procs.append(subprocess.Popen(["ip", "netns", "exec", cls.ns[1], py, "-m", "http.server", "--bind",
                                           "0.0.0.0", "80"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for host, port in ((f"{cls.net}.10", 104), (f"{cls.net}.11", 2575), (f"{cls.net}.11", 80)):
            assert wait_port(port, host), f"{host}:{port} did not start"
        r = subprocess.run([BIN, "scan", "--targets", f"{cls.net}.10-20", "--ports", "top100", "--format", "json",
                            "-n", "--rate", "2000"], capture_output=True, text=True, timeout=600)
        cls.result = r
        cls.hosts = {h["ip"]: h for h in json.loads(r.stdout)} if r.returncode == 0 else {}

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

    def test_discovers_exactly_the_namespace_hosts(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)
        self.assertEqual(sorted(self.hosts), sorted(f"{self.net}.{10 + i}" for i in range(3)))

    def test_macs_and_vendor(self):
        for ip, mac in self.macs.items():
            self.assertEqual(self.hosts[ip]["mac"], mac)
        if self.oui:
            self.assertNotEqual(self.hosts[f"{self.net}.10"]["vendor"], "")

    def test_dicom_node_is_fragile_and_identified(self):
        h = self.hosts[f"{self.net}.10"]
        if self.oui:
            self.assertTrue(h["fragile"])
        svc = {s["port"]: s for s in h["services"]}
        self.assertEqual(svc[104]["service"], "dicom")
        self.assertEqual(svc[104]["extra"]["implementation_uid"], DICOM_UID)
        self.assertEqual(h["device"], "dicom")

    def test_hl7_and_http(self):
        svc = {s["port"]: s for s in self.hosts[f"{self.net}.11"]["services"]}
        self.assertEqual(svc[2575]["service"], "hl7-mllp")
        self.assertEqual(svc[2575]["product"], "HISENGINE")
        self.assertEqual(svc[80]["service"], "http")
        self.assertEqual(svc[80]["product"], "SimpleHTTPServer")

    def test_host_without_services_is_up(self):
        self.assertEqual(self.hosts[f"{self.net}.12"]["services"], [])


if __name__ == "__main__":
    unittest.main()
