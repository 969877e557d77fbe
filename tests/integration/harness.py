"""Harness for medsoc integration tests: starts the real `medsoc serve` on 127.0.0.1 with an
ephemeral port and a temporary data directory, and talks to it over real HTTP(S).

Only loopback is used. Every server is stopped (SIGTERM, then SIGKILL) when its test ends.
"""
import http.client
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

BIN = os.environ.get("MEDSOC_BIN", os.path.join(os.path.dirname(__file__), "../../build/debug/medsoc"))

# Fast hashing and short timeouts keep the tests quick; the semantics are the same as production.
TEST_CONFIG = """
log:
  level: warn
auth:
  argon2_strength: interactive
  lockout_threshold: 5
  lockout_window_minutes: 15
  lockout_duration_minutes: 15
  session_idle_minutes: 30
server:
  threads: 2
  shutdown_grace_seconds: 5
"""

STRONG = "Str0ng-Passw0rd!"


def run_cli(args, data_dir, stdin=None, config=None, env=None):
    cmd = [BIN] + args + ["--data", data_dir]
    if config:
        cmd += ["--config", config]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, **(env or {})))


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value), names lowercased
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k == name.lower()]

    def json(self):
        return json.loads(self.body) if self.body else None

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class Server:
    """One `medsoc serve` process."""

    def __init__(self, config_extra="", tls=False):
        self.dir = tempfile.mkdtemp(prefix="medsoc-it-")
        self.data = os.path.join(self.dir, "data")
        self.clock_file = os.path.join(self.dir, "clock")
        with open(self.clock_file, "w") as f:
            f.write("0")
        self.config = os.path.join(self.dir, "medsoc.yaml")
        cfg = TEST_CONFIG + config_extra
        self.tls = tls
        if tls:
            cert, key = os.path.join(self.dir, "cert.pem"), os.path.join(self.dir, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                            "-nodes", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                            "-days", "1", "-keyout", key, "-out", cert], check=True, capture_output=True)
            self.cert = cert
            cfg = cfg.replace("server:\n", f"server:\n  tls:\n    cert_file: {cert}\n    key_file: {key}\n", 1)
        with open(self.config, "w") as f:
            f.write(cfg)
        self.proc = None
        self.port = None
        self.admin_password = None
        self.output = []

    def start(self, expect_admin=True):
        env = dict(os.environ, MEDSOC_TEST_CLOCK_FILE=self.clock_file)
        self.proc = subprocess.Popen([BIN, "serve", "--config", self.config, "--data", self.data,
                                      "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=env)
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.output.append(line)
            m = re.search(r"listening on https?://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
            m = re.search(r"password: (\S+)", line)
            if m:
                self.admin_password = m.group(1)
            if "This password is shown once" in line or (self.port and not expect_admin and "API:" in line):
                break
        if not self.port:
            self.stop()
            raise RuntimeError("server did not start:\n" + "".join(self.output))
        # Keep draining output so the server never blocks on a full pipe.
        self._drain = threading.Thread(target=self._drain_output, daemon=True)
        self._drain.start()
        return self

    def _drain_output(self):
        for line in self.proc.stdout:
            self.output.append(line)

    def advance_clock(self, seconds):
        """Moves the server's clock forward by `seconds` in total (cumulative offset)."""
        with open(self.clock_file) as f:
            cur = int(f.read().strip() or 0)
        with open(self.clock_file, "w") as f:
            f.write(str(cur + int(seconds)))
        time.sleep(0.3)  # the server polls the file every 50 ms

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def cli(self, *args, stdin=None):
        return run_cli(list(args), self.data, stdin=stdin, config=self.config)

    def conn(self):
        if self.tls:
            ctx = ssl.create_default_context(cafile=self.cert)
            return http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=30)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def request(self, method, path, body=None, headers=None, raw_body=None):
        c = self.conn()
        h = dict(headers or {})
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        resp = Response(r.status, [(k.lower(), v) for k, v in r.getheaders()], r.read().decode("utf-8", "replace"))
        c.close()
        return resp

    def client(self):
        return Client(self)

    def login(self, username, password):
        c = Client(self)
        r = c.login(username, password)
        if r.status != 200:
            raise AssertionError(f"login {username} failed: {r}")
        return c

    def admin(self):
        """A logged-in system administrator whose first-login password change is done."""
        if not getattr(self, "_admin_changed", False):
            c = self.login("admin", self.admin_password)
            r = c.post("/api/v1/auth/password", {"current_password": self.admin_password,
                                                  "new_password": STRONG + "A"})
            if r.status != 204:
                raise AssertionError(f"admin password change failed: {r}")
            self.admin_password = STRONG + "A"
            self._admin_changed = True
        return self.login("admin", self.admin_password)

    def make_user(self, admin, username, role, password=STRONG, provider_wide=False):
        """Creates a user through the API and completes its forced first password change."""
        r = admin.post("/api/v1/users", {"username": username, "role": role, "password": "Init-" + password,
                                         "provider_wide": provider_wide})
        if r.status != 201:
            raise AssertionError(f"create user {username} failed: {r}")
        c = self.login(username, "Init-" + password)
        r2 = c.post("/api/v1/auth/password", {"current_password": "Init-" + password, "new_password": password})
        if r2.status != 204:
            raise AssertionError(f"password change for {username} failed: {r2}")
        return self.login(username, password), r.json()["id"]


class Client:
    """A browser-like client: keeps the session cookie and sends the CSRF token."""

    def __init__(self, server):
        self.server = server
        self.cookie = None
        self.csrf = None
        self.bearer = None

    def login(self, username, password):
        r = self.server.request("POST", "/api/v1/auth/login", {"username": username, "password": password})
        if r.status == 200:
            sc = r.header("set-cookie")
            self.cookie = sc.split(";")[0]
            self.csrf = r.json()["csrf_token"]
        return r

    def headers(self, csrf=True):
        h = {}
        if self.cookie:
            h["Cookie"] = self.cookie
        if self.csrf and csrf:
            h["X-CSRF-Token"] = self.csrf
        if self.bearer:
            h["Authorization"] = "Bearer " + self.bearer
        return h

    def get(self, path):
        return self.server.request("GET", path, headers=self.headers())

    def post(self, path, body=None, csrf=True):
        return self.server.request("POST", path, body if body is not None else {}, headers=self.headers(csrf))

    def patch(self, path, body, csrf=True):
        return self.server.request("PATCH", path, body, headers=self.headers(csrf))

    def delete(self, path, csrf=True):
        return self.server.request("DELETE", path, headers=self.headers(csrf))

    def call(self, method, path, body=None, csrf=True):
        return self.server.request(method, path, body, headers=self.headers(csrf))


class ServerTest(unittest.TestCase):
    """Base: one fresh server per test class (setUpClass), stopped afterwards."""
    config_extra = ""
    tls = False

    @classmethod
    def setUpClass(cls):
        cls.server = Server(cls.config_extra, tls=cls.tls).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
