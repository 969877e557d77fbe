"""Alert triage against the real server: alerts posted to /api/v1/triage/alerts and alerts the
detection pipeline raises from events posted to /api/v1/ingest become deduplicated alert records
and one incident per entity; the incident lifecycle (acknowledge, owner, comments, watchers,
resolve, close with review, reopen) with its timeline; suppressions made from an alert (and their
audit trail), verdicts and suggested suppressions that need approval; noise-reduction figures equal
to what was posted; roles and tenant isolation. SLA breach, escalation to the next on-call tier and
the webhook notification are in SlaEscalationTest, which moves its own server's clock (test hook
MEDSOC_TEST_CLOCK_FILE) and a loopback webhook receiver (receivers.py) checks the payload."""
import datetime
import json
import tempfile
import time
import unittest
import urllib.parse

from harness import STRONG, Server
from ingest_util import post_ingest, wait_for
from receivers import Receivers

VSSADMIN_RULE = "e920c9d0-9b26-5db6-b5f6-2db26049ac64"  # content/rules/medsoc/ransomware/vssadmin_delete_shadows.yml


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def alert(rule_id, level="high", host="", **kw):
    a = {"rule_id": rule_id, "rule_title": "title of " + rule_id, "level": level}
    if host:
        a["host"] = host
    a.update(kw)
    return a


def add_cli_user(server, name, role, tenant):
    r = server.cli("user", "add", name, "--role", role, "--tenant", tenant, "--password-stdin", stdin=STRONG + "\n")
    assert r.returncode == 0, r.stderr


class TriageTest(unittest.TestCase):
    """Two hospitals on one server. Every test uses its own host names and rule ids, so the tests do
    not depend on each other's alerts."""

    @classmethod
    def setUpClass(cls):
        cls.server = s = Server().start()
        admin = s.admin()
        for tid in ["hosp-a", "hosp-b"]:
            r = admin.post("/api/v1/tenants", {"id": tid, "name": tid})
            assert r.status == 201, r
        for name, role, tenant in [("sec-a", "secadmin", "hosp-a"), ("ana-a", "analyst", "hosp-a"),
                                   ("view-a", "viewer", "hosp-a"), ("aud-a", "auditor", "hosp-a"),
                                   ("sec-b", "secadmin", "hosp-b"), ("view-b", "viewer", "hosp-b")]:
            add_cli_user(s, name, role, tenant)
        cls.ids = {}
        for name in ["sec-a", "ana-a", "sec-b"]:
            cls.ids[name] = s.login(name, STRONG).get("/api/v1/auth/me").json()["user_id"]

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def login(self, name):
        return self.server.login(name, STRONG)

    def post_alerts(self, client, alerts):
        r = client.post("/api/v1/triage/alerts", {"alerts": alerts})
        self.assertEqual(r.status, 200, r)
        return r.json()

    def incidents_with(self, client, entity):
        """List items naming `entity` (the server filters on all entities). An item has alert_count
        and only the newest few alert_ids, entity_count and only the first few entities; incident()
        has them all."""
        r = client.get("/api/v1/triage/incidents?limit=1000&entity=" + urllib.parse.quote(entity))
        self.assertEqual(r.status, 200, r)
        return r.json()["items"]

    def incident(self, client, iid):
        r = client.get("/api/v1/triage/incidents/" + iid)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def all_alerts(self, client, query="", limit=500):
        """Every alert record of the list, following its `next` cursor."""
        out, after = [], None
        while True:
            q = query + ("&" if query else "") + f"limit={limit}" + (f"&after={urllib.parse.quote(after)}" if after else "")
            r = client.get("/api/v1/triage/alerts?" + q)
            self.assertEqual(r.status, 200, r)
            body = r.json()
            self.assertLessEqual(len(body["items"]), limit)
            out += body["items"]
            after = body.get("next")
            if not after:
                return out

    # ---------------------------------------------------------------- (a) dedup and aggregation

    def test_incident_list_caps_entities_and_filters_on_all_of_them(self):
        # A list item carries entity_count and only the first 10 entities; the detail has them all,
        # and ?entity= finds the incident by an entity the item does not show.
        c = self.login("sec-a")
        now = time.time()
        posted = [alert(f"it-ent-{i}", "high", "ent-ws-1", user=f"ent-nurse-{i:02d}", event_time=iso(now - 900 + 30 * i))
                  for i in range(14)]
        self.post_alerts(c, posted)
        incs = self.incidents_with(c, "host:ent-ws-1")
        self.assertEqual(len(incs), 1, incs)
        item = incs[0]
        detail = self.incident(c, item["id"])
        self.assertGreaterEqual(detail["entity_count"], 15)  # the host and 14 accounts
        self.assertEqual(detail["entity_count"], len(detail["entities"]))
        self.assertFalse(detail["entities_truncated"])
        self.assertIn("user:ent-nurse-13", detail["entities"])
        self.assertEqual(item["entity_count"], detail["entity_count"])
        self.assertTrue(item["entities_truncated"])
        self.assertEqual(item["entities"], detail["entities"][:10])
        late = detail["entities"][-1]
        self.assertNotIn(late, item["entities"])
        self.assertEqual([i["id"] for i in self.incidents_with(c, late)], [item["id"]])
        self.assertEqual(self.incidents_with(c, "user:ent-nurse-99"), [])
        # The other hospital does not see it by any of its entities.
        self.assertEqual(self.incidents_with(self.login("sec-b"), late), [])

    def test_incident_list_counts_alerts_and_the_alert_list_pages(self):
        # A list item carries alert_count and only the newest 5 alert ids; the detail has them all.
        c = self.login("sec-a")
        now = time.time()
        posted = [alert(f"it-count-{i}", "high", "cnt-ws-1", event_time=iso(now - 900 + 60 * i)) for i in range(8)]
        out = self.post_alerts(c, posted)
        self.assertEqual(out["new_records"], 8)
        incs = self.incidents_with(c, "host:cnt-ws-1")
        self.assertEqual(len(incs), 1, incs)
        item = incs[0]
        detail = self.incident(c, item["id"])
        self.assertEqual(item["alert_count"], 8)
        self.assertTrue(item["alert_ids_truncated"])
        newest = [r["alert_id"] for r in reversed(out["results"][-5:])]  # later event_time first
        self.assertEqual(item["alert_ids"], newest)
        self.assertEqual(detail["alert_count"], 8)
        self.assertFalse(detail["alert_ids_truncated"])
        self.assertEqual(sorted(detail["alert_ids"]), sorted(r["alert_id"] for r in out["results"]))

        # The incident's alerts page by cursor, newest first: every record once.
        pages, after = [], None
        while True:
            r = c.get(f"/api/v1/triage/alerts?incident_id={item['id']}&limit=3" + (f"&after={after}" if after else ""))
            self.assertEqual(r.status, 200, r)
            pages.append(r.json()["items"])
            after = r.json().get("next")
            if not after:
                break
        self.assertEqual([len(p) for p in pages], [3, 3, 2])
        ids = [a["id"] for p in pages for a in p]
        self.assertEqual(ids, [r["alert_id"] for r in reversed(out["results"])])
        seen = [parse_iso(a["last_seen"]) for p in pages for a in p]
        self.assertEqual(seen, sorted(seen, reverse=True))
        self.assertEqual(self.all_alerts(c, "incident_id=" + item["id"], limit=4), [a for p in pages for a in p])
        # Pages are at most 500; a cursor the server did not make is refused.
        self.assertEqual(c.get("/api/v1/triage/alerts?limit=100000").status, 200)
        r = c.get("/api/v1/triage/alerts?after=not-a-cursor")
        self.assertEqual(r.status, 400, r)
        self.assertIn("after", r.json()["error"]["message"])

    def test_posted_alerts_dedup_into_records_and_one_incident_per_entity(self):
        c = self.login("sec-a")
        now = time.time()
        t = [now - 1800, now - 1200, now - 600]  # within the 1 h dedup window
        posted = [alert("it-dedup-1", "high", "dd-ws-1", event_time=iso(x)) for x in t]
        posted += [alert("it-dedup-2", "medium", "dd-ws-1", event_time=iso(x), attack_tactic="discovery") for x in t[1:]]
        posted += [alert("it-dedup-1", "high", "dd-ws-2", event_time=iso(t[2]))]
        out = self.post_alerts(c, posted)
        self.assertEqual(out["alerts"], 6)
        self.assertEqual(out["new_records"], 3)
        self.assertEqual(out["incidents_created"], 2)
        self.assertEqual(out["suppressed"], 0)
        res = out["results"]
        self.assertEqual(len({r["alert_id"] for r in res[:3]}), 1)  # one record for the three
        self.assertEqual([r["new"] for r in res], [True, False, False, True, False, True])
        self.assertEqual(res[0]["score"], 60)  # high (60) x criticality 3 (x1.0)
        self.assertEqual(res[3]["score"], 35)  # medium

        one = self.incidents_with(c, "host:dd-ws-1")
        two = self.incidents_with(c, "host:dd-ws-2")
        self.assertEqual(len(one), 1, one)
        self.assertEqual(len(two), 1, two)
        inc = one[0]
        self.assertNotEqual(inc["id"], two[0]["id"])
        self.assertEqual(inc["severity"], "high")
        self.assertEqual(inc["status"], "new")
        self.assertEqual(inc["raised_by"], "alert")
        self.assertEqual(inc["alert_count"], 2)
        self.assertEqual(len(inc["alert_ids"]), 2)
        self.assertFalse(inc["alert_ids_truncated"])
        self.assertEqual(sorted(self.incident(c, inc["id"])["alert_ids"]), sorted(inc["alert_ids"]))
        self.assertEqual(inc["event_count"], 5)
        self.assertEqual(res[0]["incident_id"], inc["id"])
        self.assertEqual(res[4]["incident_id"], inc["id"])  # the later alert joined the open incident
        self.assertEqual(two[0]["event_count"], 1)
        self.assertRegex(inc["number"], r"^INC-\d{6}$")

        recs = c.get("/api/v1/triage/alerts?incident_id=" + inc["id"]).json()["items"]
        by_rule = {r["rule_id"]: r for r in recs}
        self.assertEqual(set(by_rule), {"it-dedup-1", "it-dedup-2"})
        first = by_rule["it-dedup-1"]
        self.assertEqual(first["count"], 3)
        self.assertEqual(first["status"], "in_incident")
        self.assertEqual(first["host"], "dd-ws-1")
        self.assertEqual(first["entities"], ["host:dd-ws-1"])
        self.assertAlmostEqual(parse_iso(first["first_seen"]), int(t[0]), delta=0.001)
        self.assertAlmostEqual(parse_iso(first["last_seen"]), int(t[2]), delta=0.001)
        self.assertEqual(by_rule["it-dedup-2"]["count"], 2)
        self.assertEqual(by_rule["it-dedup-2"]["attack_tactic"], "discovery")
        # One alert by id, and the same alert 2 h later is a new record (outside the window).
        self.assertEqual(c.get("/api/v1/triage/alerts/" + first["id"]).json()["count"], 3)
        later = self.post_alerts(c, [alert("it-dedup-1", "high", "dd-ws-1", event_time=iso(t[2] + 7200))])
        self.assertTrue(later["results"][0]["new"])
        self.assertNotEqual(later["results"][0]["alert_id"], first["id"])
        self.assertEqual(later["results"][0]["incident_id"], inc["id"])  # still the entity's open incident

        # Bad input is refused with the field named, and nothing is recorded.
        r = c.post("/api/v1/triage/alerts", {"alerts": [alert("ok-1"), {"rule_id": "x", "level": "urgent"}]})
        self.assertEqual(r.status, 400, r)
        self.assertIn("alerts[1]: level: unknown level 'urgent'", r.json()["error"]["message"])
        r = c.post("/api/v1/triage/alerts", {"alerts": [{"rule_title": "no id"}]})
        self.assertEqual(r.status, 400, r)
        self.assertIn("rule_id", r.json()["error"]["message"])
        self.assertFalse([a for a in self.all_alerts(c) if a["rule_id"] == "ok-1"])

    def test_detection_pipeline_alerts_from_ingested_events(self):
        sec = self.login("sec-a")
        r = sec.post("/api/v1/tokens", {"name": "sysmon-collector", "scopes": ["ingest.write"]})
        self.assertEqual(r.status, 201, r)
        token = r.json()["secret"]
        now = time.time()
        sysmon = [{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
                   "@timestamp": iso(now - 300 + i), "Image": "C:\\Windows\\System32\\vssadmin.exe",
                   "CommandLine": "vssadmin.exe Delete Shadows /All /Quiet", "User": "HOSP\\svc_pl",
                   "Computer": "pl-fs-07.hosp.local"} for i in range(3)]
        # Not a match of the rule: no alert from it.
        sysmon.append({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "@timestamp": iso(now - 200),
                       "Image": "C:\\Windows\\System32\\vssadmin.exe", "CommandLine": "vssadmin list shadows",
                       "User": "HOSP\\svc_pl", "Computer": "pl-fs-08.hosp.local"})
        body = "\n".join(json.dumps(e) for e in sysmon).encode()
        r = post_ingest(self.server, token, body, query="?source=sysmon&format=windows_json")
        self.assertIn(r.status, (200, 202), r)
        # A third-party alert that arrives as an event: Suricata EVE, twice on the same internal target.
        eve = [{"timestamp": iso(now - 100 + i).replace("Z", ".000000+0000"), "event_type": "alert",
                "src_ip": "203.0.113.50", "src_port": 44321 + i, "dest_ip": "10.77.0.5", "dest_port": 445,
                "proto": "TCP", "alert": {"action": "allowed", "gid": 1, "signature_id": 2024217, "rev": 3,
                                          "signature": "ET EXPLOIT Possible ETERNALBLUE MS17-010",
                                          "category": "Attempted Administrator Privilege Gain", "severity": 1}}
               for i in range(2)]
        r = post_ingest(self.server, token, "\n".join(json.dumps(e) for e in eve).encode(),
                        query="?source=suricata&format=suricata_eve")
        self.assertIn(r.status, (200, 202), r)

        def records(rule):
            return [a for a in self.all_alerts(sec) if a["rule_id"] == rule]

        sigma = wait_for(lambda: [a for a in records(VSSADMIN_RULE) if a["count"] == 3])
        self.assertEqual(len(sigma), 1, records(VSSADMIN_RULE))
        rec = sigma[0]
        self.assertEqual(rec["source"], "sigma")
        self.assertEqual(rec["level"], "critical")
        self.assertEqual(rec["host"], "pl-fs-07.hosp.local")
        self.assertEqual(rec["user"], "svc_pl")  # domain stripped
        self.assertEqual(rec["attack_tactic"], "impact")
        self.assertEqual(rec["attack_technique"].upper(), "T1490")
        self.assertEqual(rec["score"], 85)
        self.assertEqual(len(records(VSSADMIN_RULE)), 1)  # the non-matching event raised nothing
        incs = self.incidents_with(sec, "host:pl-fs-07.hosp.local")
        self.assertEqual(len(incs), 1, incs)
        self.assertEqual(incs[0]["severity"], "critical")
        self.assertEqual(incs[0]["alert_count"], 1)
        self.assertEqual(self.incident(sec, incs[0]["id"])["alert_ids"], [rec["id"]])
        self.assertEqual(incs[0]["event_count"], 3)
        self.assertIn("impact", incs[0]["tactics"])
        self.assertEqual(rec["incident_id"], incs[0]["id"])

        sur = wait_for(lambda: [a for a in records("suricata:2024217") if a["count"] == 2])
        self.assertEqual(len(sur), 1, records("suricata:2024217"))
        self.assertEqual(sur[0]["source"], "suricata")
        self.assertEqual(sur[0]["level"], "high")  # EVE severity 1
        self.assertEqual(sur[0]["src_ip"], "203.0.113.50")
        self.assertEqual(sur[0]["dst_ip"], "10.77.0.5")
        incs = self.incidents_with(sec, "ip:10.77.0.5")
        self.assertEqual(len(incs), 1, incs)
        self.assertEqual(incs[0]["source"], "suricata")
        self.assertEqual(sorted(incs[0]["entities"]), ["ip:10.77.0.5", "ip:203.0.113.50"])
        self.assertEqual(incs[0]["entity_count"], 2)
        self.assertFalse(incs[0]["entities_truncated"])
        # The external address is an observable, not a grouping key: the same attacker on another
        # internal machine is another incident.
        other = self.post_alerts(sec, [alert("suricata:2024217", "high", source="suricata", src_ip="203.0.113.50",
                                             dst_ip="10.77.0.6")])["results"][0]
        self.assertTrue(other["incident_created"])
        self.assertNotEqual(other["incident_id"], incs[0]["id"])
        # The pipeline's alerts belong to the token's tenant only.
        b = self.login("sec-b")
        self.assertFalse([a for a in self.all_alerts(b) if a["rule_id"] in (VSSADMIN_RULE, "suricata:2024217")])

    def test_scoring_uses_the_asset_ledger(self):
        sec = self.login("sec-a")
        r = sec.post("/api/v1/assets", {"attributes": {"name": "HIS 数据库", "hostname": "ledger-his-01",
                                                       "ips": "10.55.0.10", "zone": "dmz", "confidentiality": "5"}})
        self.assertEqual(r.status, 201, r)
        asset_id = r.json()["id"]
        out = self.post_alerts(sec, [alert("it-ledger-1", "medium", "LEDGER-HIS-01"),
                                     alert("it-ledger-2", "low", src_ip="10.30.0.7", dst_ip="10.55.0.10"),
                                     alert("it-ledger-1", "medium", "not-in-ledger-01")])
        his, by_ip, other = out["results"]
        self.assertEqual(his["score"], 68.3)  # medium 35 x criticality 5 (1.5) x internet-facing DMZ (1.3)
        self.assertTrue(his["incident_created"])
        rec = sec.get("/api/v1/triage/alerts/" + his["alert_id"]).json()
        self.assertEqual(rec["asset_id"], asset_id)
        self.assertEqual(rec["entities"], ["asset:" + asset_id])
        self.assertEqual(by_ip["score"], 29.3)  # low 15 x 1.5 x 1.3: the destination address is the ledger's
        self.assertEqual(by_ip["incident_id"], his["incident_id"])  # same asset: joins its incident
        self.assertEqual(other["score"], 35)  # unknown everywhere: default criticality

    # ---------------------------------------------------------------- (b) lifecycle

    def test_incident_lifecycle_owner_comments_watchers_close_reopen(self):
        sec, ana = self.login("sec-a"), self.login("ana-a")
        out = self.post_alerts(ana, [alert("it-life-1", "high", "lc-ws-1", attack_tactic="execution")])
        iid = out["results"][0]["incident_id"]
        self.assertTrue(out["results"][0]["incident_created"])
        path = "/api/v1/triage/incidents/" + iid

        r = ana.patch(path, {"status": "acknowledged", "note": "已接手 taking it"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["status"], "acknowledged")
        self.assertIsNotNone(r.json()["acknowledged_at"])
        r = ana.patch(path, {"owner": self.ids["ana-a"]})
        self.assertEqual(r.json()["owner"], self.ids["ana-a"])
        self.assertEqual(ana.get(f"/api/v1/triage/incidents?owner={self.ids['ana-a']}").json()["items"][0]["id"], iid)
        r = ana.post(path + "/comments", {"body": "主机 lc-ws-1 已隔离 isolated"})
        self.assertEqual(r.status, 201, r)
        comment_id = r.json()["id"]
        self.assertEqual(r.json()["author"], self.ids["ana-a"])
        r = ana.post(path + "/watchers", {"user_id": self.ids["sec-a"]})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(ana.get(path).json()["watchers"], [self.ids["sec-a"]])
        ana.post(path + "/watchers", {"user_id": self.ids["sec-b"]})
        ana.post(path + "/watchers", {"user_id": self.ids["sec-b"], "watch": False})
        self.assertEqual(ana.get(path).json()["watchers"], [self.ids["sec-a"]])
        self.assertEqual(ana.post(path + "/links", {"kind": "asset", "ref": "lc-ws-1", "note": "受影响主机"}).status, 201)

        for st in ["investigating", "contained", "resolved"]:
            r = ana.patch(path, {"status": st})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["status"], st)
        # Backwards is not a lifecycle move; closing needs the post-incident review.
        self.assertEqual(ana.patch(path, {"status": "investigating"}).status, 409)
        r = ana.patch(path, {"status": "closed"})
        self.assertEqual(r.status, 409, r)
        self.assertIn("review", r.json()["error"]["message"])
        r = ana.patch(path, {"status": "closed", "review": "复盘：补丁缺失 missing patch"})
        self.assertEqual(r.status, 200, r)
        closed = r.json()
        self.assertEqual(closed["status"], "closed")
        self.assertEqual(closed["review"], "复盘：补丁缺失 missing patch")
        self.assertIsNotNone(closed["closed_at"])
        self.assertIsNotNone(closed["resolved_at"])
        self.assertEqual(ana.patch(path, {"status": "new"}).status, 409)
        r = ana.post(path + "/verdict", {"verdict": "true_positive", "comment": "confirmed"})
        self.assertEqual(r.status, 201, r)
        # Reopen.
        r = ana.patch(path, {"status": "acknowledged", "note": "复发 recurred"})
        self.assertEqual(r.status, 200, r)
        reopened = r.json()
        self.assertEqual(reopened["status"], "acknowledged")
        self.assertIsNone(reopened["closed_at"])
        self.assertIsNone(reopened["resolved_at"])
        self.assertEqual(reopened["verdict"], "true_positive")

        full = sec.get(path).json()
        self.assertEqual([c["id"] for c in full["comments"]], [comment_id])
        self.assertEqual(full["comments"][0]["body"], "主机 lc-ws-1 已隔离 isolated")
        self.assertEqual([(l["kind"], l["ref"], l["added_by"]) for l in full["links"]],
                         [("asset", "lc-ws-1", self.ids["ana-a"])])
        tl = full["timeline"]
        kinds = [e["kind"] for e in tl]
        self.assertEqual(kinds[0], "created")
        self.assertIn("alert_added", kinds)
        want = ["status", "owner", "comment", "watcher_added", "watcher_added", "watcher_removed", "status", "status",
                "status", "status", "review", "verdict", "reopened"]
        analyst_entries = [e for e in tl if e["actor"] == self.ids["ana-a"]]
        self.assertEqual([e["kind"] for e in analyst_entries if e["kind"] != "link"], want, tl)
        details = [e["detail"] for e in analyst_entries]
        self.assertIn("new -> acknowledged: 已接手 taking it", details)
        self.assertIn("resolved -> closed", details)
        self.assertIn("closed -> acknowledged (reopened): 复发 recurred", details)
        self.assertIn("assigned to " + self.ids["ana-a"], details)
        self.assertIn(comment_id, details)
        # The report carries the story.
        rep = sec.get(path + "/report")
        self.assertEqual(rep.status, 200, rep)

    # ---------------------------------------------------------------- (d) suppression, verdicts, noise

    def test_suppression_from_alert_with_reason_author_expiry_audited(self):
        sec = self.login("sec-a")
        out = self.post_alerts(sec, [alert("it-sup-1", "medium", "sup-ws-1", user="carol")])
        aid = out["results"][0]["alert_id"]
        expires = iso(time.time() + 7 * 86400)
        r = sec.post(f"/api/v1/triage/alerts/{aid}/suppress", {"fields": ["host"], "reason": "巡检脚本误报 inspection script",
                                                               "expires_at": expires})
        self.assertEqual(r.status, 201, r)
        sup = r.json()
        self.assertEqual(sup["rule_id"], "it-sup-1")
        self.assertEqual(sup["conditions"], [{"field": "host", "values": ["sup-ws-1"]}])
        self.assertEqual(sup["reason"], "巡检脚本误报 inspection script")
        self.assertEqual(sup["author"], self.ids["sec-a"])
        self.assertEqual(sup["origin"], "alert")
        self.assertEqual(sup["status"], "active")
        self.assertAlmostEqual(parse_iso(sup["expires_at"]), parse_iso(expires), delta=0.001)
        # Reason and expiry are required.
        self.assertEqual(sec.post(f"/api/v1/triage/alerts/{aid}/suppress", {"reason": "x"}).status, 400)
        self.assertEqual(sec.post(f"/api/v1/triage/alerts/{aid}/suppress", {"expires_at": expires}).status, 400)

        nxt = self.post_alerts(sec, [alert("it-sup-1", "medium", "sup-ws-1", user="carol"),
                                     alert("it-sup-1", "medium", "sup-ws-2", user="carol")])
        self.assertEqual(nxt["suppressed"], 1)
        self.assertEqual(nxt["results"][0]["suppression"], "rule")
        self.assertEqual(nxt["results"][1]["suppression"], "none")  # another host: not covered
        rec = sec.get("/api/v1/triage/alerts/" + nxt["results"][0]["alert_id"]).json()
        self.assertEqual(rec["status"], "suppressed")
        self.assertEqual(rec["suppressed_by"], sup["id"])
        listed = {s["id"]: s for s in sec.get("/api/v1/triage/suppressions?status=active").json()["items"]}
        self.assertEqual(listed[sup["id"]]["hits"], 1)
        self.assertIsNotNone(listed[sup["id"]]["last_hit_at"])

        aud = self.login("aud-a")
        q = urllib.parse.urlencode({"action": "POST /api/v1/triage/alerts/{id}/suppress", "limit": "100"})
        rows = [x for x in aud.get("/api/v1/audit?" + q).json()["items"] if x["target"] == "alert:" + aid]
        ok = [x for x in rows if x["outcome"] == "success"]
        self.assertEqual(len(ok), 1, rows)
        self.assertEqual(ok[0]["user"], "sec-a")
        self.assertIn("巡检脚本误报 inspection script", ok[0]["detail"])
        self.assertIn(sup["id"], ok[0]["detail"])
        self.assertIn("expires " + expires[:19], ok[0]["detail"])

    def test_verdicts_and_suggested_suppression_needs_approval(self):
        ana, sec = self.login("ana-a"), self.login("sec-a")
        now = time.time()
        # Three records of one rule on one host (2 h apart: outside the dedup window), each judged a
        # false positive.
        ids = []
        for h in (6, 4, 2):
            out = self.post_alerts(ana, [alert("it-fp-1", "low", "fp-ws-1", event_time=iso(now - h * 3600))])
            ids.append(out["results"][0]["alert_id"])
        self.assertEqual(len(set(ids)), 3)
        for i, aid in enumerate(ids):
            r = ana.post(f"/api/v1/triage/alerts/{aid}/verdict", {"verdict": "false_positive", "comment": f"fp {i}"})
            self.assertEqual(r.status, 201, r)
            self.assertEqual(r.json()["author"], self.ids["ana-a"])
        self.assertEqual(ana.get("/api/v1/triage/alerts/" + ids[0]).json()["verdict"], "false_positive")
        self.assertEqual(ana.post(f"/api/v1/triage/alerts/{ids[0]}/verdict", {"verdict": "maybe"}).status, 400)
        proposed = [s for s in ana.get("/api/v1/triage/suppressions?status=proposed").json()["items"]
                    if s["rule_id"] == "it-fp-1"]
        self.assertEqual(len(proposed), 1, proposed)
        self.assertEqual(proposed[0]["conditions"], [{"field": "host", "values": ["fp-ws-1"]}])
        self.assertEqual(proposed[0]["origin"], "suggestion")
        # Not applied before approval.
        out = self.post_alerts(ana, [alert("it-fp-1", "low", "fp-ws-1")])
        self.assertEqual(out["results"][0]["suppression"], "none")
        r = sec.post(f"/api/v1/triage/suppressions/{proposed[0]['id']}/approve")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["status"], "active")
        self.assertEqual(r.json()["approved_by"], self.ids["sec-a"])
        out = self.post_alerts(ana, [alert("it-fp-1", "low", "fp-ws-1", event_time=iso(now + 7200))])
        self.assertEqual(out["results"][0]["suppression"], "rule")

    def test_noise_reduction_equals_what_was_posted(self):
        # Tenant B receives only this test's alerts, so its figures are exact.
        b = self.login("sec-b")
        before = b.get("/api/v1/triage/noise-reduction").json()["total"]
        self.assertEqual(before["alerts_in"], 0)
        r = b.post("/api/v1/triage/suppressions", {"rule_id": "nr-sigma-2", "reason": "测试 test",
                                                   "conditions": [{"field": "host", "values": ["nr-ws-2"]}],
                                                   "expires_at": iso(time.time() + 86400)})
        self.assertEqual(r.status, 201, r)
        posted = [alert("nr-sigma-1", "medium", "nr-ws-1") for _ in range(5)]
        posted += [alert("suricata:1", "high", "nr-srv-1", source="suricata", src_ip="203.0.113.5") for _ in range(3)]
        posted += [alert("waf:941100", "high", "nr-web-1", source="waf", action="blocked", src_ip="198.51.100.9")
                   for _ in range(2)]
        posted += [alert("nr-sigma-2", "high", "nr-ws-2") for _ in range(4)]
        sums = {"alerts": 0, "new_records": 0, "suppressed": 0, "incidents_created": 0}
        for chunk in (posted[:7], posted[7:]):
            out = self.post_alerts(b, chunk)
            for k in sums:
                sums[k] += out[k]
        self.assertEqual(sums, {"alerts": 14, "new_records": 4, "suppressed": 4, "incidents_created": 1})
        for who in (b, self.login("view-b")):  # viewers read the dashboard figures
            r = who.get("/api/v1/triage/noise-reduction")
            self.assertEqual(r.status, 200, r)
            nr = r.json()
            self.assertEqual(nr["total"], {"alerts_in": 14, "alert_records": 4, "suppressed": 4, "incidents": 1,
                                           "reduction_pct": round(100 * (1 - 1 / 14), 2)})
            self.assertEqual(nr["by_source"]["sigma"],
                             {"alerts_in": 9, "alert_records": 2, "suppressed": 4, "incidents": 0, "reduction_pct": 100.0})
            self.assertEqual(nr["by_source"]["suricata"],
                             {"alerts_in": 3, "alert_records": 1, "suppressed": 0, "incidents": 1,
                              "reduction_pct": round(100 * (1 - 1 / 3), 2)})
            self.assertEqual(nr["by_source"]["waf"]["alerts_in"], 2)
            self.assertEqual(nr["by_source"]["waf"]["alert_records"], 1)
            self.assertEqual(nr["by_source"]["waf"]["incidents"], 0)
            self.assertEqual(sum(d["alerts_in"] for d in nr["by_day"]), 14)
        # A day range without traffic is empty.
        self.assertEqual(b.get("/api/v1/triage/noise-reduction?from=2001-01-01&to=2001-01-31").json()["total"]["alerts_in"], 0)

    def test_summary_equals_counts_from_the_lists(self):
        # GET /summary (dashboards.read) counts open incidents and alerts in SQL; the counts equal
        # what the list endpoints return for the same tenant at the same moment.
        sec = self.login("sec-a")
        self.post_alerts(sec, [alert("sum-1", "high", "sum-ws-1"), alert("sum-2", "critical", "sum-srv-1"),
                               alert("sum-3", "low", "sum-ws-2")])
        ack = [i for i in self.incidents_with(sec, "host:sum-srv-1") if i["status"] == "new"]
        self.assertTrue(ack)
        self.assertEqual(sec.patch("/api/v1/triage/incidents/" + ack[0]["id"], {"status": "acknowledged"}).status, 200)
        r = sec.get("/api/v1/triage/summary")
        self.assertEqual(r.status, 200, r)
        summary = r.json()
        incidents = sec.get("/api/v1/triage/incidents?status=open&limit=1000").json()["items"]
        self.assertLess(len(incidents), 1000)
        alerts = self.all_alerts(sec, "status=open")
        inc = summary["incidents"]
        self.assertEqual(inc["open"], len(incidents))
        self.assertGreater(inc["open"], 0)
        for sev in ("critical", "high", "medium", "low"):
            self.assertEqual(inc["by_severity"][sev], sum(1 for i in incidents if i["severity"] == sev), sev)
        for st in ("new", "acknowledged", "investigating", "contained"):
            self.assertEqual(inc["by_status"][st], sum(1 for i in incidents if i["status"] == st), st)
        self.assertEqual(sum(inc["by_sla"].values()), len(incidents))
        self.assertEqual(inc["by_sla"]["paused"], sum(1 for i in incidents if i["sla_paused"] and not i["breaches"]))
        self.assertGreaterEqual(inc["by_sla"]["breached"], sum(1 for i in incidents if i["breaches"]))
        self.assertEqual(summary["alerts"]["open"], len(alerts))
        # Another tenant's summary is its own.
        b = self.login("sec-b")
        sb = b.get("/api/v1/triage/summary").json()
        self.assertEqual(sb["incidents"]["open"], len(b.get("/api/v1/triage/incidents?status=open&limit=1000").json()["items"]))
        self.assertEqual(sb["alerts"]["open"], len(self.all_alerts(b, "status=open")))
        # A viewer reads the dashboard but not incidents or alerts: the summary leaves them out.
        r = self.login("view-a").get("/api/v1/triage/summary")
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("incidents", r.json())
        self.assertNotIn("alerts", r.json())
        self.assertEqual(self.login("aud-a").get("/api/v1/triage/summary").status, 403)

    # ---------------------------------------------------------------- (e) roles and tenants

    def test_viewer_cannot_change_incidents_and_tenants_are_isolated(self):
        sec = self.login("sec-a")
        out = self.post_alerts(sec, [alert("it-iso-1", "high", "iso-ws-1")])
        iid, aid = out["results"][0]["incident_id"], out["results"][0]["alert_id"]
        path = "/api/v1/triage/incidents/" + iid
        view = self.login("view-a")
        self.assertEqual(view.patch(path, {"status": "acknowledged"}).status, 403)
        self.assertEqual(view.post(path + "/comments", {"body": "x"}).status, 403)
        self.assertEqual(view.get(path).status, 403)
        self.assertEqual(view.post("/api/v1/triage/alerts", {"alerts": [alert("it-iso-2")]}).status, 403)
        self.assertEqual(view.post(f"/api/v1/triage/alerts/{aid}/suppress",
                                   {"reason": "x", "expires_at": iso(time.time() + 60)}).status, 403)

        b = self.login("sec-b")
        self.assertEqual(b.get(path).status, 404)
        self.assertEqual(b.patch(path, {"status": "acknowledged"}).status, 404)
        self.assertEqual(b.post(path + "/comments", {"body": "not yours"}).status, 404)
        self.assertEqual(b.get(path + "/report").status, 404)
        self.assertEqual(b.get("/api/v1/triage/alerts/" + aid).status, 404)
        self.assertEqual(b.post(f"/api/v1/triage/alerts/{aid}/verdict", {"verdict": "false_positive"}).status, 404)
        self.assertNotIn(iid, [i["id"] for i in b.get("/api/v1/triage/incidents?limit=1000").json()["items"]])
        # Nothing changed in tenant A.
        after = sec.get(path).json()
        self.assertEqual(after["status"], "new")
        self.assertEqual(after["comments"], [])
        self.assertIsNone(sec.get("/api/v1/triage/alerts/" + aid).json()["verdict"])


class SlaEscalationTest(unittest.TestCase):
    """A critical incident's acknowledge clock (15 min by default) breaches when the server's clock
    moves past it: the breach is recorded, the incident escalates to tier 2 of the roster, and the
    webhook channel receives the sla.breach message naming the tier-2 person on duty."""

    @classmethod
    def setUpClass(cls):
        cls.recv_dir = tempfile.mkdtemp(prefix="medsoc-triage-recv-")
        cls.recv = Receivers(cls.recv_dir).start()
        cls.server = Server().start()
        cls.sec, _ = cls.server.make_user(cls.server.admin(), "soc-lead", "secadmin")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        cls.recv.stop()

    def test_breach_escalates_and_notifies_webhook(self):
        sec = self.sec
        hook = f"http://127.0.0.1:{self.recv.http_port}/webhook"
        r = sec.post("/api/v1/triage/notify/channels", {"name": "SOC webhook", "kind": "webhook", "config": {"url": hook}})
        self.assertEqual(r.status, 201, r)
        channel = r.json()["id"]
        r = sec.post("/api/v1/triage/notify/routes", {"channel_id": channel, "name": "critical", "min_severity": "critical",
                                                      "events": ["incident.created", "sla.breach"]})
        self.assertEqual(r.status, 201, r)
        now = time.time()
        for user, display, tier in [("duty-1", "一线 张三", 1), ("duty-2", "二线 李四", 2)]:
            r = sec.post("/api/v1/triage/oncall/shifts", {"user_id": user, "display": display, "phone": "1380000000%d" % tier,
                                                          "tier": tier, "starts_at": iso(now - 3600),
                                                          "ends_at": iso(now + 86400)})
            self.assertEqual(r.status, 201, r)
        self.assertEqual({s["user_id"] for s in sec.get("/api/v1/triage/oncall/now").json()["items"]}, {"duty-1", "duty-2"})

        out = sec.post("/api/v1/triage/alerts", {"alerts": [alert("it-sla-1", "critical", "pacs-sla-01",
                                                                   attack_tactic="impact")]}).json()
        iid = out["results"][0]["incident_id"]
        path = "/api/v1/triage/incidents/" + iid
        inc = sec.get(path).json()
        self.assertEqual(inc["severity"], "critical")
        self.assertEqual(inc["escalation_tier"], 1)
        self.assertEqual(inc["breaches"], [])
        ack = [c for c in inc["sla"] if c["clock"] == "acknowledge"][0]
        self.assertEqual(ack["target_minutes"], 15)
        self.assertFalse(ack["breached"])
        self.assertAlmostEqual(parse_iso(ack["due_at"]) - parse_iso(inc["created_at"]), 15 * 60, delta=1)

        # The incident.created message arrives first (housekeeping delivers every 15 s).
        def hooks(event):
            return [x for x in self.recv.received("webhook")
                    if x["json"] and x["json"]["event"] == event and x["json"]["incident"]["id"] == iid]
        self.assertTrue(wait_for(lambda: hooks("incident.created")), self.recv.received())

        self.server.advance_clock(16 * 60)
        inc = wait_for(lambda: (lambda j: j if j["breaches"] else None)(sec.get(path).json()))
        self.assertEqual(inc["breaches"], ["acknowledge"])
        self.assertEqual(inc["escalation_tier"], 2)
        ack = [c for c in inc["sla"] if c["clock"] == "acknowledge"][0]
        self.assertTrue(ack["breached"])
        self.assertIsNone(ack["met_at"])
        respond = [c for c in inc["sla"] if c["clock"] == "respond"][0]
        self.assertFalse(respond["breached"])  # 30 min not yet up
        breach = [e for e in inc["timeline"] if e["kind"] == "sla_breach"]
        self.assertEqual(len(breach), 1, inc["timeline"])
        self.assertEqual(breach[0]["actor"], "sla")
        self.assertEqual(breach[0]["detail"], "acknowledge clock breached; escalated to tier 2: 二线 李四")

        got = wait_for(lambda: hooks("sla.breach"))
        self.assertEqual(len(got), 1, got)
        msg = got[0]
        self.assertTrue(msg["ok"], msg["problems"])
        self.assertEqual(msg["content_type"].split(";")[0], "application/json")
        p = msg["json"]
        self.assertEqual(set(p), {"event", "tenant", "incident", "sla", "oncall"})
        self.assertEqual(p["tenant"], "default")
        self.assertEqual(p["incident"]["id"], iid)
        self.assertEqual(p["incident"]["number"], inc["number"])
        self.assertEqual(p["incident"]["severity"], "critical")
        self.assertEqual(p["incident"]["title"], inc["title"])
        self.assertIn("host:pacs-sla-01", p["incident"]["entities"])
        self.assertEqual(p["sla"]["clock"], "acknowledge")
        self.assertEqual(p["sla"]["tier"], "2")
        self.assertTrue(p["sla"]["deadline"])
        self.assertEqual(p["oncall"], "二线 李四")
        deliveries = sec.get("/api/v1/triage/notify/deliveries?incident_id=" + iid).json()["items"]
        self.assertEqual(sorted(d["event"] for d in deliveries if d["status"] == "sent"), ["incident.created", "sla.breach"])
        self.assertTrue(all(d["response_code"] == 200 for d in deliveries if d["status"] == "sent"))

        # Past 30 min the respond clock breaches too; each clock escalates once, and with nobody on
        # duty above tier 2 the tier stays 2.
        self.server.advance_clock(15 * 60)
        inc = wait_for(lambda: (lambda j: j if len(j["breaches"]) == 2 else None)(sec.get(path).json()))
        self.assertEqual(inc["breaches"], ["acknowledge", "respond"])
        self.assertEqual(inc["escalation_tier"], 2)
        got = wait_for(lambda: len(hooks("sla.breach")) == 2 and hooks("sla.breach"))
        self.assertEqual(sorted(x["json"]["sla"]["clock"] for x in got), ["acknowledge", "respond"])
        self.assertEqual(len([e for e in sec.get(path).json()["timeline"] if e["kind"] == "sla_breach"]), 2)


if __name__ == "__main__":
    unittest.main()
