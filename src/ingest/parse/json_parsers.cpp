#include "ingest/parse/json_parsers.h"

#include "ingest/parse/json/parsers.h"

namespace medsoc::ingest {

namespace {

template <typename F>
Status Add(core::Registry& registry, const std::string& name, F make) {
  return registry.Add<Parser>(name, std::function<std::unique_ptr<Parser>()>(make));
}

}  // namespace

Status RegisterJsonParsers(core::Registry& registry) {
  using json::WindowsShape;
  MEDSOC_TRY(Add(registry, "json", [] { return json::MakeGenericJsonParser(); }));
  MEDSOC_TRY(Add(registry, "windows_json", [] { return json::MakeWindowsJsonParser(WindowsShape::kAny); }));
  MEDSOC_TRY(Add(registry, "evtx_json", [] { return json::MakeWindowsJsonParser(WindowsShape::kEvtxDump); }));
  MEDSOC_TRY(Add(registry, "nxlog_json", [] { return json::MakeWindowsJsonParser(WindowsShape::kNxlog); }));
  MEDSOC_TRY(Add(registry, "winlogbeat_json", [] { return json::MakeWindowsJsonParser(WindowsShape::kWinlogbeat); }));
  MEDSOC_TRY(Add(registry, "suricata_eve", [] { return json::MakeSuricataEveParser(); }));
  MEDSOC_TRY(Add(registry, "access_log", [] { return json::MakeAccessLogParser(); }));
  MEDSOC_TRY(Add(registry, "access_json", [] { return json::MakeAccessJsonParser(); }));
  MEDSOC_TRY(Add(registry, "iis_w3c", [] { return json::MakeW3cParser(); }));
  MEDSOC_TRY(Add(registry, "mysql_general", [] { return json::MakeMysqlGeneralParser(); }));
  MEDSOC_TRY(Add(registry, "mysql_audit_json", [] { return json::MakeMysqlAuditJsonParser(); }));
  MEDSOC_TRY(Add(registry, "postgresql_csv", [] { return json::MakePostgresCsvParser(); }));
  return Ok();
}

}  // namespace medsoc::ingest
