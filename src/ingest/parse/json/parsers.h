// Factories of the JSON-family parsers (internal to parse/; json_parsers.cpp registers them).
// Each parser's wire format is documented at the top of its .cpp file and in docs/formats-json.md.
#pragma once

#include <memory>

#include "ingest/parse/parser.h"

namespace medsoc::ingest::json {

// Which Windows shapes a Windows parser instance claims in Detect(); Parse accepts all three.
enum class WindowsShape { kAny, kEvtxDump, kNxlog, kWinlogbeat };

std::unique_ptr<Parser> MakeGenericJsonParser();                       // "json"
std::unique_ptr<Parser> MakeWindowsJsonParser(WindowsShape shape);     // "windows_json", "evtx_json", "nxlog_json", "winlogbeat_json"
std::unique_ptr<Parser> MakeSuricataEveParser();                       // "suricata_eve"
std::unique_ptr<Parser> MakeAccessLogParser();                         // "access_log" (NCSA common/combined, nginx, Apache)
std::unique_ptr<Parser> MakeAccessJsonParser();                        // "access_json" (nginx/Apache JSON access logs)
std::unique_ptr<Parser> MakeW3cParser();                               // "iis_w3c"
std::unique_ptr<Parser> MakeMysqlGeneralParser();                      // "mysql_general"
std::unique_ptr<Parser> MakeMysqlAuditJsonParser();                    // "mysql_audit_json"
std::unique_ptr<Parser> MakePostgresCsvParser();                       // "postgresql_csv"

}  // namespace medsoc::ingest::json
