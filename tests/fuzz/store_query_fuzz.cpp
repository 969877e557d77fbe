// Fuzz target for the event query language: parse, render, re-parse, and compile to SQL. Checks
// that nothing crashes, that errors carry a column within the input, and that the canonical text
// of a parsed query parses again to the same canonical text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "store/events/query.h"
#include "store/events/sqlite_query.h"

using namespace medsoc::store::events;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto q = ParseQuery(text);
  if (!q.ok()) {
    const auto& pos = q.error().pos();
    if (!pos || pos->column < 1 || pos->column > ColumnOf(text, text.size()) + 1) std::abort();
    return 0;
  }
  const std::string canon = QueryToString(q->root.get());
  if (q->root != nullptr) {
    auto again = ParseQuery(canon);
    if (!again.ok() || QueryToString(again->root.get()) != canon) std::abort();
  }
  auto compiled = CompileQuery(*q, medsoc::core::Timestamp{1'700'000'000'000'000'000});
  if (compiled.ok()) {
    std::size_t placeholders = 0;
    for (char c : compiled->where) placeholders += c == '?';
    if (placeholders != compiled->params.size()) std::abort();
  }
  return 0;
}
