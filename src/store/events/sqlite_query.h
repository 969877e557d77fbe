// Compiles a parsed query (query.h) into an SQL condition over one day partition's `events` table
// (alias `e`), with every value bound as a parameter: no value is ever pasted into SQL text.
//
// Fast fields are columns with an index leading with (tenant_id, <column>, time); everything else
// is read from the event JSON (json_each over "fields" and, for vendor names, "original") and is a
// scan of the rows inside the time window. See docs/search.md for the table.
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
  // A boolean SQL expression over `e` using '?' placeholders bound in order from `params`
  // (so it must come after every explicitly numbered parameter in the statement). "1" for the
  // empty query.
  std::string where = "1";
  // The same condition over the unindexed tail table (`hot`, same columns plus fts_message and
  // fts_raw): full-text terms use medsoc_fts_match (tokenizer.h) instead of the FTS index. It uses
  // the same `params`.
  std::string where_tail = "1";
  std::vector<SqlParam> params;
  // Index in `params` of the FTS MATCH expression of a full-text term that every match must
  // satisfy (top-level, not under OR or NOT), or -1: the planner may then start from the FTS index.
  int fts_driver = -1;
  // The window implied by time conditions that every match must meet (top-level AND terms on
  // @timestamp): [time_lo, time_hi). Used to skip partitions.
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
// token (then the caller falls back to a scan). `column` limits it to one FTS column.
std::string FtsExpression(const QueryValue& value, std::string_view column = {});

}  // namespace medsoc::store::events
