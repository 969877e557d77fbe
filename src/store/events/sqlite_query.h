// Compiles a parsed query (query.h) into an SQL condition over one decoded event row (alias `e`,
// the columns of medsoc_block in block.h), with every value bound as a parameter: no value is ever
// pasted into SQL text; and into the FTS5 expression that picks the blocks worth decoding.
//
// Fast fields are columns of the row whose values are also terms of the block index ("field=value"),
// so an equality (or a trailing-'*' prefix) on them skips every block without the value; everything
// else is read from the event JSON (json_each over "fields" and, for vendor names, "original") in
// the blocks of the time window. See docs/search.md for the table.
//
//   @timestamp, time    event time            ingest_time         time received
//   id, source          keyword (exact)       parse_error         text (exists: failed parses)
//   event.code event.action event.outcome event.dataset log.level host.name user.name
//   process.name process.executable url.path rule.name observer.product    keyword, case-insensitive
//   event.severity source.port destination.port http.response.status_code  integer
//   source.ip destination.ip                                                IP (CIDR as a range)
//   message             full-text index, message column only
//   raw                 the raw message (wildcards: a scan)
//   free text           full-text index over message and raw
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/time.h"
#include "store/events/query.h"

namespace medsoc::store::events {

enum class ColumnType : std::uint8_t { kKeyword, kLong, kIp };

// A normalized field kept in its own column. `column` is the SQL column name.
struct ColumnField {
  std::string_view field;
  std::string_view column;
  ColumnType type;
};

// The column fields, in schema order.
std::span<const ColumnField> ColumnFields();

struct SqlParam {
  enum class Kind : std::uint8_t { kInt, kDouble, kText, kBlob };
  Kind kind = Kind::kText;
  std::int64_t i = 0;
  double d = 0;
  std::string s;  // text or blob bytes
};

struct CompiledQuery {
  // A boolean SQL expression over one decoded event row `e` (the columns of medsoc_block, block.h)
  // using '?' placeholders bound in order from `params` (so it must come after every explicitly
  // numbered parameter in the statement). Full-text terms are medsoc_fts_match over the row's
  // texts (tokenizer.h). "1" for the empty query.
  std::string where = "1";
  std::vector<SqlParam> params;
  // An FTS5 expression over the partition's block term index (block.h) that every block holding a
  // match satisfies, or empty when the query gives no such condition (then every block of the
  // window is read). It is a necessary condition only: `where` decides.
  std::string prune;
  // The window implied by time conditions that every match must meet (top-level AND terms on
  // @timestamp): [time_lo, time_hi). Used to skip partitions and blocks.
  std::int64_t time_lo = INT64_MIN;
  std::int64_t time_hi = INT64_MAX;
};

// REQUIRES: `now` is the reference for relative times.
Result<CompiledQuery> CompileQuery(const Query& query, core::Timestamp now);

// A time as the query language writes it: RFC 3339; a date YYYY-MM-DD (midnight UTC; *day_only is
// set); "now"; "now-15m" / "now+1h" with units s m h d w. Errors carry `column`.
Result<core::Timestamp> ParseQueryTime(std::string_view text, core::Timestamp now, int column, bool* day_only = nullptr);

// 16-byte IP key used in IP columns (IPv4 as IPv4-mapped IPv6), so a CIDR block is a contiguous
// range of keys; nullopt when `text` is not an address.
std::optional<std::string> IpKey(std::string_view text);

// Converts a query wildcard pattern (query.h QueryValue::pattern) to a LIKE pattern with '\' as
// the escape character.
std::string LikePattern(std::string_view pattern);

// The FTS5 MATCH expression for one free-text value, or empty when the value holds no indexable
// token (then the caller falls back to a scan). `column` limits it to one FTS column. Rows test it
// with medsoc_fts_match (tokenizer.h).
std::string FtsExpression(const QueryValue& value, std::string_view column = {});

// The block-index condition for one free-text value: its query tokens ANDed (the last as a
// prefix for a trailing '*'), or empty when it has none.
std::string PruneText(const QueryValue& value);

}  // namespace medsoc::store::events
