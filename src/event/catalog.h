// Catalog: the normalized field names medsoc uses (ECS-based), each with a type and a one-line
// description, loaded from content/fields/*.yaml (format: content/fields/README.md).
//
// Loading interns every field name into a FieldTable (the default table unless told otherwise),
// so catalog fields get small, dense ids if the catalog is loaded first at start-up. Loading
// collects every problem with file:line:column and keeps the good entries; a later file may add
// fields but not redefine one.
//
// Thread-safety: loading mutates and must finish before the catalog is shared; afterwards all
// const methods may be called concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "event/field.h"
#include "event/value.h"

namespace medsoc::event {

// Field types (ECS names). keyword: exact string; text: free text for full-text search;
// long: int64; double; boolean; ip; date: a timestamp.
enum class FieldType : std::uint8_t { kKeyword, kText, kLong, kDouble, kBoolean, kIp, kDate };

std::string_view FieldTypeName(FieldType type);
std::optional<FieldType> ParseFieldType(std::string_view name);

struct FieldSpec {
  FieldId id;
  std::string name;
  FieldType type = FieldType::kKeyword;
  std::string description;
  SourcePos pos;  // where it was defined
};

// True for a dotted field name: segments of [A-Za-z0-9_@-], separated by single dots, the first
// character a letter, '@' or '_' (e.g. "@timestamp", "winlog.event_data.CommandLine").
bool IsValidFieldName(std::string_view name);

// Converts `value` to the representation of `type`: keyword/text -> string (numbers etc. formatted
// into `arena`), long -> int, double -> float, boolean -> bool, ip -> IP, date -> time (RFC 3339
// text). Returns nullopt when the value does not convert; a null stays null.
std::optional<Value> CoerceValue(const Value& value, FieldType type, Arena& arena);

class Catalog {
 public:
  explicit Catalog(FieldTable& table = DefaultFieldTable());
  Catalog(Catalog&&) = default;

  // Adds the fields of a YAML document; `file` names it in error positions. Returns every problem
  // found (empty when the document was clean); good entries are added regardless.
  std::vector<Error> LoadYaml(std::string_view yaml, std::string_view file);
  // Reads and loads a file. An unreadable file is one problem (kIo).
  std::vector<Error> LoadFile(const std::string& path);

  // The spec of a field, or nullptr when it is not in the catalog.
  const FieldSpec* Find(FieldId id) const;
  const FieldSpec* Find(std::string_view name) const;
  std::optional<FieldType> TypeOf(FieldId id) const;
  // The id of a catalog field. REQUIRES: the name is in the catalog (for start-up wiring of
  // well-known fields; a typo is a programmer bug).
  FieldId MustId(std::string_view name) const;

  const std::vector<FieldSpec>& fields() const { return fields_; }
  std::size_t size() const { return fields_.size(); }
  FieldTable& table() const { return *table_; }

 private:
  FieldTable* table_;
  std::vector<FieldSpec> fields_;
  std::vector<std::int32_t> by_id_;  // FieldId.value -> index into fields_, -1 if absent
};

}  // namespace medsoc::event
