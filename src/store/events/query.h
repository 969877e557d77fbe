// The event search language: parser and syntax tree. One language serves the HTTP API
// (GET /api/v1/events?q=), the CLI (`medsoc search QUERY`) and saved searches; docs/search.md is
// the user's guide. This header holds the grammar; sqlite_query.h compiles a tree to SQL.
//
// Grammar (EBNF; whitespace separates tokens and is otherwise ignored):
//
//   query       = [ or_expr ] ;                              (* empty: every event *)
//   or_expr     = and_expr { "OR" and_expr } ;
//   and_expr    = unary { [ "AND" ] unary } ;                (* juxtaposition is AND *)
//   unary       = "NOT" unary | primary ;
//   primary     = "(" or_expr ")"
//               | field ":" field_value
//               | text ;                                     (* free text, full-text index *)
//   field_value = "*"                                        (* the field exists *)
//               | "(" value_expr ")"                         (* several values for one field *)
//               | ( ">=" | ">" | "<=" | "<" ) bound
//               | ( "[" | "{" ) bound "TO" bound ( "]" | "}" )   (* [ ] inclusive, { } exclusive *)
//               | value ;
//   value_expr  = value_or { "OR" value_or } ;               (* as or_expr, terms are values *)
//   value_or    = value_not { [ "AND" ] value_not } ;
//   value_not   = "NOT" value_not | "(" value_expr ")" | value ;
//   bound       = "*" | value ;                              (* "*" leaves that side open *)
//   value       = quoted | bare ;
//   text        = quoted | bare ;
//   field       = ( letter | "@" | "_" ) { letter | digit | "_" | "@" | "-" | "." } ;
//   quoted      = '"' { any character but '"' and '\' | '\' any character } '"' ;
//   bare        = bare_char { bare_char } ;                  (* not starting with a keyword *)
//   bare_char   = any character except whitespace, '(', ')', '"', and (only in ranges) ']' '}'
//               | '\' any character ;                        (* escapes a special character *)
//
// Keywords AND, OR, NOT and TO are upper case; "and" is an ordinary word. Precedence: NOT binds
// tightest, then AND (explicit or implicit), then OR. In a bare value, '*' matches any run of
// characters and '?' one character; "\*" is a literal star. A quoted value has no wildcards.
// A bare word "field:value" is split at the first ':' only if the part before it is a field name;
// quote a free-text word containing ':' (e.g. "http://x").
//
// What a value means depends on the field's type (sqlite_query.h): an IP field accepts an address
// or a CIDR block ("10.0.0.0/8", "fe80::/10"); a time field accepts RFC 3339, a date
// (2024-03-01, midnight UTC) or "now", "now-15m", "now-1h", "now-7d" (units s m h d w); numeric
// fields compare numerically.
//
// Errors carry the 1-based column (in Unicode code points) in Error::pos(); pos().file is "query".
//
// Limits (so that a hostile query cannot exhaust the server): kMaxQueryBytes of text, kMaxDepth of
// nesting, kMaxTerms leaf terms.
//
// Thread-safety: Parse is a pure function; a Node tree is an immutable value once built.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace medsoc::store::events {

inline constexpr std::size_t kMaxQueryBytes = 16 * 1024;
inline constexpr int kMaxDepth = 32;
inline constexpr int kMaxTerms = 256;

enum class NodeKind : std::uint8_t {
  kAnd,     // children: all must match
  kOr,      // children: any must match
  kNot,     // one child
  kField,   // field + op + values
  kText,    // free text (value), full-text index
};

enum class FieldOp : std::uint8_t {
  kEquals,   // value (may hold wildcards when `wildcard`)
  kExists,   // field:*
  kRange,    // lo / hi with inclusive flags; an empty bound text with open_* set is unbounded
};

// A value as written. `text` is unescaped (the literal characters). When `wildcard` is set,
// `pattern` holds the value with '*' and '?' as wildcards and literal '*', '?' and '\' escaped by
// a backslash.
struct QueryValue {
  std::string text;
  std::string pattern;
  bool quoted = false;
  bool wildcard = false;
  int column = 0;  // 1-based column of the value's first character
};

struct Node {
  NodeKind kind = NodeKind::kAnd;
  std::vector<std::unique_ptr<Node>> children;
  // kField / kText
  std::string field;
  int column = 0;  // of the field name, or of the text
  FieldOp op = FieldOp::kEquals;
  QueryValue value;     // kEquals, kText
  QueryValue lo, hi;    // kRange
  bool lo_open = true;  // kRange: unbounded below ("*" or a "<"/"<=" comparison)
  bool hi_open = true;
  bool lo_inclusive = true;
  bool hi_inclusive = true;
};

struct Query {
  std::unique_ptr<Node> root;  // null: the empty query (every event)
  std::string text;            // as given
};

// Parses `text`. Errors: kInvalidArgument with pos {file "query", line 1, column}.
Result<Query> ParseQuery(std::string_view text);

// Renders a tree back to a canonical query text (fully parenthesized); for tests and logs.
std::string QueryToString(const Node* node);

// The 1-based column (code points) of byte offset `offset` in `text`.
int ColumnOf(std::string_view text, std::size_t offset);

// An error at `column` of a query: kInvalidArgument, "query:1:<column>: <message>".
Error QueryError(int column, std::string message);

}  // namespace medsoc::store::events
