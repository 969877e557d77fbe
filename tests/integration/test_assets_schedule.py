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


class TenantSchedules(ServerTest):
    """Schedules through the API (PUT/GET/DELETE /api/v1/scan-schedules): cron or interval, kept
    per tenant, audited; an external schedule feeds the internet exposure ledger and its new
    exposure reaches the changes feed. The target is a DICOM responder this test runs on loopback."""

    @classmethod
    def setUpClass(cls):
        cls.dicom = start_responder(DicomHandler)
        cls.port = cls.dicom.server_address[1]
        cls.config_extra = """
assets:
  scan:
    rate: 500
    windows: "daily 00:00-23:59"
"""
        super().setUpClass()
        admin = cls.server.admin()
        cls.sec, _ = cls.server.make_user(admin, "sched2", "secadmin")
        cls.analyst, _ = cls.server.make_user(admin, "sched3", "analyst")

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.dicom.shutdown()
        cls.dicom.server_close()

    def test_external_schedule_feeds_the_exposure_ledger(self):
        r = self.sec.call("PUT", "/api/v1/scan-schedules/edge", {
            "targets": "127.0.0.1", "ports": str(self.port), "interval_minutes": 60, "external": True})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["interval_minutes"], 60)
        self.assertIsNone(r.json()["cron"])
        # A schedule that never ran is due at once: the scheduler starts it.
        scan = None
        for _ in range(600):
            scans = self.sec.get("/api/v1/scans").json()["items"]
            done = [s for s in scans if s["started_by"] == "schedule:edge" and s["status"] != "running"]
            if done:
                scan = done[0]
                break
            time.sleep(0.1)
        self.assertIsNotNone(scan, "the scheduled external scan did not run")
        self.assertEqual(scan["status"], "done", scan)
        self.assertEqual(scan["kind"], "external")
        exposures = self.sec.get("/api/v1/exposures").json()["items"]
        mine = [e for e in exposures if e["public_ip"] == "127.0.0.1" and e["public_port"] == self.port]
        self.assertEqual(len(mine), 1, exposures)
        self.assertEqual(mine[0]["source"], "scan")
        self.assertFalse(mine[0]["approved"])
        changes = self.sec.get("/api/v1/asset-changes").json()["items"]
        new = [c for c in changes if c["kind"] == "new_exposure" and c["detail"].get("port") == self.port]
        self.assertEqual(len(new), 1, changes)
        listed = self.sec.get("/api/v1/scan-schedules").json()["items"]
        edge = next(s for s in listed if s["name"] == "edge")
        self.assertEqual(edge["last_status"], "done")
        self.assertIsNotNone(edge["next_run"])
        self.assertEqual(edge["source"], "api")

    def test_cron_schedule_validation_permissions_and_delete(self):
        r = self.sec.call("PUT", "/api/v1/scan-schedules/nightly", {
            "targets": "127.0.0.1", "ports": str(self.port), "cron": "30 1 * * Mon-Fri"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["cron"], "30 1 * * Mon-Fri")
        listed = self.sec.get("/api/v1/scan-schedules").json()["items"]
        nightly = next(s for s in listed if s["name"] == "nightly")
        self.assertIsNone(nightly["last_run"])
        self.assertRegex(nightly["next_run"], r"T\d\d:\d\d:00")
        bad = self.sec.call("PUT", "/api/v1/scan-schedules/bad", {"targets": "127.0.0.1", "cron": "61 * * * *"})
        self.assertEqual(bad.status, 400)
        self.assertIn("minute '61'", bad.body)
        both = self.sec.call("PUT", "/api/v1/scan-schedules/bad", {"targets": "127.0.0.1", "cron": "@daily",
                                                                  "interval_minutes": 60})
        self.assertEqual(both.status, 400)
        public = self.sec.call("PUT", "/api/v1/scan-schedules/bad", {"targets": "8.8.8.8", "cron": "@daily"})
        self.assertEqual(public.status, 403, public.body)  # outside the private-range allow-list
        reserved = self.sec.call("PUT", "/api/v1/scan-schedules/config", {"targets": "127.0.0.1", "cron": "@daily"})
        self.assertEqual(reserved.status, 400)
        # Reading needs assets.read (analyst); writing needs assets.write.
        self.assertEqual(self.analyst.get("/api/v1/scan-schedules").status, 200)
        denied = self.analyst.call("PUT", "/api/v1/scan-schedules/x", {"targets": "127.0.0.1", "cron": "@daily"})
        self.assertEqual(denied.status, 403)
        self.assertEqual(self.sec.delete("/api/v1/scan-schedules/nightly").status, 204)
        self.assertEqual(self.sec.delete("/api/v1/scan-schedules/nightly").status, 404)
        names = [s["name"] for s in self.sec.get("/api/v1/scan-schedules").json()["items"]]
        self.assertNotIn("nightly", names)


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
