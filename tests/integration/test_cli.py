"""The command line: help, version, config check with positions, user and audit subcommands."""
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import BIN, STRONG, Server, run_cli


class CliTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="medsoc-cli-")
        self.data = os.path.join(self.dir, "data")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_bin(self, *args, stdin=None):
        return subprocess.run([BIN, *args], input=stdin, capture_output=True, text=True, timeout=120)

    def test_help_and_version(self):
        r = self.run_bin("--help")
        self.assertEqual(r.returncode, 0)
        for sub in ["serve", "config", "user", "audit", "version"]:
            self.assertIn(sub, r.stdout)
        r = self.run_bin("version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^medsoc \d+\.\d+\.\d+")

    def test_config_check_reports_positions_and_keys(self):
        path = os.path.join(self.dir, "bad.yaml")
        with open(path, "w") as f:
            f.write("server:\n  listen: 127.0.0.1:8080\n  lisen: x\nauth:\n  lockout_threshold: many\n")
        r = self.run_bin("config", "check", path)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"{path}:3:3", r.stderr)
        self.assertIn("server.lisen", r.stderr)
        self.assertIn(f"{path}:5:", r.stderr)
        self.assertIn("auth.lockout_threshold", r.stderr)
        good = os.path.join(self.dir, "good.yaml")
        with open(good, "w") as f:
            f.write("server:\n  listen: 127.0.0.1:9000\n")
        r = self.run_bin("config", "check", good)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_user_commands(self):
        r = run_cli(["user", "add", "alice", "--role", "secadmin", "--password-stdin"], self.data, stdin=STRONG + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run_cli(["user", "add", "bob", "--role", "viewer", "--password-stdin"], self.data, stdin="weak\n")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("password policy", r.stderr)
        r = run_cli(["user", "add", "carol", "--role", "wizard", "--password-stdin"], self.data, stdin=STRONG + "\n")
        self.assertNotEqual(r.returncode, 0)
        r = run_cli(["user", "list"], self.data)
        self.assertEqual(r.returncode, 0)
        self.assertIn("alice", r.stdout)
        self.assertIn("secadmin", r.stdout)
        r = run_cli(["user", "passwd", "alice", "--password-stdin"], self.data, stdin="New-" + STRONG + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run_cli(["user", "disable", "alice"], self.data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("disabled", run_cli(["user", "list"], self.data).stdout)
        r = run_cli(["audit", "verify"], self.data)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_disabled_user_cannot_log_in_and_passwd_works_with_server(self):
        s = Server().start()
        try:
            r = s.cli("user", "add", "dave", "--role", "analyst", "--password-stdin", stdin=STRONG + "\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            c = s.login("dave", STRONG)
            self.assertEqual(c.get("/api/v1/auth/me").status, 200)
            self.assertEqual(s.cli("user", "disable", "dave").returncode, 0)
            self.assertEqual(c.get("/api/v1/auth/me").status, 401)
            self.assertEqual(s.client().login("dave", STRONG).status, 401)
        finally:
            s.cleanup()

    def test_user_add_temporary_forces_a_change_at_first_login(self):
        s = Server().start()
        try:
            r = s.cli("user", "add", "erin", "--role", "viewer", "--temporary", "--password-stdin", stdin=STRONG + "\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("must change the password", r.stdout)
            c = s.login("erin", STRONG)
            self.assertTrue(c.get("/api/v1/auth/me").json()["must_change_password"])
            blocked = c.get("/api/v1/users")
            self.assertEqual(blocked.status, 403)
            self.assertEqual(blocked.json()["error"]["code"], "password_change_required")
        finally:
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
