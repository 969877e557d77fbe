"""Tenant isolation: a hospital's users never see another tenant's objects, even by id;
provider-wide users switch tenant explicitly."""
import sqlite3
import unittest

from harness import STRONG, ServerTest


class TenantIsolationTest(ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        admin = s.admin()
        for tid, name in [("hosp-a", "甲医院"), ("hosp-b", "乙医院")]:
            r = admin.post("/api/v1/tenants", {"id": tid, "name": name})
            assert r.status == 201, r
        # Hospital administrators are created with the CLI, each in its own tenant.
        for tid in ["hosp-a", "hosp-b"]:
            r = s.cli("user", "add", f"admin-{tid}", "--role", "sysadmin", "--tenant", tid, "--password-stdin",
                      stdin=STRONG + "\n")
            assert r.returncode == 0, r.stderr
        cls.a = s.login("admin-hosp-a", STRONG)
        cls.b = s.login("admin-hosp-b", STRONG)
        r = cls.b.post("/api/v1/users", {"username": "b-analyst", "role": "analyst", "password": "Init-" + STRONG})
        assert r.status == 201, r
        cls.b_user_id = r.json()["id"]
        r = cls.b.post("/api/v1/tokens", {"name": "b-collector", "scopes": ["ingest.write"]})
        assert r.status == 201, r
        cls.b_token_id = r.json()["id"]

    def test_lists_show_only_own_tenant(self):
        names = {u["username"] for u in self.a.get("/api/v1/users").json()["items"]}
        self.assertIn("admin-hosp-a", names)
        self.assertNotIn("admin-hosp-b", names)
        self.assertNotIn("b-analyst", names)
        self.assertNotIn("admin", names)
        self.assertEqual([t["id"] for t in self.a.get("/api/v1/tenants").json()["items"]], ["hosp-a"])
        self.assertEqual(self.a.get("/api/v1/tokens").json()["items"], [])

    def test_other_tenants_objects_are_not_found_even_by_id(self):
        self.assertEqual(self.a.get(f"/api/v1/users/{self.b_user_id}").status, 404)
        self.assertEqual(self.a.patch(f"/api/v1/users/{self.b_user_id}", {"disabled": True}).status, 404)
        self.assertEqual(self.a.post(f"/api/v1/users/{self.b_user_id}/password", {"password": "X-" + STRONG}).status,
                         404)
        self.assertEqual(self.a.delete(f"/api/v1/tokens/{self.b_token_id}").status, 404)
        # Nothing changed in tenant B.
        u = self.b.get(f"/api/v1/users/{self.b_user_id}").json()
        self.assertFalse(u["disabled"])
        self.assertEqual(len(self.b.get("/api/v1/tokens").json()["items"]), 1)
        self.assertIsNone(self.b.get("/api/v1/tokens").json()["items"][0]["revoked_at"])

    def test_hospital_users_cannot_switch_or_create_tenants(self):
        self.assertEqual(self.a.post("/api/v1/auth/tenant", {"tenant": "hosp-b"}).status, 403)
        self.assertEqual(self.a.post("/api/v1/tenants", {"id": "evil", "name": "x"}).status, 403)
        self.assertEqual(self.a.post("/api/v1/users", {"username": "pw", "role": "viewer", "password": "Init-" + STRONG,
                                                       "provider_wide": True}).status, 403)

    def test_provider_wide_user_switches_tenant(self):
        admin = self.server.admin()
        names = {u["username"] for u in admin.get("/api/v1/users").json()["items"]}
        self.assertNotIn("b-analyst", names)
        r = admin.post("/api/v1/auth/tenant", {"tenant": "hosp-b"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["tenant"], "hosp-b")
        names = {u["username"] for u in admin.get("/api/v1/users").json()["items"]}
        self.assertIn("b-analyst", names)
        self.assertEqual(admin.post("/api/v1/auth/tenant", {"tenant": "no-such"}).status, 404)
        self.assertEqual(admin.post("/api/v1/auth/tenant", {"tenant": "default"}).status, 200)

    def test_every_table_carries_tenant_id(self):
        db = sqlite3.connect(self.server.data + "/state.db")
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                           "AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations'")]
        self.assertGreater(len(tables), 5)
        for t in tables:
            cols = [r[1] for r in db.execute(f"PRAGMA table_info({t})")]
            self.assertIn("tenant_id", cols, t)
        db.close()


if __name__ == "__main__":
    unittest.main()
