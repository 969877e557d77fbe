// Fuzz target for event block decoding (store/events/block.h). Blocks come from partition files,
// which a damaged disk or an edited file can make anything. The input is taken two ways: as a
// stored frame (zstd), and as the payload inside a frame (compressed here, so that the fuzzer
// explores the cell layout). Every row that decodes is encoded again and must decode to the same
// cells; a bad block must give an error, never a crash or a read outside the buffer.
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "store/events/block.h"

using namespace medsoc::store::events;

namespace {

std::vector<std::vector<std::string>> DecodeAll(std::string_view frame, bool& ok, std::string& tenant) {
  std::vector<std::vector<std::string>> rows;
  BlockReader reader;
  ok = reader.Open(frame).ok();
  if (!ok) return rows;
  tenant = reader.tenant();
  BlockRow row{};
  while (true) {
    auto more = reader.Next(row);
    if (!more.ok()) {
      ok = false;
      return rows;
    }
    if (!*more) break;
    std::vector<std::string> cells;
    for (const Cell& c : row)
      cells.push_back(std::to_string(static_cast<int>(c.kind)) + ":" + std::to_string(c.i) + ":" + std::string(c.s));
    rows.push_back(std::move(cells));
  }
  return rows;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  bool ok = false;
  std::string tenant;
  (void)DecodeAll(input, ok, tenant);

  std::string frame(ZSTD_compressBound(size), '\0');
  const std::size_t n = ZSTD_compress(frame.data(), frame.size(), input.data(), input.size(), 1);
  if (ZSTD_isError(n)) return 0;
  frame.resize(n);
  auto rows = DecodeAll(frame, ok, tenant);
  if (!ok) return 0;
  // Re-encode what decoded and compare.
  BlockReader reader;
  if (!reader.Open(frame).ok()) std::abort();
  BlockWriter writer;
  BlockRow row{};
  std::size_t count = 0;
  while (true) {
    auto more = reader.Next(row);
    if (!more.ok()) std::abort();
    if (!*more) break;
    // The writer reads its tenant and time from the row (a time in a non-integer cell counts as 0).
    if (row[kTime].kind != Cell::Kind::kInt) row[kTime] = Cell::Int(0);
    writer.Add(row);
    ++count;
  }
  if (count == 0) return 0;
  auto done = writer.Finish();
  if (!done.ok()) std::abort();
  std::string tenant2;
  auto again = DecodeAll(done->data, ok, tenant2);
  if (!ok || tenant2 != tenant || again.size() != rows.size()) std::abort();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    // kTime may have been normalized above; compare every other cell.
    for (std::size_t c = 0; c < rows[i].size(); ++c)
      if (c != static_cast<std::size_t>(kTime) && rows[i][c] != again[i][c]) std::abort();
  }
  return 0;
}
