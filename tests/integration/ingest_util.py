"""Helpers shared by the ingest integration tests (not a test module itself)."""
import json
import socket
import time
import urllib.parse


def free_port(kind=socket.SOCK_STREAM):
    """A port that was free a moment ago on 127.0.0.1 (the test then configures a listener on it)."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ingest_token(server):
    """An API token with scope ingest.write, created by the system administrator."""
    admin = server.admin()
    r = admin.post("/api/v1/tokens", {"name": "collector-%d" % time.time_ns(), "scopes": ["ingest.write"]})
    if r.status != 201:
        raise AssertionError(f"token creation failed: {r}")
    return r.json()["secret"]


def reader(server):
    """A logged-in security administrator (holds events.read)."""
    if not hasattr(server, "_reader"):
        server._reader, _ = server.make_user(server.admin(), "reader%d" % (time.time_ns() % 10**6), "secadmin")
    return server._reader


def all_events(server, query="", frm="2000-01-01T00:00:00Z"):
    """Every stored event matching `query` (all pages), as parsed JSON objects."""
    c = reader(server)
    out, cursor = [], ""
    while True:
        params = {"q": query, "from": frm, "limit": "1000"}  # the API's page maximum
        if cursor:
            params["cursor"] = cursor
        r = c.get("/api/v1/events?" + urllib.parse.urlencode(params))
        if r.status != 200:
            raise AssertionError(f"search failed: {r}")
        page = r.json()
        out.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return out


def raw_of(event):
    return event.get("raw", "")


def wait_for(predicate, timeout=120, interval=0.2):
    """Polls `predicate` until it returns a true value; the deadline only bounds a failing test."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(interval)
    return predicate()


def post_ingest(server, token, body, headers=None, query=""):
    h = {"Authorization": "Bearer " + token, "Content-Type": "application/x-ndjson"}
    h.update(headers or {})
    return server.request("POST", "/api/v1/ingest" + query, raw_body=body, headers=h)
