"""Ingest against the real server: syslog over TCP (LF and octet counting), UDP and TLS to
listeners configured on ports chosen by the test; HTTP ingest with an API token (NDJSON, JSON
array, gzip, zstd, limits); a tailed file with rotation. Needs the ingest wiring in serve.cpp."""
import gzip
import json
import os
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from harness import Server, ServerTest
from ingest_util import all_events, free_port, ingest_token, post_ingest, raw_of, wait_for

TCP, UDP, TLS = free_port(), free_port(socket.SOCK_DGRAM), free_port()
WORK = tempfile.mkdtemp(prefix="medsoc-ingest-it-")
LOG = os.path.join(WORK, "app.log")
CERT, KEY = os.path.join(WORK, "cert.pem"), os.path.join(WORK, "key.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1",
                "-keyout", KEY, "-out", CERT], check=True, capture_output=True)
open(LOG, "w").close()

CONFIG = f"""
ingest:
  batch_millis: 20
  listeners:
    - name: tcp-test
      protocol: tcp
      listen: 127.0.0.1:{TCP}
      source: fw-tcp
    - name: udp-test
      protocol: udp
      listen: 127.0.0.1:{UDP}
      source: fw-udp
    - name: tls-test
      protocol: tls
      listen: 127.0.0.1:{TLS}
      source: fw-tls
      tls:
        cert_file: {CERT}
        key_file: {KEY}
    - name: closed
      protocol: tcp
      listen: 127.0.0.1:{free_port()}
      allow: [10.9.9.0/24]
  files:
    - path: {LOG}*
      source: app-file
      poll_interval_ms: 50
"""

RFC3164 = "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8 #{}"



class IngestTest(ServerTest):
    config_extra = CONFIG

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.token = ingest_token(cls.server)

    def count_marker(self, marker):
        return sum(1 for e in all_events(self.server, marker) if marker in raw_of(e))

    def count_markers(self, prefix, n):
        # Free text matches whole words (docs/search.md), so look for each numbered marker.
        return sum(self.count_marker(f"{prefix}{i}") for i in range(n))

    def wait_count(self, prefix, n):
        """Events carrying the markers prefix0 .. prefix{n-1} (or prefix itself when it ends in a
        digit), waiting until n are stored."""
        if prefix[-1].isdigit():
            return wait_for(lambda: self.count_marker(prefix) >= n) and self.count_marker(prefix)
        return wait_for(lambda: self.count_markers(prefix, n) >= n) and self.count_markers(prefix, n)

    def test_tcp_lf_and_octet_counting(self):
        s = socket.create_connection(("127.0.0.1", TCP))
        s.sendall("".join(RFC3164.format(f"lf{i}") + "\n" for i in range(3)).encode())
        s.close()
        s = socket.create_connection(("127.0.0.1", TCP))
        msgs = [RFC3164.format(f"oc{i}") for i in range(3)]
        s.sendall("".join(f"{len(m.encode())} {m}" for m in msgs).encode())
        s.close()
        self.assertEqual(self.wait_count("#lf", 3), 3)
        self.assertEqual(self.wait_count("#oc", 3), 3)
        ev = [e for e in all_events(self.server, "#oc0") if "#oc0" in raw_of(e)][0]
        self.assertEqual(ev.get("source"), "fw-tcp")

    def test_udp(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(5):
            s.sendto(RFC3164.format(f"udp{i}").encode(), ("127.0.0.1", UDP))
        s.close()
        self.assertGreaterEqual(self.wait_count("#udp", 5), 5)

    def test_tls(self):
        ctx = ssl.create_default_context(cafile=CERT)
        with socket.create_connection(("127.0.0.1", TLS)) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                self.assertIn(s.version(), ("TLSv1.2", "TLSv1.3"))
                m = RFC3164.format("tls0")
                s.sendall(f"{len(m)} {m}".encode())
        self.assertEqual(self.wait_count("#tls0", 1), 1)
        # TLS 1.1 is refused.
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.check_hostname = False
        old.verify_mode = ssl.CERT_NONE
        old.maximum_version = ssl.TLSVersion.TLSv1_1
        with self.assertRaises((ssl.SSLError, OSError)):
            with socket.create_connection(("127.0.0.1", TLS)) as raw:
                old.wrap_socket(raw).do_handshake()

    def test_http_ndjson_array_gzip_zstd(self):
        body = "\n".join(json.dumps({"message": f"http-nd-{i}", "n": i}) for i in range(4)).encode()
        r = post_ingest(self.server, self.token, body, query="?source=his-app")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["accepted"], 4)
        arr = json.dumps([{"message": "http-arr-0"}, {"message": "http-arr-1"}]).encode()
        r = post_ingest(self.server, self.token, arr, headers={"Content-Type": "application/json"})
        self.assertEqual(r.json()["accepted"], 2, r)
        r = post_ingest(self.server, self.token, gzip.compress(b'{"message":"http-gz-0"}\n'),
                        headers={"Content-Encoding": "gzip"})
        self.assertEqual(r.status, 200, r)
        try:
            z = subprocess.run(["zstd", "-q", "-c"], input=b'{"message":"http-zst-0"}\n', capture_output=True,
                               check=True).stdout
        except FileNotFoundError:
            z = None
        if z:
            r = post_ingest(self.server, self.token, z, headers={"Content-Encoding": "zstd"})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(self.count_marker("http-zst-0"), 1)
        # Durable before the answer: visible at once.
        self.assertEqual(self.count_marker("http-nd-"), 4)
        self.assertEqual(self.count_marker("http-arr-"), 2)
        self.assertEqual(self.count_marker("http-gz-0"), 1)
        ev = [e for e in all_events(self.server, "http-nd-0") if "http-nd-0" in raw_of(e)][0]
        self.assertEqual(ev.get("source"), "his-app")
        self.assertEqual(json.loads(raw_of(ev))["n"], 0)

    def test_http_errors(self):
        r = post_ingest(self.server, self.token, b"[{\"a\":1}")
        self.assertEqual(r.status, 400, r)
        r = post_ingest(self.server, self.token, b"x", headers={"Content-Encoding": "br"})
        self.assertEqual(r.status, 415, r)
        bomb = gzip.compress(b"\0" * (80 << 20))
        r = post_ingest(self.server, self.token, bomb, headers={"Content-Encoding": "gzip"})
        self.assertEqual(r.status, 413, r)
        # A session without ingest.write, and no credentials at all.
        r = self.server.request("POST", "/api/v1/ingest", raw_body=b"{}")
        self.assertEqual(r.status, 401, r)

    def test_broken_line_is_stored_raw_with_error(self):
        r = post_ingest(self.server, self.token, b'{"message":"ok-line-x"}\nnot json at all broken-line-x\n',
                        query="?format=json")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"accepted": 2, "failed_to_parse": 1})
        ev = [e for e in all_events(self.server, "broken-line-x") if "broken-line-x" in raw_of(e)]
        self.assertEqual(len(ev), 1)
        self.assertTrue(ev[0].get("parse_error"))

    def test_file_tail_with_rotation(self):
        with open(LOG, "a") as f:
            for i in range(3):
                f.write(RFC3164.format(f"file{i}") + "\n")
        self.assertEqual(self.wait_count("#file", 3), 3)
        os.rename(LOG, LOG + ".1")
        with open(LOG + ".1", "a") as f:
            f.write(RFC3164.format("file3") + "\n")
        with open(LOG, "a") as f:
            f.write(RFC3164.format("file4") + "\n")
        self.assertEqual(self.wait_count("#file", 5), 5)
        time.sleep(1)
        self.assertEqual(self.count_markers("#file", 5), 5)  # nothing twice

    def test_metrics(self):
        admin = self.server.admin()
        r = admin.post("/api/v1/tokens", {"name": "prom", "scopes": ["metrics.read"]})
        secret = r.json()["secret"]
        text = wait_for(lambda: (lambda m: m if "medsoc_ingest_received_total" in m else None)(
            self.server.request("GET", "/metrics", headers={"Authorization": "Bearer " + secret}).body))
        self.assertIn('medsoc_ingest_received_total{source="http"}', text)
        self.assertIn("medsoc_ingest_parse_queue_batches", text)


class RefusedSenderTest(unittest.TestCase):
    def test_allow_list(self):
        port = free_port()
        srv = Server(f"""
ingest:
  listeners:
    - name: only-10
      protocol: tcp
      listen: 127.0.0.1:{port}
      allow: [10.0.0.0/8]
""").start()
        try:
            s = socket.create_connection(("127.0.0.1", port))
            s.settimeout(10)
            self.assertEqual(s.recv(1), b"")  # closed without reading
            s.close()
        finally:
            srv.cleanup()


if __name__ == "__main__":
    unittest.main()
