"""Scheduled scans from the server's configuration (`assets.schedule.*`, `assets.scan.*`): the
server starts the configured scan itself, records it as started by "schedule:config" with its
scope, and merges the result into the ledger with a change entry. The target is a DICOM responder
this test runs on loopback; the scan touches only its port."""
import os
import subprocess
import tempfile
import time
import unittest

from harness import BIN, ServerTest
from test_assets_scan import DicomHandler, start_responder


class ScheduledScan(ServerTest):
    @classmethod
    def setUpClass(cls):
        cls.dicom = start_responder(DicomHandler)
        cls.port = cls.dicom.server_address[1]
        cls.config_extra = f"""
assets:
  scan:
    rate: 500
    exclude: "127.0.0.2/32"
    windows: "daily 00:00-23:59"
  schedule:
    targets: "127.0.0.1"
    ports: "{cls.port}"
    interval_minutes: 60
"""
        super().setUpClass()
        admin = cls.server.admin()
        cls.admin, _ = cls.server.make_user(admin, "sched1", "secadmin")  # assets.read

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.dicom.shutdown()
        cls.dicom.server_close()

    def wait_scan(self):
        for _ in range(600):
            scans = self.admin.get("/api/v1/scans").json()["items"]
            done = [s for s in scans if s["started_by"] == "schedule:config" and s["status"] != "running"]
            if done:
                return done[0], scans
            time.sleep(0.1)
        self.fail("the scheduled scan did not finish")

    def test_scheduled_scan_feeds_the_ledger(self):
        scan, scans = self.wait_scan()
        self.assertEqual(scan["status"], "done", scan)
        self.assertEqual(scan["kind"], "scheduled")
        self.assertEqual(scan["scope"]["targets"], ["127.0.0.1"])
        self.assertEqual(scan["scope"]["rate"], 500)
        # One run per interval: a single scheduled scan so far.
        self.assertEqual(len([s for s in scans if s["started_by"] == "schedule:config"]), 1)
        asset = self.admin.get("/api/v1/assets/127.0.0.1").json()
        svc = next(s for s in asset["services"] if s["port"] == self.port)
        self.assertEqual(svc["service"], "dicom")
        self.assertEqual(svc["source"], "scan")
        changes = self.admin.get("/api/v1/asset-changes").json()["items"]
        self.assertIn("new_asset", [c["kind"] for c in changes])


class ScanConfigErrors(unittest.TestCase):
    def check(self, yaml):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(yaml)
        try:
            return subprocess.run([BIN, "config", "check", f.name], capture_output=True, text=True, timeout=60)
        finally:
            os.unlink(f.name)

    def test_bad_scan_type_is_rejected_with_position(self):
        r = self.check("assets:\n  scan:\n    type: stealth\n")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("assets.scan.type", r.stderr + r.stdout)
        self.assertIn(":3:", r.stderr + r.stdout)

    def test_bad_network_stops_the_server(self):
        with tempfile.TemporaryDirectory() as d:
            cfg = os.path.join(d, "medsoc.yaml")
            with open(cfg, "w") as f:
                f.write("server:\n  listen: 127.0.0.1:9\nassets:\n  scan:\n    exclude: \"10.0.0.0/33\"\n")
            r = subprocess.run([BIN, "serve", "--config", cfg, "--data", os.path.join(d, "var")],
                               capture_output=True, text=True, timeout=120)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("assets.scan.exclude", r.stderr)


if __name__ == "__main__":
    unittest.main()
