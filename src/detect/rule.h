// The parsed form of Sigma documents (Sigma specification v2.1.0): detection rules, correlation
// rules and filters, exactly as written, before any compilation. The reader (reader.h) produces
// these from YAML; the compiler (engine.h) turns them into matchers.
//
// Every element keeps the SourcePos (file:line:column) where it was written, so that the compiler
// can report problems with positions too.
//
// Thread-safety: plain value types.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace medsoc::detect {

// One problem found while loading content.
enum class Severity : std::uint8_t {
  kError,        // the document is broken; it is not loaded
  kUnsupported,  // valid Sigma that this engine cannot evaluate; the rule is not loaded
  kWarning,      // loaded, but something deserves attention (e.g. an unmapped logsource)
};
std::string_view SeverityName(Severity s);

struct Problem {
  Severity severity = Severity::kError;
  SourcePos pos;
  std::string rule_id;  // id (or title) of the document when known
  std::string reason;
  // "file:line:col: severity: [rule_id] reason"
  std::string ToString() const;
};

// A scalar value of a detection item. The YAML type matters for typed comparison: a plain `4688`
// is a number, a quoted '4688' a string (both still match an event's 4688, see engine.h).
struct SigmaValue {
  enum class Kind : std::uint8_t { kString, kInt, kFloat, kBool, kNull };
  Kind kind = Kind::kString;
  std::string text;  // as written (for kNull: empty)
  SourcePos pos;
};

// `field|mod1|mod2: values`. An empty field is a keyword search (values matched anywhere in the
// event). `modifiers` in the order written.
struct FieldItem {
  std::string field;
  std::vector<std::string> modifiers;
  std::vector<SigmaValue> values;  // a scalar is a one-element list
  bool values_was_list = false;
  SourcePos pos;
};

// A search identifier: a map (AND of items) or a list of maps (OR of ANDs); a list of plain
// values is one keyword item.
struct SearchIdentifier {
  std::string name;
  std::vector<std::vector<FieldItem>> alternatives;  // OR over alternatives, AND within one
  SourcePos pos;
};

struct Detection {
  std::vector<SearchIdentifier> identifiers;  // in document order
  std::vector<std::string> conditions;        // a list of conditions is OR-ed
  std::vector<SourcePos> condition_pos;
  SourcePos pos;
};

struct Logsource {
  std::string product, category, service;
  bool operator<(const Logsource& o) const {
    return std::tie(product, category, service) < std::tie(o.product, o.category, o.service);
  }
  bool operator==(const Logsource& o) const = default;
  std::string ToString() const;  // "product=windows category=process_creation"
};

enum class CorrelationType : std::uint8_t {
  kEventCount,
  kValueCount,
  kTemporal,
  kTemporalOrdered,
  kValueSum,
  kValueAvg,
  kValuePercentile,
};
std::string_view CorrelationTypeName(CorrelationType t);

// A correlation condition: one or more comparisons, all of which must hold.
struct CorrelationCondition {
  std::optional<double> gt, gte, lt, lte, eq, neq;
  std::string field;             // value_count / value_sum / value_avg / value_percentile
  double percentile = 0;         // value_percentile: which percentile (0-100)
  bool Holds(double v) const;
};

struct CorrelationSpec {
  CorrelationType type = CorrelationType::kEventCount;
  std::vector<std::string> rules;     // ids or names of the referenced rules (or correlations)
  std::vector<std::string> group_by;  // field names (after aliases)
  std::int64_t timespan_ns = 0;
  CorrelationCondition condition;
  bool generate = false;              // referenced rules also emit their own alerts
  // aliases: alias name -> (rule id or name -> field of that rule's events)
  std::map<std::string, std::map<std::string, std::string>> aliases;
  SourcePos pos;
};

struct FilterSpec {
  std::vector<std::string> rules;  // ids or names of the rules it applies to (empty: none)
  Detection detection;             // its condition is AND-ed to each target rule's condition
  SourcePos pos;
};

enum class DocKind : std::uint8_t { kRule, kCorrelation, kFilter };

// One Sigma document (a YAML document of a rule file).
struct SigmaDocument {
  DocKind kind = DocKind::kRule;
  std::string id;
  std::string name;  // v2 `name`, referenced by correlations
  std::string title;
  std::string status;
  std::string level;
  std::string description;
  std::vector<std::string> tags;
  std::vector<std::string> falsepositives;
  std::string author;
  Logsource logsource;
  Detection detection;                     // kRule
  std::optional<CorrelationSpec> correlation;  // kCorrelation
  std::optional<FilterSpec> filter;        // kFilter
  SourcePos pos;                           // the document start
  std::string file;
  std::string source_text;                 // the YAML text of this document (for the API)
};

}  // namespace medsoc::detect
