"""The audit trail: logins and changes are recorded, only auditors read it, nothing edits it,
and `medsoc audit verify` catches a row altered directly in SQLite."""
import sqlite3
import unittest

from harness import STRONG, Server


class AuditTest(unittest.TestCase):
    def setUp(self):
        self.server = Server().start()

    def tearDown(self):
        self.server.cleanup()

    def test_trail_records_and_verify_catches_tampering(self):
        s = self.server
        admin = s.admin()
        s.client().login("admin", "wrong")
        admin.post("/api/v1/users", {"username": "aud1", "role": "auditor", "password": "Init-" + STRONG})
        auditor = s.login("aud1", "Init-" + STRONG)
        auditor.post("/api/v1/auth/password", {"current_password": "Init-" + STRONG, "new_password": STRONG})
        auditor = s.login("aud1", STRONG)
        rows = auditor.get("/api/v1/audit?limit=1000").json()["items"]
        actions = [(r["action"], r["outcome"], r["user"]) for r in rows]
        self.assertIn(("auth.login", "failure", "admin"), actions)
        self.assertIn(("auth.login", "success", "admin"), actions)
        self.assertIn(("POST /api/v1/users", "success", "admin"), actions)
        self.assertIn(("bootstrap.admin", "success", "-"), actions)
        for r in rows:
            self.assertEqual(r["source_ip"] in ("127.0.0.1", "local"), True, r)
            self.assertNotIn(STRONG, r["detail"])
        # Filters and paging.
        only = auditor.get("/api/v1/audit?action=auth.&outcome=failure").json()["items"]
        self.assertTrue(only and all(r["action"].startswith("auth.") and r["outcome"] == "failure" for r in only))
        page = auditor.get("/api/v1/audit?limit=2").json()
        self.assertEqual(len(page["items"]), 2)
        older = auditor.get(f"/api/v1/audit?limit=2&before={page['next_before']}").json()["items"]
        self.assertLess(older[0]["seq"], page["items"][-1]["seq"])
        self.assertEqual(auditor.get("/api/v1/audit?from=yesterday").status, 400)
        # No API edits or deletes audit rows.
        self.assertIn(auditor.call("DELETE", "/api/v1/audit").status, (404, 405))

        s.stop()
        r = s.cli("audit", "verify")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("intact", r.stdout)

        db = sqlite3.connect(s.data + "/state.db")
        with self.assertRaises(sqlite3.DatabaseError):
            db.execute("UPDATE audit_log SET detail='x' WHERE seq=3")
        triggers = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='trigger' "
                                             "AND tbl_name='audit_log'")]
        self.assertTrue(triggers)
        for t in triggers:
            db.execute(f"DROP TRIGGER {t}")
        db.execute("UPDATE audit_log SET detail='nothing happened here' WHERE seq=3")
        db.commit()
        db.close()
        r = s.cli("audit", "verify")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("seq 3", r.stdout)


if __name__ == "__main__":
    unittest.main()
