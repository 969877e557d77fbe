"""TLS: HTTPS with a certificate generated for the test, Secure cookies, HSTS, TLS 1.2 minimum."""
import socket
import ssl
import unittest

from harness import ServerTest


class TlsTest(ServerTest):
    tls = True

    def test_https_login_sets_secure_cookie_and_hsts(self):
        r = self.server.request("GET", "/healthz")
        self.assertEqual(r.status, 200)
        self.assertIn("max-age=", r.header("strict-transport-security"))
        r = self.server.client().login("admin", self.server.admin_password)
        self.assertEqual(r.status, 200)
        self.assertIn("Secure", r.header("set-cookie"))

    def test_old_tls_versions_are_refused(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            ctx.minimum_version = ssl.TLSVersion.TLSv1_1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            self.skipTest("this Python/OpenSSL cannot offer TLS 1.1")
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as sock:
            with self.assertRaises((ssl.SSLError, ConnectionResetError)):
                with ctx.wrap_socket(sock) as tls:
                    tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    tls.recv(100)

    def test_plain_http_on_tls_port_gets_no_answer(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                data = sock.recv(100)
            except ConnectionResetError:
                data = b""
        self.assertFalse(data.startswith(b"HTTP/1.1 200"))


if __name__ == "__main__":
    unittest.main()
