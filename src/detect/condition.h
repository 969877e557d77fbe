// The Sigma condition language (specification v2.1.0, "Condition"), parsed into an AST.
//
// Grammar (EBNF; keywords are case-insensitive, whitespace separates tokens):
//
//   condition   = or_expr ;
//   or_expr     = and_expr , { "or" , and_expr } ;
//   and_expr    = not_expr , { "and" , not_expr } ;
//   not_expr    = "not" , not_expr
//               | primary ;
//   primary     = quantified
//               | "(" , or_expr , ")"
//               | identifier ;
//   quantified  = quantifier , "of" , ( "them" | pattern ) ;
//   quantifier  = "1" | "any" | "all" ;
//   identifier  = word ;                       (* a search identifier of the detection *)
//   pattern     = word ;                       (* may contain "*" wildcards *)
//   word        = wordchar , { wordchar } ;
//   wordchar    = letter | digit | "_" | "-" | "." | "*" ;
//
// Precedence follows the specification, from least to most binding: or, and, not, "x of",
// parentheses. `and`/`or` are left-associative. "them" stands for every search identifier whose
// name does not start with "_"; a pattern stands for every identifier it matches (with "*"
// matching any run of characters), "_" ones included. The deprecated aggregation syntax
// ("| count() by x > 5") is recognised and reported as unsupported (use a correlation rule).
//
// Thread-safety: pure functions.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace medsoc::detect {

enum class CondOp : std::uint8_t { kOr, kAnd, kNot, kIdentifier, kOneOf, kAllOf };

struct CondNode {
  CondOp op = CondOp::kIdentifier;
  std::string name;  // kIdentifier: the identifier; kOneOf/kAllOf: the pattern or "them"
  bool them = false; // kOneOf/kAllOf over "them"
  int column = 0;    // 1-based column in the condition text
  std::vector<std::unique_ptr<CondNode>> kids;
};

// Parses `text`. Errors have kParse (or kInvalidArgument for the unsupported aggregation syntax)
// and a message naming the 1-based column.
Result<std::unique_ptr<CondNode>> ParseCondition(std::string_view text);

// True when `name` matches `pattern`, where "*" matches any (possibly empty) run of characters.
bool MatchIdentifierPattern(std::string_view pattern, std::string_view name);

// Renders the AST back in a canonical fully-parenthesised form (tests, diagnostics).
std::string ConditionToString(const CondNode& node);

}  // namespace medsoc::detect
