"""Rule management API against the real server: list/search the built-in medsoc pack, one rule with
its source and statistics, per-tenant enable/disable, custom uploads validated with line:column
problems, tenant isolation of custom rules, deletion, permissions, the audit trail, and that
custom rules and enable state survive a restart."""
import unittest

from harness import STRONG, Server

CUSTOM = """title: Cardiology export tool started
id: 5b7f5c0e-1d7a-4c39-9a51-2f3c9d0e0a11
description: The hospital's own rule for its cardiology export tool.
tags: [attack.exfiltration, attack.t1567]
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\\\\cardioexport.exe'
  condition: sel
falsepositives: [Planned exports]
level: high
"""

BROKEN = """title: broken
id: 5b7f5c0e-1d7a-4c39-9a51-2f3c9d0e0a12
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswidth: 'x'
  condition: sel and missing
"""


class RulesApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server().start()
        s = cls.server
        admin = s.admin()
        for tid in ["hosp-a", "hosp-b"]:
            r = admin.post("/api/v1/tenants", {"id": tid, "name": tid})
            assert r.status == 201, r
            for user, role in [(f"sec-{tid}", "secadmin"), (f"ana-{tid}", "analyst"), (f"aud-{tid}", "auditor")]:
                r = s.cli("user", "add", user, "--role", role, "--tenant", tid, "--password-stdin", stdin=STRONG + "\n")
                assert r.returncode == 0, r.stderr

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def login(self, user):
        return self.server.login(user, STRONG)

    def test_list_search_and_get(self):
        a = self.login("sec-hosp-a")
        page = a.get("/api/v1/rules?limit=1000").json()
        self.assertGreaterEqual(page["total"], 40)
        self.assertTrue(all(r["origin"] in ("builtin", "sigmahq", "custom") for r in page["items"]))
        spray = a.get("/api/v1/rules?tag=attack.t1110.003").json()["items"]
        self.assertTrue(spray and all("attack.t1110.003" in r["tags"] for r in spray))
        self.assertTrue(any(r["kind"] == "correlation" and r["correlation_type"] == "value_count" for r in spray))
        crit = a.get("/api/v1/rules?level=critical").json()["items"]
        self.assertTrue(crit and all(r["level"] == "critical" for r in crit))
        found = a.get("/api/v1/rules?q=shadow%20copies").json()["items"]
        self.assertTrue(found)
        one = a.get("/api/v1/rules/" + found[0]["id"])
        self.assertEqual(one.status, 200)
        body = one.json()
        self.assertIn("detection:", body["source"])
        self.assertIn("hits", body["stats"])
        self.assertEqual(a.get("/api/v1/rules/no-such-rule").status, 404)
        self.assertEqual(a.get("/api/v1/rules?limit=abc").status, 400)
        stats = a.get("/api/v1/rules/stats").json()
        self.assertEqual(stats["summary"]["errors"], 0)
        self.assertIsInstance(stats["top"], list)

    def test_enable_disable_is_per_tenant(self):
        a, b = self.login("sec-hosp-a"), self.login("sec-hosp-b")
        rid = a.get("/api/v1/rules?q=shadow%20copies").json()["items"][0]["id"]
        r = a.post(f"/api/v1/rules/{rid}/disable")
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.json()["enabled"])
        self.assertFalse(a.get(f"/api/v1/rules/{rid}").json()["enabled"])
        self.assertTrue(b.get(f"/api/v1/rules/{rid}").json()["enabled"])
        disabled = a.get("/api/v1/rules?enabled=false").json()["items"]
        self.assertIn(rid, [x["id"] for x in disabled])
        self.assertTrue(a.post(f"/api/v1/rules/{rid}/enable").json()["enabled"])
        self.assertEqual(a.post("/api/v1/rules/no-such-rule/disable").status, 404)

    def test_upload_validate_isolate_delete(self):
        a, b = self.login("sec-hosp-a"), self.login("sec-hosp-b")
        bad = a.post("/api/v1/rules", {"yaml": BROKEN})
        self.assertEqual(bad.status, 400, bad)
        problems = bad.json()["error"]["problems"]
        self.assertTrue(problems)
        self.assertTrue(all(p["line"] > 0 and p["column"] > 0 and p["reason"] for p in problems), problems)
        self.assertTrue(any(p["line"] == 6 and "endswidth" in p["reason"] for p in problems), problems)

        r = a.post("/api/v1/rules", {"yaml": CUSTOM})
        self.assertEqual(r.status, 201, r)
        rid = r.json()["items"][0]["id"]
        self.assertEqual(r.json()["items"][0]["origin"], "custom")
        self.assertEqual(a.get(f"/api/v1/rules/{rid}").status, 200)
        self.assertEqual(b.get(f"/api/v1/rules/{rid}").status, 404)
        self.assertNotIn(rid, [x["id"] for x in b.get("/api/v1/rules?origin=custom").json()["items"]])
        self.assertEqual(b.post("/api/v1/rules", {"yaml": CUSTOM}).status, 400)  # the id is taken
        self.assertEqual(b.call("DELETE", f"/api/v1/rules/{rid}").status, 404)
        builtin = a.get("/api/v1/rules?origin=builtin&limit=1").json()["items"][0]["id"]
        self.assertIn(a.call("DELETE", f"/api/v1/rules/{builtin}").status, (400, 409, 412))

        audit = self.login("aud-hosp-a").get("/api/v1/audit?limit=200").json()["items"]
        self.assertTrue(any(x["action"] == "POST /api/v1/rules" and rid in x["target"] for x in audit), audit[:5])

        self.assertEqual(a.call("DELETE", f"/api/v1/rules/{rid}").status, 200)
        self.assertEqual(a.get(f"/api/v1/rules/{rid}").status, 404)

    def test_permissions(self):
        ana = self.login("ana-hosp-a")
        self.assertEqual(ana.get("/api/v1/rules").status, 200)
        rid = ana.get("/api/v1/rules?limit=1").json()["items"][0]["id"]
        self.assertEqual(ana.post(f"/api/v1/rules/{rid}/disable").status, 403)
        self.assertEqual(ana.post("/api/v1/rules", {"yaml": CUSTOM}).status, 403)
        self.assertEqual(self.login("aud-hosp-a").get("/api/v1/rules").status, 403)


class RulesRestartTest(unittest.TestCase):
    def test_custom_rules_and_state_survive_a_restart(self):
        s = Server().start()
        try:
            admin = s.admin()
            admin.post("/api/v1/tenants", {"id": "hosp-a", "name": "a"})
            r = s.cli("user", "add", "sec", "--role", "secadmin", "--tenant", "hosp-a", "--password-stdin",
                      stdin=STRONG + "\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            a = s.login("sec", STRONG)
            rid = a.post("/api/v1/rules", {"yaml": CUSTOM}).json()["items"][0]["id"]
            builtin = a.get("/api/v1/rules?origin=builtin&limit=1").json()["items"][0]["id"]
            self.assertEqual(a.post(f"/api/v1/rules/{builtin}/disable").status, 200)
            s.stop()
            s.start(expect_admin=False)
            a = s.login("sec", STRONG)
            self.assertEqual(a.get(f"/api/v1/rules/{rid}").json()["origin"], "custom")
            self.assertFalse(a.get(f"/api/v1/rules/{builtin}").json()["enabled"])
        finally:
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
