#include "event/catalog.h"
#include "core/yaml_guard.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "core/assert.h"

namespace medsoc::event {
namespace {

SourcePos PosOf(std::string_view file, const YAML::Mark& mark) {
  // yaml-cpp marks are 0-based; an unknown mark is -1.
  return SourcePos{std::string(file), mark.line >= 0 ? mark.line + 1 : 0, mark.column >= 0 ? mark.column + 1 : 0};
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '@' ||
         c == '-';
}

struct Collector {
  std::string_view file;
  std::vector<Error>& problems;
  void Add(const YAML::Mark& mark, std::string message) {
    problems.emplace_back(ErrorCode::kParse, std::move(message), PosOf(file, mark));
  }
};

// Reads a scalar child `key` of `item`; reports and returns nullopt when absent or not a scalar.
std::optional<std::string> ScalarField(const YAML::Node& item, const char* key, Collector& out) {
  const YAML::Node n = item[key];
  if (!n) {
    out.Add(item.Mark(), std::string("field entry has no '") + key + "'");
    return std::nullopt;
  }
  if (!n.IsScalar()) {
    out.Add(n.Mark(), std::string("'") + key + "' must be a scalar");
    return std::nullopt;
  }
  return n.Scalar();
}

}  // namespace

std::string_view FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kKeyword: return "keyword";
    case FieldType::kText: return "text";
    case FieldType::kLong: return "long";
    case FieldType::kDouble: return "double";
    case FieldType::kBoolean: return "boolean";
    case FieldType::kIp: return "ip";
    case FieldType::kDate: return "date";
  }
  return "?";
}

std::optional<FieldType> ParseFieldType(std::string_view name) {
  for (FieldType t : {FieldType::kKeyword, FieldType::kText, FieldType::kLong, FieldType::kDouble,
                      FieldType::kBoolean, FieldType::kIp, FieldType::kDate})
    if (FieldTypeName(t) == name) return t;
  return std::nullopt;
}

bool IsValidFieldName(std::string_view name) {
  if (name.empty() || name.size() > FieldTable::kMaxNameLength) return false;
  bool segment_start = true;
  for (char c : name) {
    if (c == '.') {
      if (segment_start) return false;  // leading dot or ".."
      segment_start = true;
      continue;
    }
    if (!IsNameChar(c)) return false;
    segment_start = false;
  }
  const char first = name[0];
  const bool first_ok = (first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || first == '@' || first == '_';
  return first_ok && !segment_start;  // no trailing dot
}

std::optional<Value> CoerceValue(const Value& value, FieldType type, Arena& arena) {
  if (value.is_null()) return value;
  switch (type) {
    case FieldType::kKeyword:
    case FieldType::kText: {
      if (value.is_string()) return value;
      TextBuffer buf;
      return Value::String(arena.Copy(value.AsText(buf)));
    }
    case FieldType::kLong:
      if (auto i = value.AsInt()) return Value::Int(*i);
      return std::nullopt;
    case FieldType::kDouble:
      if (value.kind() == ValueKind::kFloat) return value;
      if (auto d = value.AsFloat()) return Value::Float(*d);
      return std::nullopt;
    case FieldType::kBoolean:
      if (auto b = value.AsBool()) return Value::Bool(*b);
      return std::nullopt;
    case FieldType::kIp:
      if (auto ip = value.AsIp()) return Value::Ip(*ip);
      return std::nullopt;
    case FieldType::kDate:
      if (auto t = value.AsTime()) return Value::Time(*t);
      return std::nullopt;
  }
  return std::nullopt;
}

Catalog::Catalog(FieldTable& table) : table_(&table) {}

std::vector<Error> Catalog::LoadYaml(std::string_view yaml, std::string_view file) {
  std::vector<Error> problems;
  Collector out{file, problems};
  YAML::Node root;
  if (auto err = core::CheckYamlBounds(yaml, std::string(file))) {
    problems.push_back(std::move(*err));
    return problems;
  }
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    out.Add(e.mark, "YAML syntax error: " + e.msg);
    return problems;
  }
  try {
    if (!root.IsMap()) {
      out.Add(root.Mark(), "expected a mapping with 'version' and 'fields'");
      return problems;
    }
    for (const auto& kv : root) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string("<non-scalar>");
      if (key != "version" && key != "fields") out.Add(kv.first.Mark(), "unknown key '" + key + "'");
    }
    if (const YAML::Node version = root["version"]; !version) {
      out.Add(root.Mark(), "missing 'version' (expected 1)");
    } else if (!version.IsScalar() || version.Scalar() != "1") {
      out.Add(version.Mark(), "unsupported version (expected 1)");
    }
    const YAML::Node list = root["fields"];
    if (!list) {
      out.Add(root.Mark(), "missing 'fields'");
      return problems;
    }
    if (!list.IsSequence()) {
      out.Add(list.Mark(), "'fields' must be a sequence");
      return problems;
    }
    for (const YAML::Node& item : list) {
      if (!item.IsMap()) {
        out.Add(item.Mark(), "a field entry must be a mapping with name, type and description");
        continue;
      }
      bool ok = true;
      for (const auto& kv : item) {
        const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string("<non-scalar>");
        if (key != "name" && key != "type" && key != "description") {
          out.Add(kv.first.Mark(), "unknown key '" + key + "' in field entry");
          ok = false;
        }
      }
      auto name = ScalarField(item, "name", out);
      auto type_name = ScalarField(item, "type", out);
      auto description = ScalarField(item, "description", out);
      if (!name || !type_name || !description) continue;
      if (!IsValidFieldName(*name)) {
        out.Add(item["name"].Mark(), "invalid field name '" + *name + "' (dotted segments of letters, digits, _ @ -)");
        ok = false;
      }
      auto type = ParseFieldType(*type_name);
      if (!type) {
        out.Add(item["type"].Mark(), "unknown type '" + *type_name +
                                         "' (expected keyword, text, long, double, boolean, ip or date)");
        ok = false;
      }
      if (description->empty() || description->find('\n') != std::string::npos) {
        out.Add(item["description"].Mark(), "description must be one non-empty line");
        ok = false;
      }
      if (!ok) continue;
      if (const FieldSpec* prev = Find(*name)) {
        out.Add(item["name"].Mark(), "field '" + *name + "' already defined at " + prev->pos.file + ":" +
                                         std::to_string(prev->pos.line));
        continue;
      }
      Result<FieldId> id = table_->Intern(*name);
      if (!id.ok()) {
        out.Add(item["name"].Mark(), id.error().message());
        continue;
      }
      if (by_id_.size() <= id->value) by_id_.resize(id->value + 1, -1);
      by_id_[id->value] = static_cast<std::int32_t>(fields_.size());
      fields_.push_back(FieldSpec{*id, *name, *type, *description, PosOf(file, item.Mark())});
    }
  } catch (const YAML::Exception& e) {
    // Conversions above only read scalars, but keep yaml-cpp's exceptions inside this adapter.
    out.Add(e.mark, "YAML error: " + e.msg);
  }
  return problems;
}

std::vector<Error> Catalog::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {Error(ErrorCode::kIo, "cannot read field catalog '" + path + "'")};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return {Error(ErrorCode::kIo, "error reading field catalog '" + path + "'")};
  return LoadYaml(text.str(), path);
}

const FieldSpec* Catalog::Find(FieldId id) const {
  if (!id.valid() || id.value >= by_id_.size() || by_id_[id.value] < 0) return nullptr;
  return &fields_[static_cast<std::size_t>(by_id_[id.value])];
}

const FieldSpec* Catalog::Find(std::string_view name) const { return Find(table_->Find(name)); }

std::optional<FieldType> Catalog::TypeOf(FieldId id) const {
  const FieldSpec* spec = Find(id);
  if (spec == nullptr) return std::nullopt;
  return spec->type;
}

FieldId Catalog::MustId(std::string_view name) const {
  const FieldSpec* spec = Find(name);
  MEDSOC_ASSERT(spec != nullptr);
  return spec->id;
}

}  // namespace medsoc::event
