"""UDP scanning of common services against a host in a network namespace this test creates (ip
netns + veth): DNS (version.bind), NTP, SNMP (sysDescr with the configured community only),
NetBIOS-NS node status, SSDP and mDNS (DNS-SD service enumeration), each answered by a responder
implemented below that speaks the protocol and answers only a well-formed request. A port with
nothing bound answers ICMP port unreachable: closed, not reported. Needs root and `ip netns`;
skipped otherwise. The scan targets only the namespace's address.

Run as `python3 test_assets_udp.py serve ADDRESS` inside the namespace, this file is the responder."""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))

SYSDESCR = b"Linux pacs-gw01 5.10.0-28-amd64 #1 SMP Debian 5.10.209-2 x86_64"
OID_SYSDESCR = bytes([0x2B, 6, 1, 2, 1, 1, 1, 0])
OID_SYSNAME = bytes([0x2B, 6, 1, 2, 1, 1, 5, 0])


# ---- responders ----

def dns_name(dotted):
    return b"".join(bytes([len(p)]) + p.encode() for p in dotted.split(".") if p) + b"\0"


def skip_name(msg, pos):
    while msg[pos] != 0:
        if msg[pos] & 0xC0 == 0xC0:
            return pos + 2
        pos += 1 + msg[pos]
    return pos + 1


def answer_dns(req):
    """version.bind CH TXT, as BIND answers it."""
    if len(req) < 17 or req[2] & 0x80:
        return None
    end = skip_name(req, 12)
    qname, (qtype, qclass) = req[12:end], struct.unpack("!HH", req[end:end + 4])
    if qname != dns_name("version.bind") or qtype != 16 or qclass != 3:
        return None
    txt = b"9.18.19-1~deb12u1-Debian"
    rr = b"\xc0\x0c" + struct.pack("!HHIH", 16, 3, 0, len(txt) + 1) + bytes([len(txt)]) + txt
    return req[:2] + b"\x84\x00" + struct.pack("!HHHH", 1, 1, 0, 0) + req[12:end + 4] + rr


def answer_ntp(req):
    """A server (mode 4) reply, stratum 2, to a client (mode 3) request."""
    if len(req) < 48 or req[0] & 7 != 3:
        return None
    reply = bytearray(48)
    reply[0] = (0 << 6) | (4 << 3) | 4
    reply[1] = 2
    reply[12:16] = bytes([192, 0, 2, 123])
    reply[24:32] = req[40:48]  # origin timestamp = the client's transmit timestamp
    return bytes(reply)


def ber(tag, value):
    n = len(value)
    length = bytes([n]) if n < 128 else bytes([0x81, n]) if n < 256 else bytes([0x82, n >> 8, n & 255])
    return bytes([tag]) + length + value


def ber_read(data, pos):
    tag, n = data[pos], data[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(data[pos:pos + k], "big")
        pos += k
    return tag, data[pos:pos + n], pos + n


def answer_snmp(req, community=b"public"):
    """GetResponse with sysDescr and sysName to a v1/v2c GetRequest with the right community."""
    try:
        tag, msg, _ = ber_read(req, 0)
        _, version, p = ber_read(msg, 0)
        _, comm, p = ber_read(msg, p)
        pdu_tag, pdu, _ = ber_read(msg, p)
        _, reqid, _ = ber_read(pdu, 0)
    except IndexError:
        return None
    if tag != 0x30 or pdu_tag != 0xA0 or comm != community:
        return None  # a wrong community gets silence, as real agents do
    vbs = ber(0x30, ber(0x06, OID_SYSDESCR) + ber(0x04, SYSDESCR)) + \
        ber(0x30, ber(0x06, OID_SYSNAME) + ber(0x04, b"pacs-gw01"))
    pdu = ber(0x02, reqid) + ber(0x02, b"\0") + ber(0x02, b"\0") + ber(0x30, vbs)
    return ber(0x30, ber(0x02, version) + ber(0x04, comm) + ber(0xA2, pdu))


def answer_netbios(req):
    """NBSTAT node status response: a unique workstation name, a group name and the MAC."""
    if len(req) < 50 or req[2] & 0x80 or req[-4:] != b"\x00\x21\x00\x01":
        return None
    names = [(b"RIS-WS07", 0x00, 0x0400), (b"RADIOLOGY", 0x00, 0x8400), (b"RIS-WS07", 0x20, 0x0400)]
    body = bytes([len(names)]) + b"".join(n.ljust(15) + bytes([s]) + struct.pack("!H", f) for n, s, f in names)
    body += bytes([0x00, 0x0C, 0x29, 0xAB, 0xCD, 0xEF]) + bytes(40)
    rr = req[12:12 + 34] + struct.pack("!HHIH", 0x21, 1, 0, len(body)) + body
    return req[:2] + b"\x84\x00" + struct.pack("!HHHH", 0, 1, 0, 0) + rr


def answer_ssdp(req):
    if not req.startswith(b"M-SEARCH * HTTP/1.1\r\n") or b'ssdp:discover' not in req:
        return None
    return (b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\nLOCATION: http://10.0.0.9:49152/desc.xml\r\n"
            b"SERVER: Linux/5.10 UPnP/1.0 Philips-IntelliVue-Gateway/2.1\r\nST: upnp:rootdevice\r\n"
            b"USN: uuid:1234::upnp:rootdevice\r\n\r\n")


def answer_mdns(req):
    """A legacy-unicast answer (RFC 6762 6.7) to the DNS-SD service enumeration query: PTR records
    of the service types, plus the device's address record in the additional section."""
    if len(req) < 17 or req[2] & 0x80:
        return None
    end = skip_name(req, 12)
    if req[12:end] != dns_name("_services._dns-sd._udp.local") or req[end:end + 2] != b"\x00\x0c":
        return None
    question = req[12:end] + b"\x00\x0c\x00\x01"
    answers = b""
    for svc in ("_ipp._tcp.local", "_http._tcp.local"):
        target = dns_name(svc)
        answers += b"\xc0\x0c" + struct.pack("!HHIH", 12, 1, 10, len(target)) + target
    host = dns_name("printer-3f.local")
    additional = host + struct.pack("!HHIH", 1, 0x8001, 120, 4) + bytes([10, 0, 0, 9])
    return req[:2] + b"\x84\x00" + struct.pack("!HHHH", 1, 2, 0, 1) + question + answers + additional


RESPONDERS = {53: answer_dns, 123: answer_ntp, 161: answer_snmp, 137: answer_netbios, 1900: answer_ssdp,
              5353: answer_mdns}


def serve(address):
    def loop(port, fn):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((address, port))
        while True:
            data, peer = s.recvfrom(65536)
            reply = fn(data)
            if reply:
                s.sendto(reply, peer)
    for port, fn in RESPONDERS.items():
        threading.Thread(target=loop, args=(port, fn), daemon=True).start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


# ---- the test ----

def netns_available():
    if os.geteuid() != 0 or not shutil.which("ip"):
        return False
    name = f"msu-probe-{os.getpid()}"
    ok = subprocess.run(["ip", "netns", "add", name], capture_output=True).returncode == 0
    if ok:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return ok


def sh(*args):
    return subprocess.run(list(args), capture_output=True, text=True, check=True)


@unittest.skipUnless(netns_available(), "needs root and ip netns")
class UdpServices(unittest.TestCase):
    PORTS = "U:53,69,123,137,161,1900,5353"

    @classmethod
    def setUpClass(cls):
        from harness import BIN
        tag = os.getpid() % 10000
        cls.ns, cls.host_if = f"msu{tag}", f"msu{tag}h"
        net = f"10.{200 + os.getpid() % 50}.{(os.getpid() // 50) % 250}"
        cls.host_ip, cls.target = f"{net}.1", f"{net}.2"
        sh("ip", "netns", "add", cls.ns)
        sh("ip", "link", "add", cls.host_if, "type", "veth", "peer", "name", f"msu{tag}p")
        sh("ip", "link", "set", f"msu{tag}p", "netns", cls.ns)
        sh("ip", "addr", "add", f"{cls.host_ip}/30", "dev", cls.host_if)
        sh("ip", "link", "set", cls.host_if, "up")
        sh("ip", "netns", "exec", cls.ns, "ip", "addr", "add", f"{cls.target}/30", "dev", f"msu{tag}p")
        sh("ip", "netns", "exec", cls.ns, "ip", "link", "set", f"msu{tag}p", "up")
        sh("ip", "netns", "exec", cls.ns, "ip", "link", "set", "lo", "up")
        cls.proc = subprocess.Popen(["ip", "netns", "exec", cls.ns, sys.executable, os.path.abspath(__file__), "serve",
                                     cls.target], stdout=subprocess.PIPE, text=True)
        assert cls.proc.stdout.readline().strip() == "ready"

        def scan(*extra, ports=cls.PORTS):
            r = subprocess.run([BIN, "scan", "--targets", cls.target, "--ports", ports, "--format", "json", "-n",
                                "--scan-type", "connect", *extra], capture_output=True, text=True, timeout=300)
            hosts = {h["ip"]: h for h in json.loads(r.stdout)} if r.returncode == 0 else {}
            return r, hosts
        cls.result, cls.hosts = scan("--snmp-community", "public")
        cls.result_nocomm, cls.hosts_nocomm = scan()
        cls.result_closed, cls.hosts_closed = scan(ports="U:69")
        # The same host with a medical vendor's MAC: fragile, so only fragile_safe UDP probes (NTP,
        # mDNS) carry payloads; DNS gets an empty datagram, which the responder does not answer.
        from test_assets_netns import vendor_oui
        cls.oui = vendor_oui("GE Healthcare") or vendor_oui("Siemens Healthineers")
        if cls.oui:
            mac = ":".join([cls.oui[0:2], cls.oui[2:4], cls.oui[4:6], "12", "34", "57"]).lower()
            sh("ip", "netns", "exec", cls.ns, "ip", "link", "set", "dev", f"msu{tag}p", "address", mac)
            subprocess.run(["ip", "neigh", "flush", "dev", cls.host_if], capture_output=True)
            # A TCP port first (closed here), as in any mixed scan: its connect fills the neighbour
            # table, so the vendor is known before the UDP phase.
            cls.result_fragile, cls.hosts_fragile = scan(ports="T:80,U:53,123,5353")

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", cls.ns], capture_output=True)
        subprocess.run(["ip", "link", "del", cls.host_if], capture_output=True)

    def services(self, hosts=None):
        h = (hosts if hosts is not None else self.hosts)[self.target]
        return {s["port"]: s for s in h["services"] if s["proto"] == "udp"}

    def test_scan_succeeds_and_host_is_up_by_udp(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)
        self.assertEqual(list(self.hosts), [self.target])
        self.assertEqual(self.hosts[self.target]["up_reason"], "udp")

    def test_closed_port_is_not_reported(self):
        # 69/udp: nothing bound, the namespace's kernel answers ICMP port unreachable.
        self.assertNotIn(69, self.services())
        self.assertEqual(sorted(self.services()), [53, 123, 137, 161, 1900, 5353])

    def test_icmp_port_unreachable_shows_the_host_up_with_the_port_closed(self):
        self.assertEqual(self.result_closed.returncode, 0, self.result_closed.stderr)
        host = self.hosts_closed[self.target]
        self.assertEqual(host["up_reason"], "udp")
        self.assertEqual(host["services"], [])

    def test_fragile_vendor_gets_only_fragile_safe_udp_probes(self):
        if not self.oui:
            self.skipTest("no medical vendor in ieee-data")
        self.assertEqual(self.result_fragile.returncode, 0, self.result_fragile.stderr)
        host = self.hosts_fragile[self.target]
        self.assertTrue(host["fragile"])
        self.assertEqual(sorted(self.services(self.hosts_fragile)), [123, 5353])

    def test_dns_version(self):
        dns = self.services()[53]
        self.assertEqual((dns["service"], dns["product"], dns["version"]), ("domain", "ISC BIND", "9.18.19"))
        self.assertEqual(dns["cpe"], "cpe:2.3:a:isc:bind:9.18.19:*:*:*:*:*:*:*")

    def test_ntp(self):
        ntp = self.services()[123]
        self.assertEqual(ntp["service"], "ntp")
        self.assertEqual(ntp["extra"]["ntp_stratum"], "2")
        self.assertEqual(ntp["extra"]["ntp_refid"], "192.0.2.123")

    def test_snmp_sysdescr_only_with_the_community(self):
        snmp = self.services()[161]
        self.assertEqual(snmp["service"], "snmp")
        self.assertEqual(snmp["extra"]["snmp_sysdescr"], SYSDESCR.decode())
        # Without a configured community no SNMP request is sent: the agent stays silent.
        self.assertEqual(self.result_nocomm.returncode, 0, self.result_nocomm.stderr)
        self.assertNotIn(161, self.services(self.hosts_nocomm))

    def test_netbios_name_and_mac(self):
        nb = self.services()[137]
        self.assertEqual(nb["service"], "netbios-ns")
        self.assertEqual(nb["extra"]["netbios_name"].strip(), "RIS-WS07")
        self.assertEqual(nb["extra"]["netbios_domain"].strip(), "RADIOLOGY")

    def test_ssdp_server(self):
        ssdp = self.services()[1900]
        self.assertEqual(ssdp["service"], "ssdp")
        self.assertEqual(ssdp["product"], "Linux/5.10 UPnP/1.0 Philips-IntelliVue-Gateway/2.1")

    def test_mdns_service_enumeration(self):
        mdns = self.services()[5353]
        self.assertEqual(mdns["service"], "mdns")
        self.assertEqual(mdns["extra"]["mdns_services"], "_ipp._tcp.local,_http._tcp.local")
        self.assertEqual(mdns["extra"]["mdns_hostname"], "printer-3f")
        self.assertEqual(self.hosts[self.target]["device"], "printer")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        serve(sys.argv[2])
    else:
        unittest.main()
