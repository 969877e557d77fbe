// Fuzzes spreadsheet import: CSV (with GB18030 fallback) and XLSX (zip + XML) parsing, and the
// conversion of rows into ledger import rows. Uploaded ledgers are untrusted input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "assets/table_io.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace medsoc::assets;
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto table = (data[0] & 1) ? ParseXlsxBytes(in) : ParseCsv(in);
  if (table.ok()) (void)RowsFromTable(*table, "fuzz");
  (void)ParseServiceCell(in.substr(0, 200));
  return 0;
}
