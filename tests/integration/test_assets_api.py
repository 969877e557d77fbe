"""The asset ledger over the real server and the CLI: manual edits with provenance and history,
scan results that never overwrite manual values (review queue), spreadsheet export/import with
Chinese headers (CSV and XLSX, both through the API and `medsoc assets`), business systems,
permissions (assets.read / assets.write), the audit trail, and a scan started through the API
against a responder this test owns."""
import csv
import io
import json
import os
import time
import unittest
import zipfile

from harness import ServerTest, STRONG
from test_assets_scan import DicomHandler, start_responder


class AssetLedgerApi(ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = cls.server.admin()
        cls.sec, _ = cls.server.make_user(cls.admin, "sec1", "secadmin")
        cls.viewer, _ = cls.server.make_user(cls.admin, "view1", "viewer")
        cls.analyst, _ = cls.server.make_user(cls.admin, "ana1", "analyst")
        cls.auditor, _ = cls.server.make_user(cls.admin, "aud1", "auditor")

    def create(self, attrs):
        r = self.sec.post("/api/v1/assets", {"attributes": attrs})
        self.assertEqual(r.status, 201, r)
        return r.json()

    def test_manual_asset_with_provenance_history_and_audit(self):
        r = self.sec.call("PUT", "/api/v1/business-systems/PACS", {"mlps_level": 3, "owner_department": "放射科"})
        self.assertEqual(r.status, 200, r)
        a = self.create({"name": "PACS主服务器", "ips": ["10.20.0.5"], "kind": "PACS/DICOM节点", "business_system": "PACS",
                         "zone": "医疗网", "confidentiality": 4, "integrity": 4, "availability": 5, "owner": "张三"})
        attrs = a["attributes"]
        self.assertEqual(attrs["kind"]["value"], "dicom_node")
        self.assertEqual(attrs["zone"]["value"], "medical")
        self.assertEqual(attrs["ips"]["value"], ["10.20.0.5"])
        self.assertEqual(attrs["name"]["source"], "manual")
        self.assertEqual(attrs["name"]["by"], "sec1")
        r = self.sec.patch(f"/api/v1/assets/{a['id']}", {"attributes": {"os": "Windows Server 2016"}, "note": "现场核实"})
        self.assertEqual(r.status, 200, r)
        h = self.sec.get(f"/api/v1/assets/{a['id']}/history").json()["items"]
        self.assertTrue(any(e["attribute"] == "os" and e["new"] == "Windows Server 2016" and e["note"] == "现场核实"
                            for e in h), h)
        trail = self.auditor.get("/api/v1/audit?user=sec1").json()["items"]
        self.assertTrue(any(e["action"] == "PATCH /api/v1/assets/{id}" and e["target"] == "asset:" + a["id"]
                            for e in trail), trail)
        r = self.sec.get(f"/api/v1/assets/10.20.0.5")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["id"], a["id"])
        # Validation with a reason.
        r = self.sec.post("/api/v1/assets", {"attributes": {"name": "x", "availability": 9}})
        self.assertEqual(r.status, 400)
        self.assertIn("availability", r.body)
        r = self.sec.post("/api/v1/assets", {"attributes": {"name": "x", "business_system": "NOPE"}})
        self.assertEqual(r.status, 400)
        # Business systems in use cannot be deleted.
        self.assertEqual(self.sec.delete("/api/v1/business-systems/PACS").status, 409)

    def test_permissions(self):
        self.assertEqual(self.viewer.get("/api/v1/assets").status, 403)
        self.assertEqual(self.analyst.get("/api/v1/assets").status, 200)
        self.assertEqual(self.analyst.post("/api/v1/assets", {"attributes": {"name": "x"}}).status, 403)
        self.assertEqual(self.analyst.post("/api/v1/scans", {"targets": "127.0.0.1"}).status, 403)
        self.assertEqual(self.server.request("GET", "/api/v1/assets").status, 401)

    def test_export_import_round_trip_csv_and_xlsx(self):
        a = self.create({"name": "LIS检验服务器", "ips": "10.30.0.7", "kind": "server", "tags": ["检验", "核心"],
                         "notes": "=HYPERLINK(\"http://x\")"})
        r = self.sec.get("/api/v1/assets-export?format=csv")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("content-type").startswith("text/csv"))
        rows = list(csv.reader(io.StringIO(r.body.lstrip("\ufeff"))))
        self.assertEqual(rows[0][:3], ["资产编号", "资产名称", "资产类型"])
        row = next(x for x in rows if x[0] == a["id"])
        self.assertIn("服务器", row)
        self.assertIn("'=HYPERLINK(\"http://x\")", row)  # never a live formula
        # Change a cell and import it back: the row matches by id, the value is updated.
        row[rows[0].index("责任人")] = "李四"
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        r = self.server.request("POST", "/api/v1/assets-import?format=csv", raw_body=out.getvalue().encode(),
                                headers=dict(self.sec.headers(), **{"Content-Type": "text/csv"}))
        self.assertEqual(r.status, 200, r)
        self.assertGreaterEqual(r.json()["updated"], 1)
        got = self.sec.get(f"/api/v1/assets/{a['id']}").json()["attributes"]
        self.assertEqual(got["owner"]["value"], "李四")
        self.assertEqual(got["owner"]["source"], "import")
        self.assertEqual(got["notes"]["value"], "=HYPERLINK(\"http://x\")")
        # XLSX export is a real workbook with the two sheets.
        x = self.server.request("GET", "/api/v1/assets-export?format=xlsx", headers=self.sec.headers())
        self.assertEqual(x.status, 200)
        self.assertIn("spreadsheetml", x.header("content-type"))

    def test_cli_import_export_xlsx_and_bad_rows(self):
        d = self.server.dir
        csv_path = os.path.join(d, "台账.csv")
        with open(csv_path, "w", encoding="gb18030") as f:  # Excel on Chinese Windows writes GB18030
            f.write("资产名称,IP地址,资产类型,网络区域,可用性,业务系统\r\n")
            f.write("挂号终端01,10.40.0.11,终端,内网,3,HIS\r\n")
            f.write("坏行,10.40.0.12,飞船,内网,3,HIS\r\n")
            f.write("打印机-门诊,10.40.0.13,打印机,内网,9,HIS\r\n")
        r = self.server.cli("assets", "import", csv_path)
        self.assertEqual(r.returncode, 3, r.stderr)  # imported with problems
        self.assertIn("台账.csv:3:3", r.stderr)
        self.assertIn("台账.csv:4:5", r.stderr)
        self.assertIn("1 created", r.stdout)
        xlsx = os.path.join(d, "out.xlsx")
        r = self.server.cli("assets", "export", "-o", xlsx, "--business-system", "HIS")
        self.assertEqual(r.returncode, 0, r.stderr)
        with zipfile.ZipFile(xlsx) as z:
            names = z.namelist()
            self.assertIn("xl/worksheets/sheet1.xml", names)
            self.assertIn("xl/worksheets/sheet2.xml", names)
            strings = z.read("xl/sharedStrings.xml").decode()
            self.assertIn("挂号终端01", strings)
            self.assertIn("资产编号", strings)
        # The exported workbook imports cleanly into another tenant-free copy: nothing changes.
        r = self.server.cli("assets", "import", xlsx)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("0 created", r.stdout)
        r = self.server.cli("assets", "list", "--format", "json", "--search", "挂号")
        items = json.loads(r.stdout)
        self.assertEqual(len(items), 1)
        self.assertEqual(items[0]["attributes"]["business_system"]["value"], "HIS")


class ScanThroughApi(ServerTest):
    """A scan started through the API, recorded with who started it, merged into the ledger; a
    later manual edit survives the next scan and the disagreement waits in the review queue."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = cls.server.admin()
        cls.sec, _ = cls.server.make_user(cls.admin, "sec2", "secadmin")
        cls.dicom = start_responder(DicomHandler)
        cls.port = cls.dicom.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.dicom.shutdown()
        cls.dicom.server_close()
        super().tearDownClass()

    def run_scan(self):
        r = self.sec.post("/api/v1/scans", {"targets": "127.0.0.1", "ports": str(self.port)})
        self.assertEqual(r.status, 202, r)
        scan_id = r.json()["id"]
        self.assertEqual(r.json()["started_by"], "sec2")
        for _ in range(600):
            s = self.sec.get(f"/api/v1/scans/{scan_id}").json()
            if s["status"] != "running":
                break
            time.sleep(0.1)
        self.assertEqual(s["status"], "done", s)
        self.assertEqual(s["scope"]["targets"], ["127.0.0.1"])
        return s

    def test_scan_merge_review_and_changes(self):
        self.run_scan()
        a = self.sec.get("/api/v1/assets/127.0.0.1")
        self.assertEqual(a.status, 200, a)
        asset = a.json()
        svc = next(s for s in asset["services"] if s["port"] == self.port)
        self.assertEqual(svc["service"], "dicom")
        self.assertEqual(svc["source"], "scan")
        self.assertEqual(asset["attributes"]["kind"]["value"], "dicom_node")
        self.assertEqual(asset["attributes"]["fragile"]["value"], "yes")
        changes = self.sec.get("/api/v1/asset-changes").json()["items"]
        self.assertEqual(changes[0]["kind"], "new_asset")
        # A human says what the device is; the next scan must not overwrite it.
        r = self.sec.patch(f"/api/v1/assets/{asset['id']}", {"attributes": {"kind": "imaging_modality", "name": "CT-1"}})
        self.assertEqual(r.status, 200, r)
        self.run_scan()
        after = self.sec.get(f"/api/v1/assets/{asset['id']}").json()["attributes"]
        self.assertEqual(after["kind"]["value"], "imaging_modality")
        self.assertEqual(after["name"]["value"], "CT-1")
        self.assertEqual(after["name"]["source"], "manual")
        # Policy: outside the default allow-list (private networks) is refused with a reason.
        r = self.sec.post("/api/v1/scans", {"targets": "8.8.8.8", "ports": "53"})
        self.assertEqual(r.status, 403, r)
        self.assertIn("allow-list", r.body)
        scans = self.sec.get("/api/v1/scans").json()["items"]
        self.assertEqual(len(scans), 2)
        self.assertTrue(all(s["started_by"] == "sec2" for s in scans))


if __name__ == "__main__":
    unittest.main()
