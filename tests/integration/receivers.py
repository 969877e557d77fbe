"""Loopback receivers for notification tests: an SMTP sink that requires STARTTLS, and HTTP
endpoints shaped like the WeCom, DingTalk and Feishu group bots, a generic webhook and an SMS
gateway. Each request is checked against the shape and the signature the vendor documents, and
recorded (with the list of problems found) as one JSON line in DIR/received.jsonl.

Used two ways:
  * as a module: Receivers(dir, ...).start() in Python tests;
  * as a program (C++ unit tests start it): python3 receivers.py --dir DIR [--dingtalk-secret S]
    [--feishu-secret S] [--wecom-key K] [--fail-first N]; it writes DIR/cert.pem (a self-signed
    certificate for 127.0.0.1, made with the openssl command) and then DIR/ports.json
    ({"smtp": port, "http": port}), and serves until stdin closes or SIGTERM.

HTTP paths:
  POST /wecom/send?key=K              WeCom group bot (msgtype text|markdown)
  POST /dingtalk/send?access_token=T&timestamp=..&sign=..   DingTalk bot, 加签 checked
  POST /feishu/hook/<token>           Feishu bot, signature in the body checked
  POST /webhook                       generic JSON webhook
  POST /sms                           SMS gateway (JSON or form)
  POST /flaky/<anything>              answers 500 to the first --fail-first requests, then 200
  POST /redirect                      answers 302 to another host (must not be followed)
Only the standard library and the openssl command are used.
"""
import argparse
import base64
import email
import email.header
import email.policy
import hashlib
import hmac
import http.server
import json
import os
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse


def make_cert(directory):
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


class Recorder:
    def __init__(self, directory):
        self.path = os.path.join(directory, "received.jsonl")
        self.lock = threading.Lock()
        self.items = []

    def add(self, item):
        with self.lock:
            self.items.append(item)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(item, ensure_ascii=False) + "\n")


# ----------------------------------------------------------------------------- SMTP

class SmtpHandler(socketserver.StreamRequestHandler):
    """RFC 5321 subset: EHLO/HELO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT.
    MAIL before STARTTLS is refused (530), as a hospital mail relay should."""

    def send(self, line):
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def handle(self):
        srv = self.server
        tls = False
        mail_from, rcpt = None, []
        self.send("220 medsoc-test-sink ESMTP")
        while True:
            raw = self.rfile.readline(65536)
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                caps = ["250-127.0.0.1", "250-8BITMIME", "250-SIZE 10485760"]
                caps.append("250-AUTH PLAIN" if tls else "250-STARTTLS")
                self.wfile.write(("\r\n".join(caps) + "\r\n250 SMTPUTF8\r\n").encode())
                self.wfile.flush()
            elif verb == "STARTTLS":
                self.send("220 go ahead")
                conn = srv.tls_context.wrap_socket(self.connection, server_side=True)
                self.connection = conn
                self.rfile = conn.makefile("rb")
                self.wfile = conn.makefile("wb")
                tls = True
            elif verb == "AUTH":
                parts = line.split(" ")
                if len(parts) >= 2 and parts[1].upper() == "PLAIN":
                    if len(parts) >= 3:
                        initial = parts[2]
                    else:  # no SASL-IR: ask for the credentials
                        self.send("334 ")
                        initial = self.rfile.readline(65536).decode().strip()
                    _, user, pw = base64.b64decode(initial).split(b"\0")
                    self.auth = (user.decode(), pw.decode())
                    self.send("235 ok")
                else:
                    self.send("504 only PLAIN")
            elif verb == "MAIL":
                if not tls:
                    self.send("530 5.7.0 Must issue a STARTTLS command first")
                    continue
                mail_from = line[line.find(":") + 1:].strip().split(" ")[0]
                rcpt = []
                self.send("250 ok")
            elif verb == "RCPT":
                rcpt.append(line[line.find(":") + 1:].strip())
                self.send("250 ok")
            elif verb == "DATA":
                self.send("354 end with .")
                data = b""
                while True:
                    l = self.rfile.readline(1 << 20)
                    if not l or l in (b".\r\n", b".\n"):
                        break
                    if l.startswith(b".."):
                        l = l[1:]
                    data += l
                self.server.recorder.add(check_mail(data, tls, mail_from, rcpt, getattr(self, "auth", None)))
                self.send("250 queued")
            elif verb == "RSET":
                mail_from, rcpt = None, []
                self.send("250 ok")
            elif verb == "NOOP":
                self.send("250 ok")
            elif verb == "QUIT":
                self.send("221 bye")
                return
            else:
                self.send("502 unknown")


def check_mail(data, tls, mail_from, rcpt, auth):
    problems = []
    msg = email.message_from_bytes(data, policy=email.policy.default)
    raw_subject = email.message_from_bytes(data, policy=email.policy.compat32)["Subject"] or ""
    for h in ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"):
        if msg[h] is None:
            problems.append("missing header " + h)
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if len(line) > 998:
            problems.append("header line longer than 998")
        try:
            line.decode("ascii")
        except UnicodeDecodeError:
            problems.append("raw non-ASCII in a header (needs RFC 2047)")
    for word in raw_subject.replace("\r\n", " ").split():
        if word.startswith("=?") and len(word) > 75:
            problems.append("encoded-word longer than 75 characters")
    subject = str(email.header.make_header(email.header.decode_header(raw_subject))) if raw_subject else ""
    body = ""
    try:
        body = msg.get_content()
    except Exception as e:  # noqa: BLE001 - any decoding failure is a finding
        problems.append("body: %s" % e)
    if msg.get_content_charset() not in ("utf-8",):
        problems.append("charset is not utf-8")
    return {"kind": "smtp", "tls": tls, "mail_from": mail_from, "rcpt": rcpt, "auth": list(auth) if auth else None,
            "from": str(msg["From"]), "to": str(msg["To"]), "subject": subject, "raw_subject": raw_subject,
            "body": body, "problems": problems, "ok": not problems}


class SmtpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


# ----------------------------------------------------------------------------- HTTP

def fresh(ts_seconds):
    # Both vendors reject a timestamp more than an hour away from their clock.
    return abs(time.time() - ts_seconds) < 3600


class HttpHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, obj, headers=None):
        body = json.dumps(obj).encode()
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802 - http.server API
        srv = self.server
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        problems = []
        item = {"path": url.path, "query": {k: v[0] for k, v in query.items()},
                "content_type": self.headers.get("Content-Type", ""),
                "authorization": self.headers.get("Authorization"), "body": raw.decode("utf-8", "replace")}
        code, answer = 200, {"errcode": 0, "errmsg": "ok"}
        try:
            payload = json.loads(raw) if "json" in item["content_type"] else None
        except ValueError as e:
            payload = None
            problems.append("body is not JSON: %s" % e)
        item["json"] = payload
        if url.path == "/wecom/send":
            item["kind"] = "wecom"
            if query.get("key", [""])[0] != srv.opts.wecom_key:
                problems.append("wrong key")
            mt = (payload or {}).get("msgtype")
            if mt not in ("text", "markdown"):
                problems.append("msgtype must be text or markdown")
            else:
                content = payload.get(mt, {}).get("content")
                limit = 2048 if mt == "text" else 4096
                if not isinstance(content, str) or not content:
                    problems.append(mt + ".content missing")
                elif len(content.encode()) > limit:
                    problems.append(mt + ".content longer than %d bytes" % limit)
            if problems:
                answer = {"errcode": 93000, "errmsg": "; ".join(problems)}
        elif url.path == "/dingtalk/send":
            item["kind"] = "dingtalk"
            if query.get("access_token", [""])[0] != srv.opts.dingtalk_token:
                problems.append("wrong access_token")
            if srv.opts.dingtalk_secret:
                ts = query.get("timestamp", [""])[0]
                # As DingTalk documents it: HmacSHA256(secret, timestamp + "\n" + secret), base64,
                # then urlEncode; the query string decoding above undoes the urlEncode.
                string_to_sign = "{}\n{}".format(ts, srv.opts.dingtalk_secret)
                want = base64.b64encode(hmac.new(srv.opts.dingtalk_secret.encode(), string_to_sign.encode(),
                                                 hashlib.sha256).digest()).decode()
                if not ts.isdigit() or not fresh(int(ts) / 1000):
                    problems.append("timestamp missing or stale")
                if not hmac.compare_digest(query.get("sign", [""])[0], want):
                    problems.append("sign not match")
            mt = (payload or {}).get("msgtype")
            if mt == "text":
                if not (payload.get("text") or {}).get("content"):
                    problems.append("text.content missing")
            elif mt == "markdown":
                md = payload.get("markdown") or {}
                if not md.get("title") or not md.get("text"):
                    problems.append("markdown.title and markdown.text are required")
            else:
                problems.append("msgtype must be text or markdown")
            at = (payload or {}).get("at", {})
            for m in at.get("atMobiles", []):
                text = (payload.get("text") or {}).get("content", "") + (payload.get("markdown") or {}).get("text", "")
                if "@" + m not in text:
                    problems.append("atMobiles %s not mentioned in the text" % m)
            if problems:
                answer = {"errcode": 310000, "errmsg": "; ".join(problems)}
        elif url.path.startswith("/feishu/hook/"):
            item["kind"] = "feishu"
            answer = {"code": 0, "msg": "success"}
            if url.path.rsplit("/", 1)[1] != srv.opts.feishu_token:
                problems.append("wrong hook token")
            if srv.opts.feishu_secret:
                ts = str((payload or {}).get("timestamp", ""))
                # As Feishu documents it: HmacSHA256 keyed with timestamp + "\n" + secret over an
                # empty message, base64.
                string_to_sign = "{}\n{}".format(ts, srv.opts.feishu_secret)
                want = base64.b64encode(hmac.new(string_to_sign.encode(), digestmod=hashlib.sha256).digest()).decode()
                if not ts.isdigit() or not fresh(int(ts)):
                    problems.append("timestamp missing or stale")
                if not hmac.compare_digest(str((payload or {}).get("sign", "")), want):
                    problems.append("sign not match")
            if (payload or {}).get("msg_type") != "text" or not ((payload or {}).get("content") or {}).get("text"):
                problems.append("msg_type text with content.text required")
            if problems:
                answer = {"code": 19021, "msg": "; ".join(problems)}
        elif url.path == "/webhook":
            item["kind"] = "webhook"
            if payload is None:
                problems.append("not JSON")
            answer = {"ok": not problems}
        elif url.path == "/sms":
            item["kind"] = "sms"
            if "x-www-form-urlencoded" in item["content_type"]:
                item["form"] = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
            answer = {"ok": True}
        elif url.path.startswith("/flaky/"):
            item["kind"] = "flaky"
            with srv.lock:
                srv.flaky_count += 1
                n = srv.flaky_count
            if n <= srv.opts.fail_first:
                code, answer = 500, {"error": "temporarily broken"}
        elif url.path == "/redirect":
            item["kind"] = "redirect"
            code, answer = 302, {}
            item["problems"] = []
            item["ok"] = True
            srv.recorder.add(item)
            return self.reply(302, answer, {"Location": "http://127.0.0.2:%d/webhook" % srv.server_address[1]})
        else:
            item["kind"] = "unknown"
            code, answer = 404, {"error": "no such path"}
            problems.append("unknown path")
        item["status"] = code
        item["problems"] = problems
        item["ok"] = not problems
        srv.recorder.add(item)
        self.reply(code, answer)


class HttpServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


class Receivers:
    def __init__(self, directory, dingtalk_token="dt-token", dingtalk_secret="SEC-dingtalk-secret",
                 feishu_token="fs-token", feishu_secret="feishu-secret", wecom_key="wecom-key", fail_first=0):
        self.dir = directory
        self.opts = argparse.Namespace(dingtalk_token=dingtalk_token, dingtalk_secret=dingtalk_secret,
                                       feishu_token=feishu_token, feishu_secret=feishu_secret, wecom_key=wecom_key,
                                       fail_first=fail_first)
        self.recorder = Recorder(directory)

    def start(self):
        self.cert, self.key = make_cert(self.dir)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        self.smtp = SmtpServer(("127.0.0.1", 0), SmtpHandler)
        self.smtp.tls_context = ctx
        self.smtp.recorder = self.recorder
        self.http = HttpServer(("127.0.0.1", 0), HttpHandler)
        self.http.opts = self.opts
        self.http.recorder = self.recorder
        self.http.lock = threading.Lock()
        self.http.flaky_count = 0
        for s in (self.smtp, self.http):
            threading.Thread(target=s.serve_forever, daemon=True).start()
        self.smtp_port = self.smtp.server_address[1]
        self.http_port = self.http.server_address[1]
        return self

    def stop(self):
        for s in (self.smtp, self.http):
            s.shutdown()
            s.server_close()

    def received(self, kind=None):
        with self.recorder.lock:
            return [i for i in self.recorder.items if kind is None or i["kind"] == kind]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--dingtalk-token", default="dt-token")
    ap.add_argument("--dingtalk-secret", default="SEC-dingtalk-secret")
    ap.add_argument("--feishu-token", default="fs-token")
    ap.add_argument("--feishu-secret", default="feishu-secret")
    ap.add_argument("--wecom-key", default="wecom-key")
    ap.add_argument("--fail-first", type=int, default=0)
    a = ap.parse_args()
    r = Receivers(a.dir, a.dingtalk_token, a.dingtalk_secret, a.feishu_token, a.feishu_secret, a.wecom_key,
                  a.fail_first).start()
    tmp = os.path.join(a.dir, "ports.json.tmp")
    with open(tmp, "w") as f:
        json.dump({"smtp": r.smtp_port, "http": r.http_port, "cert": r.cert}, f)
    os.rename(tmp, os.path.join(a.dir, "ports.json"))
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    sys.stdin.read()  # until the parent closes our stdin (or dies)
    r.stop()


if __name__ == "__main__":
    main()
