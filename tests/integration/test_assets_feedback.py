"""The asset ledger and the event pipeline close the loop on the real server: an internal address
that events mention and no asset has becomes an "unknown_in_logs" change (once, however often it is
seen), public addresses and addresses of known assets do not, and every ledger change comes back as
a searchable event of dataset assets.change."""
import json
import time
import unittest
import urllib.parse

from harness import ServerTest
from ingest_util import post_ingest, wait_for


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + "Z"


class AssetFeedback(ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = cls.server.admin()
        cls.sec, _ = cls.server.make_user(cls.admin, "sec1", "secadmin")
        r = cls.sec.post("/api/v1/tokens", {"name": "collector", "scopes": ["ingest.write"]})
        assert r.status == 201, r
        cls.token = r.json()["secret"]

    def changes(self, kind):
        items = self.sec.get("/api/v1/asset-changes?limit=1000").json()["items"]
        return [c for c in items if c["kind"] == kind]

    def search(self, q):
        r = self.sec.get("/api/v1/events?q=" + urllib.parse.quote(q) + "&limit=100")
        self.assertEqual(r.status, 200, r)
        return r.json()["items"]

    def test_unknown_internal_addresses_in_events_become_changes_and_events(self):
        now = time.time()
        lines = []
        # 10.77.0.5 talks to a public address three times; 8.8.4.4 is not an asset candidate.
        for i in range(3):
            lines.append({"@timestamp": iso(now - 60 + i), "message": "conn %d" % i,
                          "source": {"ip": "10.77.0.5"}, "destination": {"ip": "8.8.4.4", "port": 53}})
        r = post_ingest(self.server, self.token, "\n".join(json.dumps(x) for x in lines).encode(),
                        query="?source=fw&format=json")
        self.assertIn(r.status, (200, 202), r)

        unknown = wait_for(lambda: [c for c in self.changes("unknown_in_logs") if c["address"] == "10.77.0.5"],
                           timeout=60)
        self.assertEqual(len(unknown), 1, unknown)
        self.assertFalse([c for c in self.changes("unknown_in_logs") if c["address"] == "8.8.4.4"])

        # The change is an event too, searchable by dataset and address.
        events = wait_for(lambda: self.search('event.dataset:"assets.change" AND event.action:unknown_in_logs'),
                          timeout=60)
        self.assertTrue(any("10.77.0.5" in json.dumps(e) for e in events), events)

        # Seen again: still one change (the ledger records an address once a day).
        r = post_ingest(self.server, self.token, json.dumps(lines[0]).encode(), query="?source=fw&format=json")
        self.assertIn(r.status, (200, 202), r)
        time.sleep(7)  # past one hand-over round (5 s); nothing new may appear
        self.assertEqual(len([c for c in self.changes("unknown_in_logs") if c["address"] == "10.77.0.5"]), 1)

    def test_addresses_of_known_assets_are_not_unknown(self):
        r = self.sec.post("/api/v1/assets", {"attributes": {"name": "pacs-gw-02", "ips": "10.60.1.2", "kind": "server"}})
        self.assertEqual(r.status, 201, r)
        r = post_ingest(self.server, self.token, json.dumps({"@timestamp": iso(time.time()), "message": "x",
                                                            "source": {"ip": "10.60.1.2"}}).encode(),
                        query="?source=fw&format=json")
        self.assertIn(r.status, (200, 202), r)
        time.sleep(7)
        self.assertFalse([c for c in self.changes("unknown_in_logs") if c["address"] == "10.60.1.2"])


if __name__ == "__main__":
    unittest.main()
