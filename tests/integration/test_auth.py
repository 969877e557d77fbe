"""Login, forced password change, lockout, sessions, CSRF, password policy, API tokens."""
import sqlite3
import unittest

from harness import STRONG, Server, ServerTest


class LoginTest(ServerTest):
    def test_first_start_prints_one_time_admin_password(self):
        self.assertIsNotNone(self.server.admin_password)
        self.assertGreaterEqual(len(self.server.admin_password), 16)

    def test_bad_credentials_are_401_and_unknown_users_look_the_same(self):
        r1 = self.server.client().login("admin", "wrong-password")
        r2 = self.server.client().login("nobody-here", "wrong-password")
        self.assertEqual(r1.status, 401)
        self.assertEqual(r2.status, 401)
        self.assertEqual(r1.json()["error"]["message"], r2.json()["error"]["message"])
        self.assertEqual(r1.json()["error"]["code"], "unauthenticated")

    def test_malformed_login_bodies_are_400(self):
        self.assertEqual(self.server.request("POST", "/api/v1/auth/login", raw_body=b"{nope",
                                             headers={"Content-Type": "application/json"}).status, 400)
        self.assertEqual(self.server.request("POST", "/api/v1/auth/login", {"username": "admin"}).status, 400)
        self.assertEqual(self.server.request("POST", "/api/v1/auth/login", {"username": 1, "password": 2}).status, 400)

    def test_session_cookie_attributes(self):
        c = self.server.client()
        # Use a fresh user so the admin's state is not disturbed.
        admin = self.server.admin()
        self.server.make_user(admin, "cookieuser", "viewer")
        r = c.login("cookieuser", STRONG)
        self.assertEqual(r.status, 200)
        cookie = r.header("set-cookie")
        self.assertIn("medsoc_session=", cookie)
        self.assertIn("HttpOnly", cookie)
        self.assertIn("SameSite=Strict", cookie)
        self.assertNotIn("Secure", cookie)  # plain HTTP here; test_tls checks Secure
        self.assertTrue(r.json()["csrf_token"])
        me = c.get("/api/v1/auth/me")
        self.assertEqual(me.status, 200)
        self.assertEqual(me.json()["username"], "cookieuser")
        self.assertEqual(me.json()["role"], "viewer")

    def test_forced_password_change_gates_everything_else(self):
        admin = self.server.admin()
        r = admin.post("/api/v1/users", {"username": "newbie", "role": "analyst", "password": "Init-" + STRONG})
        self.assertEqual(r.status, 201, r)
        c = self.server.login("newbie", "Init-" + STRONG)
        self.assertTrue(c.get("/api/v1/auth/me").json()["must_change_password"])
        blocked = c.get("/api/v1/roles")
        self.assertEqual(blocked.status, 200)  # self-service routes stay open
        blocked = self.server.request("GET", "/api/v1/tenants", headers=c.headers())
        self.assertEqual(blocked.status, 403)
        self.assertEqual(blocked.json()["error"]["code"], "password_change_required")
        self.assertEqual(c.post("/api/v1/auth/password", {"current_password": "Init-" + STRONG,
                                                           "new_password": STRONG}).status, 204)
        c2 = self.server.login("newbie", STRONG)
        self.assertFalse(c2.get("/api/v1/auth/me").json()["must_change_password"])

    def test_logout_ends_the_session(self):
        admin = self.server.admin()
        self.assertEqual(admin.get("/api/v1/users").status, 200)
        r = admin.post("/api/v1/auth/logout")
        self.assertEqual(r.status, 204)
        self.assertIn("Max-Age=0", r.header("set-cookie"))
        self.assertEqual(admin.get("/api/v1/users").status, 401)


class CsrfTest(ServerTest):
    def test_state_changing_requests_need_the_csrf_token(self):
        admin = self.server.admin()
        body = {"username": "csrf1", "role": "viewer", "password": "Init-" + STRONG}
        r = admin.post("/api/v1/users", body, csrf=False)
        self.assertEqual(r.status, 403)
        self.assertEqual(r.json()["error"]["code"], "csrf_failed")
        saved = admin.csrf
        admin.csrf = "x" * len(saved)
        self.assertEqual(admin.post("/api/v1/users", body).status, 403)
        admin.csrf = saved
        self.assertEqual(admin.post("/api/v1/users", body).status, 201)
        # GET needs no token.
        self.assertEqual(admin.get("/api/v1/users").status, 200)


class PasswordPolicyTest(ServerTest):
    def test_policy_length_classes_username_and_history(self):
        admin = self.server.admin()
        for weak in ["short1A!", "alllowercaseletters", "policyuser"]:
            r = admin.post("/api/v1/users", {"username": "policyuser", "role": "viewer", "password": weak})
            self.assertEqual(r.status, 400, weak)
            self.assertIn("password policy", r.json()["error"]["message"])
        c, _ = self.server.make_user(admin, "policyuser", "viewer", password=STRONG)
        # Reusing a recent password is refused (history), and so is the current one.
        r = c.post("/api/v1/auth/password", {"current_password": STRONG, "new_password": STRONG})
        self.assertEqual(r.status, 400)
        r = c.post("/api/v1/auth/password", {"current_password": STRONG, "new_password": "Init-" + STRONG})
        self.assertEqual(r.status, 400)
        self.assertIn("last", r.json()["error"]["message"])
        # Wrong current password.
        r = c.post("/api/v1/auth/password", {"current_password": "nope", "new_password": "Another-" + STRONG})
        self.assertEqual(r.status, 403)
        r = c.post("/api/v1/auth/password", {"current_password": STRONG, "new_password": "Another-" + STRONG})
        self.assertEqual(r.status, 204)


class LockoutTest(ServerTest):
    def test_lockout_refuses_even_the_right_password_until_it_ends(self):
        admin = self.server.admin()
        self.server.make_user(admin, "lockme", "analyst")
        statuses = [self.server.client().login("lockme", "bad-" + str(i)).status for i in range(5)]
        self.assertEqual(statuses[:4], [401] * 4)
        self.assertEqual(statuses[4], 423)
        r = self.server.client().login("lockme", STRONG)
        self.assertEqual(r.status, 423)
        self.assertEqual(r.json()["error"]["code"], "locked")
        listed = [u for u in admin.get("/api/v1/users").json()["items"] if u["username"] == "lockme"][0]
        self.assertIsNotNone(listed["locked_until"])
        self.server.advance_clock(16 * 60)
        admin = self.server.login("admin", self.server.admin_password)
        self.assertEqual(self.server.client().login("lockme", STRONG).status, 200)

    def test_admin_can_unlock(self):
        admin = self.server.admin()
        _, uid = self.server.make_user(admin, "lock2", "viewer")
        for i in range(5):
            self.server.client().login("lock2", "bad")
        self.assertEqual(self.server.client().login("lock2", STRONG).status, 423)
        self.assertEqual(admin.patch(f"/api/v1/users/{uid}", {"unlock": True}).status, 200)
        self.assertEqual(self.server.client().login("lock2", STRONG).status, 200)


class SessionExpiryTest(ServerTest):
    def test_idle_session_expires(self):
        admin = self.server.admin()
        self.assertEqual(admin.get("/api/v1/users").status, 200)
        self.server.advance_clock(29 * 60)
        self.assertEqual(admin.get("/api/v1/users").status, 200)  # activity resets the idle clock
        self.server.advance_clock(31 * 60)
        r = admin.get("/api/v1/users")
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json()["error"]["code"], "unauthenticated")


class TokenTest(ServerTest):
    def test_token_lifecycle_scopes_and_storage(self):
        admin = self.server.admin()
        r = admin.post("/api/v1/tokens", {"name": "prometheus", "scopes": ["metrics.read"], "expires_in_days": 30})
        self.assertEqual(r.status, 201, r)
        secret, tid = r.json()["secret"], r.json()["id"]
        self.assertTrue(secret.startswith("mst_"))
        bot = self.server.client()
        bot.bearer = secret
        m = bot.get("/metrics")
        self.assertEqual(m.status, 200)
        self.assertIn("medsoc_http_requests_total", m.body)
        # Outside its scopes: 403 even though the creator's role could.
        self.assertEqual(bot.get("/api/v1/users").status, 403)
        # Listing never shows the secret.
        listed = admin.get("/api/v1/tokens").json()["items"]
        self.assertNotIn("secret", listed[0])
        # At rest only a hash is stored.
        db = sqlite3.connect(self.server.data + "/state.db")
        dump = "\n".join(db.iterdump())
        db.close()
        self.assertNotIn(secret, dump)
        self.assertNotIn(secret[4:], dump)
        # Bearer requests need no CSRF token, and a wrong token is 401.
        bad = self.server.client()
        bad.bearer = "mst_not-a-real-token"
        self.assertEqual(bad.get("/metrics").status, 401)
        # Revoke.
        self.assertEqual(admin.delete(f"/api/v1/tokens/{tid}").status, 204)
        self.assertEqual(bot.get("/metrics").status, 401)

    def test_cannot_grant_scopes_beyond_own_role(self):
        admin = self.server.admin()
        r = admin.post("/api/v1/tokens", {"name": "x", "scopes": ["audit.read"]})
        self.assertEqual(r.status, 403)
        r = admin.post("/api/v1/tokens", {"name": "x", "scopes": ["no.such"]})
        self.assertEqual(r.status, 400)

    def test_token_expires(self):
        admin = self.server.admin()
        r = admin.post("/api/v1/tokens", {"name": "short", "scopes": ["metrics.read"], "expires_in_days": 1})
        bot = self.server.client()
        bot.bearer = r.json()["secret"]
        self.assertEqual(bot.get("/metrics").status, 200)
        self.server.advance_clock(2 * 86400)
        self.assertEqual(bot.get("/metrics").status, 401)


class RestartTest(unittest.TestCase):
    def test_admin_password_only_on_first_start_and_sessions_survive_restart(self):
        s = Server().start()
        try:
            first = s.admin_password
            admin = s.admin()
            s.stop()
            s.proc = None
            s.admin_password = None
            s.output = []
            s.start(expect_admin=False)
            self.assertIsNone(s.admin_password)
            self.assertNotIn(first, "".join(s.output))
            self.assertEqual(admin.get("/api/v1/users").status, 200)
        finally:
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
