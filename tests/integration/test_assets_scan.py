"""`medsoc scan` against services this test starts itself: real servers from Debian packages
(nginx with and without TLS, OpenSSH, Redis, vsftpd, PostgreSQL; each skipped when not installed)
and protocol responders implemented here (DICOM upper layer with C-ECHO, HL7 v2 over MLLP).

Every scan targets 127.0.0.1 and only the ports this test opened. The responders are also used
by test_assets_netns.py and bench/scan_vs_nmap.sh (run as `python3 test_assets_scan.py serve ...`).
"""
import json
import os
import shutil
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import BIN

# ---------------------------------------------------------------------------------------------
# DICOM upper layer (PS3.8) responder: A-ASSOCIATE-AC/RJ, C-ECHO-RSP, A-RELEASE-RP.

DICOM_UID = "1.2.826.0.1.3680043.9.7433.1.1"
DICOM_VERSION = "MEDSOCTEST_100"


def _item(t, body):
    return bytes([t, 0]) + struct.pack(">H", len(body)) + body


def _pdu(t, body):
    return bytes([t, 0]) + struct.pack(">I", len(body)) + body


def _elem(group, element, value):
    return struct.pack("<HHI", group, element, len(value)) + value


class DicomHandler(socketserver.BaseRequestHandler):
    ae_title = b"PACS"  # AE title this SCP answers to; others are rejected

    def read_pdu(self):
        head = self._recv(6)
        if not head:
            return None, None
        length = struct.unpack(">I", head[2:6])[0]
        if length > 1 << 20:
            return None, None
        return head[0], self._recv(length)

    def _recv(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.request.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def handle(self):
        self.request.settimeout(10)
        try:
            self.serve()
        except (OSError, struct.error):
            pass

    def serve(self):
        t, body = self.read_pdu()
        if t != 1 or body is None or len(body) < 68:
            self.request.sendall(_pdu(7, b"\x00\x00\x00\x00"))  # A-ABORT
            return
        called, calling = body[4:20], body[20:36]
        if called.strip() not in (self.ae_title, b"ANY-SCP") and self.ae_title:
            # A-ASSOCIATE-RJ: permanent, service-user, called AE title not recognized.
            self.request.sendall(_pdu(3, b"\x00\x01\x01\x07"))
            return
        # Accept every presentation context with implicit VR little endian.
        pos, contexts = 68, []
        while pos + 4 <= len(body):
            it, il = body[pos], struct.unpack(">H", body[pos + 2:pos + 4])[0]
            if it == 0x20:
                contexts.append(body[pos + 4])
            pos += 4 + il
        items = _item(0x10, b"1.2.840.10008.3.1.1.1")
        for pc in contexts:
            items += _item(0x21, bytes([pc, 0, 0, 0]) + _item(0x40, b"1.2.840.10008.1.2"))
        ui = _item(0x51, struct.pack(">I", 16384)) + _item(0x52, DICOM_UID.encode()) + _item(0x55, DICOM_VERSION.encode())
        items += _item(0x50, ui)
        self.request.sendall(_pdu(2, struct.pack(">HH", 1, 0) + called + calling + b"\x00" * 32 + items))
        while True:
            t, body = self.read_pdu()
            if t is None:
                return
            if t == 5:  # A-RELEASE-RQ
                self.request.sendall(_pdu(6, b"\x00\x00\x00\x00"))
                return
            if t == 4 and body and len(body) > 6:
                pc = body[4]
                rest = _elem(0, 0x0002, b"1.2.840.10008.1.1\x00") + _elem(0, 0x0100, struct.pack("<H", 0x8030)) + \
                    _elem(0, 0x0120, struct.pack("<H", 1)) + _elem(0, 0x0800, struct.pack("<H", 0x0101)) + \
                    _elem(0, 0x0900, struct.pack("<H", 0))
                ds = _elem(0, 0, struct.pack("<I", len(rest))) + rest
                pdv = struct.pack(">I", len(ds) + 2) + bytes([pc, 3]) + ds
                self.request.sendall(_pdu(4, pdv))


# ---------------------------------------------------------------------------------------------
# HL7 v2 over MLLP responder: answers every message with an ACK (AR for NMQ, like many engines).

class Hl7Handler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(10)
        buf = b""
        try:
            while True:
                chunk = self.request.recv(4096)
                if not chunk:
                    return
                buf += chunk
                while b"\x1c\r" in buf:
                    frame, buf = buf.split(b"\x1c\r", 1)
                    msg = frame.lstrip(b"\x0b").decode("latin-1")
                    msh = msg.split("\r")[0].split("|")
                    control = msh[9] if len(msh) > 9 else ""
                    code = "AR" if len(msh) > 8 and msh[8].startswith("NMQ") else "AA"
                    ack = ("MSH|^~\\&|HISENGINE|CANCERHOSP|%s|%s|20240101000000||ACK^N01|ACK%s|P|2.4\rMSA|%s|%s|%s\r" %
                           (msh[2] if len(msh) > 2 else "", msh[3] if len(msh) > 3 else "", control, code, control,
                            "unsupported message type" if code == "AR" else "ok"))
                    self.request.sendall(b"\x0b" + ack.encode() + b"\x1c\r")
        except OSError:
            return


class ThreadedServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def start_responder(handler, host="127.0.0.1", port=0):
    srv = ThreadedServer((host, port), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, host="127.0.0.1", timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def scan(args, timeout=300):
    r = subprocess.run([BIN, "scan"] + args, capture_output=True, text=True, timeout=timeout)
    return r


# ---------------------------------------------------------------------------------------------

class ScanRealServices(unittest.TestCase):
    """One scan over every service the test could start; assertions per service."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="medsoc-scan-")
        cls.procs = []
        cls.ports = {}
        cls.servers = []
        cls.dicom = start_responder(DicomHandler)
        cls.ports["dicom"] = cls.dicom.server_address[1]
        cls.hl7 = start_responder(Hl7Handler)
        cls.ports["hl7"] = cls.hl7.server_address[1]
        cls._start_nginx()
        cls._start_sshd()
        cls._start_redis()
        cls._start_vsftpd()
        cls._start_postgres()
        for name, port in cls.ports.items():
            if not wait_port(port):
                raise RuntimeError(f"{name} did not start on {port}")
        port_list = ",".join(str(p) for p in sorted(cls.ports.values()))
        cls.result = scan(["--targets", "127.0.0.1", "--ports", port_list, "--format", "json", "-n"])
        cls.hosts = json.loads(cls.result.stdout) if cls.result.returncode == 0 else []
        cls.by_port = {s["port"]: s for h in cls.hosts for s in h["services"]}

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        for s in (cls.dicom, cls.hl7):
            s.shutdown()
            s.server_close()
        subprocess.run(["pkill", "-F", os.path.join(cls.dir, "nginx.pid")], capture_output=True)
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def _spawn(cls, args, **kw):
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
        cls.procs.append(p)
        return p

    @classmethod
    def _start_nginx(cls):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(nginx):
            return
        http, https = free_port(), free_port()
        cert, key = os.path.join(cls.dir, "cert.pem"), os.path.join(cls.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=pacs.test.example",
                        "-addext", "subjectAltName=DNS:pacs.test.example,IP:127.0.0.1", "-days", "2",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        conf = os.path.join(cls.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""
daemon off; pid {cls.dir}/nginx.pid; error_log {cls.dir}/nginx-error.log; worker_processes 1;
events {{ worker_connections 64; }}
http {{
  access_log off; client_body_temp_path {cls.dir}; proxy_temp_path {cls.dir}; fastcgi_temp_path {cls.dir};
  uwsgi_temp_path {cls.dir}; scgi_temp_path {cls.dir};
  server {{ listen 127.0.0.1:{http}; location / {{ return 200 "<html><head><title>HIS 门户</title></head></html>"; }} }}
  server {{ listen 127.0.0.1:{https} ssl; ssl_certificate {cert}; ssl_certificate_key {key};
           ssl_protocols TLSv1.2 TLSv1.3; location / {{ return 200 "ok"; }} }}
}}
""")
        cls._spawn([nginx, "-c", conf, "-p", cls.dir])
        cls.ports["nginx"] = http
        cls.ports["nginx-tls"] = https
        cls.nginx_version = subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr.strip().split("/")[-1]

    @classmethod
    def _start_sshd(cls):
        sshd = "/usr/sbin/sshd"
        if not os.path.exists(sshd) or os.geteuid() != 0:
            return
        key = os.path.join(cls.dir, "ssh_host_ed25519_key")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
        os.makedirs("/run/sshd", exist_ok=True)
        port = free_port()
        cls._spawn([sshd, "-D", "-e", "-f", "/dev/null", "-o", f"ListenAddress=127.0.0.1:{port}", "-o",
                    f"HostKey={key}", "-o", f"PidFile={cls.dir}/sshd.pid"])
        cls.ports["ssh"] = port

    @classmethod
    def _start_redis(cls):
        redis = shutil.which("redis-server")
        if not redis:
            return
        port = free_port()
        cls._spawn([redis, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--dir", cls.dir])
        cls.ports["redis"] = port
        cls.redis_version = subprocess.run([redis, "--version"], capture_output=True, text=True).stdout.split("v=")[1].split()[0]

    @classmethod
    def _start_vsftpd(cls):
        vsftpd = "/usr/sbin/vsftpd"
        if not os.path.exists(vsftpd) or os.geteuid() != 0:
            return
        port = free_port()
        conf = os.path.join(cls.dir, "vsftpd.conf")
        os.makedirs("/var/run/vsftpd/empty", exist_ok=True)
        with open(conf, "w") as f:
            f.write(f"listen=YES\nlisten_address=127.0.0.1\nlisten_port={port}\nbackground=NO\nanonymous_enable=YES\n"
                    "anon_root=/var/run/vsftpd/empty\nno_anon_password=YES\nlocal_enable=NO\nseccomp_sandbox=NO\n"
                    "secure_chroot_dir=/var/run/vsftpd/empty\n")
        cls._spawn([vsftpd, conf])
        cls.ports["ftp"] = port

    @classmethod
    def _start_postgres(cls):
        initdb = shutil.which("initdb")
        postgres = shutil.which("postgres")
        if not initdb or not postgres:
            return
        data = os.path.join(cls.dir, "pg")
        kw = {}
        if os.geteuid() == 0:
            try:
                import pwd
                pw = pwd.getpwnam("postgres")
            except KeyError:
                return
            os.makedirs(data)
            os.chown(data, pw.pw_uid, pw.pw_gid)
            os.chmod(cls.dir, 0o755)
            kw["user"] = pw.pw_uid
        if subprocess.run([initdb, "-D", data, "-A", "trust"], capture_output=True, **kw).returncode != 0:
            return
        port = free_port()
        cls._spawn([postgres, "-D", data, "-p", str(port), "-c", "listen_addresses=127.0.0.1", "-k", data], **kw)
        cls.ports["postgres"] = port

    def service(self, name):
        if name not in self.ports:
            self.skipTest(f"{name} is not installed here")
        port = self.ports[name]
        self.assertEqual(self.result.returncode, 0, self.result.stderr)
        self.assertIn(port, self.by_port, f"port {port} ({name}) not reported: {self.result.stdout}")
        return self.by_port[port]

    def test_output_contract(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)
        self.assertEqual(len(self.hosts), 1)
        host = self.hosts[0]
        self.assertEqual(host["ip"], "127.0.0.1")
        for key in ("ip", "mac", "vendor", "hostname", "os", "services"):
            self.assertIn(key, host)
        for s in host["services"]:
            for key in ("port", "proto", "service", "product", "version", "cpe", "tls"):
                self.assertIn(key, s)
        # Only the ports this test opened, nothing else.
        self.assertEqual(sorted(self.by_port), sorted(self.ports.values()))

    def test_dicom_identified_with_implementation_and_echo(self):
        s = self.service("dicom")
        self.assertEqual(s["service"], "dicom")
        self.assertEqual(s["extra"]["implementation_uid"], DICOM_UID)
        self.assertEqual(s["extra"]["implementation_version"], DICOM_VERSION)
        self.assertEqual(s["extra"]["dicom_accepted"], "yes")
        self.assertEqual(s["extra"]["dicom_echo_status"], "success")
        self.assertEqual(s["product"], "MEDSOCTEST")
        self.assertEqual(s["version"], "100")

    def test_hl7_identified_from_the_ack(self):
        s = self.service("hl7")
        self.assertEqual(s["service"], "hl7-mllp")
        self.assertEqual(s["product"], "HISENGINE")
        self.assertEqual(s["extra"]["hl7_version"], "2.4")
        self.assertEqual(s["extra"]["hl7_ack_code"], "AR")

    def test_nginx_and_tls_certificate(self):
        s = self.service("nginx")
        self.assertEqual((s["service"], s["product"], s["version"]), ("http", "nginx", self.nginx_version))
        self.assertEqual(s["cpe"], f"cpe:2.3:a:f5:nginx:{self.nginx_version}:*:*:*:*:*:*:*")
        self.assertEqual(s["extra"]["title"], "HIS 门户")
        t = self.service("nginx-tls")
        self.assertEqual((t["service"], t["product"]), ("https", "nginx"))
        self.assertIsNotNone(t["tls"])
        self.assertIn("CN=pacs.test.example", t["tls"]["subject"])
        self.assertIn("pacs.test.example", t["tls"]["sans"])
        self.assertIn("127.0.0.1", t["tls"]["sans"])
        self.assertTrue(t["tls"]["self_signed"])
        self.assertEqual(sorted(t["tls"]["versions"]), ["TLSv1.2", "TLSv1.3"])
        self.assertRegex(t["tls"]["not_after"], r"^\d{4}-\d\d-\d\dT")
        self.assertEqual(len(t["tls"]["sha256"]), 64)

    def test_openssh(self):
        s = self.service("ssh")
        self.assertEqual((s["service"], s["product"]), ("ssh", "OpenSSH"))
        out = subprocess.run(["/usr/sbin/sshd", "-V"], capture_output=True, text=True).stderr  # "OpenSSH_9.2, ..."
        self.assertTrue(s["version"].startswith(out.split(",")[0].split("_")[1]), (s["version"], out))
        self.assertTrue(s["cpe"].startswith("cpe:2.3:a:openbsd:openssh:"))

    def test_redis(self):
        s = self.service("redis")
        self.assertEqual((s["service"], s["version"]), ("redis", self.redis_version))

    def test_vsftpd(self):
        s = self.service("ftp")
        self.assertEqual((s["service"], s["product"]), ("ftp", "vsftpd"))
        self.assertRegex(s["version"], r"^\d+\.\d+\.\d+$")

    def test_postgres(self):
        s = self.service("postgres")
        self.assertEqual(s["service"], "postgresql")
        self.assertEqual(s["product"], "PostgreSQL DB")

    def test_table_format(self):
        port_list = ",".join(str(p) for p in sorted(self.ports.values()))
        r = scan(["--targets", "127.0.0.1", "--ports", port_list, "-n", "--no-identify"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("127.0.0.1", r.stdout)
        self.assertIn("1 of 1 hosts up", r.stdout)


class ScanArguments(unittest.TestCase):
    def test_bad_arguments_are_refused_with_reasons(self):
        r = scan(["--targets", "10.0.0.300", "--ports", "80"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("10.0.0.300", r.stderr)
        r = scan(["--targets", "127.0.0.1", "--ports", "70000"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("65535", r.stderr)
        r = scan(["--targets", "127.0.0.1", "--ports", "1", "--exclude", "127.0.0.0/8"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("excluded", r.stderr)

    def test_closed_port_is_not_reported(self):
        port = free_port()  # nothing listens here; this test owns the port number
        r = scan(["--targets", "127.0.0.1", "--ports", str(port), "--format", "json", "-n"])
        self.assertEqual(r.returncode, 0, r.stderr)
        hosts = json.loads(r.stdout)
        self.assertEqual(len(hosts), 1)  # the RST shows the host is up
        self.assertEqual(hosts[0]["services"], [])


def serve_responders(argv):
    """`python3 test_assets_scan.py serve dicom|hl7 HOST PORT`: run one responder in the foreground."""
    kind, host, port = argv[0], argv[1], int(argv[2])
    srv = ThreadedServer((host, port), DicomHandler if kind == "dicom" else Hl7Handler)
    srv.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve_responders(sys.argv[2:])
    else:
        unittest.main()
