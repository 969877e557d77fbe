// Spreadsheet import and export of the ledger (资产台账): CSV and XLSX with Chinese column headers.
//
// Columns, in order: 资产编号 (id), every attribute of AttributeSpecs() by its Chinese header, then
// 状态 (status), 开放服务 (services), 软件清单 (software), 首次发现 and 最近发现 (read-only).
// On import a header may also be the English header or the attribute name; columns are matched by
// header, not position, and unknown columns are reported and ignored.
//
// Cell formats:
//   lists (IP地址, MAC地址, 标签)  items separated by "; " (also , ； ， 、 or newlines on import)
//   enums (资产类型, 网络区域 ...)  the Chinese display name on export; Chinese or English on import
//   开放服务  "PORT/PROTO service|product|version" items separated by "; "
//             e.g. "443/tcp https|nginx|1.22.1; 104/tcp dicom|Orthanc|1.12.1"
//   软件清单  "name|version" items separated by "; "
//
// CSV: RFC 4180, UTF-8 with a byte-order mark on export (so Excel shows the Chinese); on import a
// BOM is skipped and a file that is not valid UTF-8 is read as GB18030 (Excel's "CSV" on Chinese
// Windows). Cells starting with = + - @ or a tab get a leading apostrophe on export, so that a
// banner a scanned device chose cannot become a spreadsheet formula; the apostrophe is removed on
// import. XLSX: every cell is written as a string; reading takes the first worksheet, shared and
// inline strings, with limits against zip bombs (64 MiB per part, 1,000,000 rows).
//
// Thread-safety: free functions, no shared state.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "assets/ledger.h"
#include "assets/model.h"
#include "core/result.h"

namespace medsoc::assets {

// A grid of text cells as read from a file; lines[i] is the 1-based line (CSV) or row (XLSX) of rows[i].
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<int> lines;
};

// The column headers of an export, in order.
std::vector<std::string> ExportHeaders();
// One exported row per asset (same order as ExportHeaders()).
std::vector<std::string> ExportRow(const Asset& asset);

std::string AssetsToCsv(const std::vector<Asset>& assets);
// Writes an XLSX workbook with the sheets 资产台账 and 业务系统 and returns its bytes.
Result<std::string> AssetsToXlsx(const std::vector<Asset>& assets, const std::vector<BusinessSystem>& systems);

Result<Table> ParseCsv(std::string_view bytes);
Result<Table> ParseXlsx(const std::string& path);
Result<Table> ParseXlsxBytes(std::string_view bytes);

struct ParsedImport {
  std::vector<ImportRow> rows;
  std::vector<Error> errors;  // with file:line:column; the other rows are still returned
};
ParsedImport RowsFromTable(const Table& table, const std::string& file);

// Reads a .csv or .xlsx file (by extension) into import rows.
Result<ParsedImport> ReadImportFile(const std::string& path);

// "443/tcp https|nginx|1.22.1" -> Service; errors name the problem.
Result<Service> ParseServiceCell(std::string_view item);
std::string FormatServiceCell(const Service& s);

}  // namespace medsoc::assets
