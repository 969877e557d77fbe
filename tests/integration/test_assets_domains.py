"""The domain inventory end to end: a configured name (PUT /api/v1/domains/{name}), names taken
from the subjectAltName of a certificate that a server-side scan saw (with the address and asset
they were seen on), and DNS resolution of the inventory (POST /api/v1/domains/resolve) mapping a
name to the asset it points at. The scan touches only the TLS port this test opened on loopback."""
import http.server
import os
import ssl
import subprocess
import tempfile
import threading
import time

from harness import ServerTest


class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class DomainInventory(ServerTest):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="msdom")
        cert, key = os.path.join(cls.dir, "cert.pem"), os.path.join(cls.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=emr.test.example",
                        "-addext", "subjectAltName=DNS:emr.test.example,DNS:*.imaging.test.example,IP:127.0.0.1",
                        "-days", "2", "-keyout", key, "-out", cert], check=True, capture_output=True)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        cls.tls = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
        cls.tls.socket = ctx.wrap_socket(cls.tls.socket, server_side=True)
        cls.port = cls.tls.server_address[1]
        threading.Thread(target=cls.tls.serve_forever, daemon=True).start()
        super().setUpClass()
        admin = cls.server.admin()
        cls.sec, _ = cls.server.make_user(admin, "dom1", "secadmin")
        cls.viewer, _ = cls.server.make_user(admin, "dom2", "viewer")

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.tls.shutdown()
        cls.tls.server_close()

    def domains(self):
        r = self.sec.get("/api/v1/domains")
        self.assertEqual(r.status, 200, r)
        return {d["name"]: d for d in r.json()["items"]}

    def test_configured_certificate_and_resolved_names(self):
        # A configured name.
        r = self.sec.call("PUT", "/api/v1/domains/localhost", {})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.domains()["localhost"]["source"], "manual")
        # A scan of the TLS port harvests the certificate's DNS names (not its IP SAN).
        r = self.sec.post("/api/v1/scans", {"targets": "127.0.0.1", "ports": str(self.port)})
        self.assertEqual(r.status, 202, r)
        scan_id = r.json()["id"]
        for _ in range(900):
            s = self.sec.get(f"/api/v1/scans/{scan_id}").json()
            if s["status"] != "running":
                break
            time.sleep(0.1)
        self.assertEqual(s["status"], "done", s)
        asset = self.sec.get("/api/v1/assets/127.0.0.1").json()
        domains = self.domains()
        for name in ("emr.test.example", "*.imaging.test.example"):
            self.assertIn(name, domains)
            self.assertEqual(domains[name]["source"], "certificate")
            self.assertEqual(domains[name]["addresses"], ["127.0.0.1"])
            self.assertEqual(domains[name]["asset_id"], asset["id"])
        self.assertNotIn("127.0.0.1", domains)
        # Resolution: localhost points at 127.0.0.1, which is that asset.
        r = self.sec.post("/api/v1/domains/resolve")
        self.assertEqual(r.status, 200, r)
        resolved = {d["name"]: d for d in r.json()["items"]}
        self.assertIn("127.0.0.1", resolved["localhost"]["addresses"])
        self.assertEqual(resolved["localhost"]["asset_id"], asset["id"])
        self.assertEqual(resolved["localhost"]["source"], "manual")
        # Writing needs assets.write.
        self.assertEqual(self.viewer.post("/api/v1/domains/resolve").status, 403)


if __name__ == "__main__":
    import unittest
    unittest.main()
