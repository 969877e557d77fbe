"""Table-driven authorization: every route of the OpenAPI document (generated from the route
table) against anonymous and every role: 401 anonymous, 403 wrong role, 2xx right role.

A new route without a sample request here makes this test fail, so coverage cannot drift."""
import itertools
import unittest

from harness import STRONG, ServerTest

# The separation of duties the product promises (MLPS 2.0 三权分立). Written out here, not read
# from the server, so a change to the role table must be made deliberately in both places.
ROLE_PERMISSIONS = {
    "sysadmin": {"users.read", "users.write", "tenants.read", "tenants.write", "tokens.manage", "config.read",
                 "metrics.read", "ingest.write", "dashboards.read"},
    "secadmin": {"tokens.manage", "content.read", "content.write", "alerts.read", "alerts.write", "incidents.read",
                 "incidents.write", "findings.read", "findings.write", "assets.read", "assets.write", "events.read",
                 "ingest.write", "dashboards.read", "reports.read", "reports.write", "metrics.read"},
    "analyst": {"content.read", "alerts.read", "alerts.write", "incidents.read", "incidents.write", "findings.read",
                "findings.write", "assets.read", "events.read", "dashboards.read", "reports.read"},
    "auditor": {"audit.read"},
    "viewer": {"dashboards.read", "reports.read"},
}

counter = itertools.count()


def unique(prefix):
    return f"{prefix}{next(counter)}"


class AuthorizationTest(ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        cls.admin = s.admin()
        cls.passwords = {}
        cls.users = {}
        for role in ROLE_PERMISSIONS:
            name = "authz-" + role
            # Provider-wide so that the tenant switch (any signed-in provider user) can succeed.
            s.make_user(cls.admin, name, role, password=STRONG, provider_wide=True)
            cls.passwords[name] = STRONG
        r = cls.admin.post("/api/v1/users", {"username": "authz-target", "role": "viewer",
                                             "password": "Init-" + STRONG})
        cls.target_id = r.json()["id"]

    # Each sample returns (path, body) for a request that succeeds for a permitted principal.
    def sample(self, method, pattern, username):
        s = self.server
        if pattern == "/api/v1/auth/login":
            who = username if username in self.passwords else "authz-viewer"
            return pattern, {"username": who, "password": self.passwords[who]}
        if pattern == "/api/v1/auth/password":
            new = STRONG + unique("-")
            body = {"current_password": self.passwords.get(username, "x"), "new_password": new}
            self._pending_password = (username, new)
            return pattern, body
        if pattern == "/api/v1/auth/logout":
            return pattern, {}
        if pattern == "/api/v1/auth/tenant":
            return pattern, {"tenant": "default"}
        if pattern == "/api/v1/users" and method == "POST":
            return pattern, {"username": unique("u"), "role": "viewer", "password": "Init-" + STRONG}
        if pattern == "/api/v1/users/{id}" and method == "PATCH":
            return f"/api/v1/users/{self.target_id}", {"display_name": unique("name")}
        if pattern == "/api/v1/users/{id}":
            return f"/api/v1/users/{self.target_id}", None
        if pattern == "/api/v1/users/{id}/password":
            return f"/api/v1/users/{self.target_id}/password", {"password": STRONG + unique("-")}
        if pattern == "/api/v1/tokens" and method == "POST":
            return pattern, {"name": unique("t"), "scopes": ["metrics.read"], "expires_in_days": 1}
        if pattern == "/api/v1/tokens/{id}":
            r = self.admin.post("/api/v1/tokens", {"name": unique("t"), "scopes": ["metrics.read"]})
            return f"/api/v1/tokens/{r.json()['id']}", None
        if pattern == "/api/v1/tenants" and method == "POST":
            return pattern, {"id": unique("h"), "name": "医院"}
        if method == "GET" and "{" not in pattern:
            return pattern, None
        return None

    def probe(self, method, pattern):
        """A request for a route without a sample: placeholders filled with a well-formed id that
        names nothing, and an empty JSON body. It cannot show success, but it does show that
        authorization ran before the handler: a permitted principal gets neither 401 nor 403."""
        path = pattern
        while "{" in path:
            start, end = path.index("{"), path.index("}")
            path = path[:start] + "01ZZZZZZZZZZZZZZZZZZZZZZZZ" + path[end + 1:]
        return path, ({} if method in ("POST", "PUT", "PATCH") else None)

    def test_every_route_and_every_role(self):
        doc = self.server.request("GET", "/api/v1/openapi.json").json()
        self.assertEqual(doc["openapi"], "3.1.0")
        routes = []
        for path, ops in doc["paths"].items():
            for method, op in ops.items():
                self.assertIn("x-permission", op, f"{method} {path} has no permission")
                routes.append((method.upper(), path, op["x-permission"]))
        self.assertGreater(len(routes), 15)
        checked = 0
        for method, pattern, permission in routes:
            sampled = self.sample(method, pattern, "anonymous") is not None
            with self.subTest(route=f"{method} {pattern}", who="anonymous"):
                path, body = self.sample(method, pattern, "anonymous") or self.probe(method, pattern)
                r = self.server.request(method, path, body)
                if permission == "public":
                    self.assertLess(r.status, 300, f"{method} {pattern} anonymous: {r}")
                else:
                    self.assertEqual(r.status, 401, f"{method} {pattern} anonymous: {r}")
            for role, perms in ROLE_PERMISSIONS.items():
                username = "authz-" + role
                allowed = permission in ("public", "authenticated") or permission in perms
                with self.subTest(route=f"{method} {pattern}", role=role):
                    client = self.server.login(username, self.passwords[username])
                    path, body = self.sample(method, pattern, username) or self.probe(method, pattern)
                    r = client.call(method, path, body)
                    if allowed and sampled:
                        self.assertTrue(200 <= r.status < 300, f"{role} {method} {pattern}: expected 2xx, got {r}")
                        if pattern == "/api/v1/auth/password":
                            self.passwords[username] = self._pending_password[1]
                    elif allowed:
                        self.assertNotIn(r.status, (401, 403), f"{role} {method} {pattern}: authorization refused: {r}")
                    else:
                        self.assertEqual(r.status, 403, f"{role} {method} {pattern}: expected 403, got {r}")
                    checked += 1
        self.assertEqual(checked, len(routes) * len(ROLE_PERMISSIONS))

    def test_denied_requests_are_audited(self):
        viewer = self.server.login("authz-viewer", self.passwords["authz-viewer"])
        self.assertEqual(viewer.get("/api/v1/users").status, 403)
        auditor = self.server.login("authz-auditor", self.passwords["authz-auditor"])
        rows = auditor.get("/api/v1/audit?outcome=denied&user=authz-viewer").json()["items"]
        self.assertTrue(any(r["action"] == "GET /api/v1/users" for r in rows), rows)

    def test_sysadmin_cannot_read_audit_and_auditor_reads_nothing_else(self):
        self.assertEqual(self.admin.get("/api/v1/audit").status, 403)
        auditor = self.server.login("authz-auditor", self.passwords["authz-auditor"])
        self.assertEqual(auditor.get("/api/v1/audit").status, 200)
        for path in ["/api/v1/users", "/api/v1/tokens", "/api/v1/tenants", "/metrics"]:
            self.assertEqual(auditor.get(path).status, 403, path)


if __name__ == "__main__":
    unittest.main()
