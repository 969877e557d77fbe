#include "detect/logsource.h"
#include "core/yaml_guard.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace medsoc::detect {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

FieldRef ParseRef(const std::string& s) {
  if (s.rfind("ecs:", 0) == 0) return {s.substr(4), event::FieldSpace::kNormalized};
  return {s, event::FieldSpace::kOriginal};
}

}  // namespace

LogsourceMap::LogsourceMap() = default;

std::vector<Problem> LogsourceMap::LoadYaml(std::string_view yaml, std::string_view file) {
  std::vector<Problem> problems;
  auto pos = [&](const YAML::Node& n) {
    return SourcePos{std::string(file), n.Mark().line + 1, n.Mark().column + 1};
  };
  auto fail = [&](const YAML::Node& n, std::string why) {
    problems.push_back({Severity::kError, pos(n), "", std::move(why)});
  };
  YAML::Node root;
  if (auto err = core::CheckYamlBounds(yaml, std::string(file))) {
    const auto& p = err->pos();
    problems.push_back({Severity::kError, {std::string(file), p ? p->line : 0, p ? p->column : 0}, "", err->message()});
    return problems;
  }
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    problems.push_back({Severity::kError, {std::string(file), e.mark.line + 1, e.mark.column + 1}, "", "YAML: " + e.msg});
    return problems;
  }
  try {
    if (!root.IsMap()) {
      fail(root, "a logsource mapping file must be a map");
      return problems;
    }
    auto data = std::make_unique<FileData>();
    auto read_fields = [&](const YAML::Node& n, std::map<std::string, std::vector<FieldRef>>& into) {
      if (!n) return;
      if (!n.IsMap()) return fail(n, "'fields' must map Sigma field names to lists of event fields");
      for (const auto& kv : n) {
        std::vector<FieldRef> refs;
        if (kv.second.IsScalar()) {
          refs.push_back(ParseRef(kv.second.Scalar()));
        } else if (kv.second.IsSequence()) {
          for (const auto& e : kv.second) {
            if (e.IsScalar()) refs.push_back(ParseRef(e.Scalar()));
            else fail(e, "field alias entries must be strings");
          }
        } else {
          fail(kv.second, "field '" + kv.first.Scalar() + "' must map to a string or a list");
          continue;
        }
        into[kv.first.Scalar()] = std::move(refs);
      }
    };
    read_fields(root["fields"], data->fields);
    if (const auto t = root["field_templates"]; t) {
      if (!t.IsSequence()) fail(t, "'field_templates' must be a list of strings");
      else
        for (const auto& e : t) data->templates.push_back(e.Scalar());
    } else {
      data->templates = {"{}", "ecs:{}"};
    }
    const std::string file_product = root["product"] && root["product"].IsScalar() ? Lower(root["product"].Scalar()) : "";
    const auto list = root["logsources"];
    if (!list || !list.IsSequence()) {
      fail(root, "missing 'logsources' list");
      return problems;
    }
    for (const auto& e : list) {
      if (!e.IsMap()) {
        fail(e, "a logsource entry must be a map");
        continue;
      }
      auto entry = std::make_unique<LogsourceEntry>();
      entry->pos = pos(e);
      entry->key.product = e["product"] ? Lower(e["product"].Scalar()) : file_product;
      if (e["category"]) entry->key.category = Lower(e["category"].Scalar());
      if (e["service"]) entry->key.service = Lower(e["service"].Scalar());
      bool ok = true;
      if (const auto s = e["sources"]; s) {
        if (!s.IsSequence()) {
          fail(s, "'sources' must be a list of maps");
          ok = false;
        } else {
          for (const auto& alt : s) {
            if (!alt.IsMap()) {
              fail(alt, "each source must be a map of field: value(s)");
              ok = false;
              continue;
            }
            std::vector<SourceCondition> conds;
            for (const auto& kv : alt) {
              SourceCondition c;
              c.field = kv.first.Scalar();
              if (kv.second.IsScalar()) {
                c.values.push_back(Lower(kv.second.Scalar()));
              } else if (kv.second.IsSequence() && kv.second.size() > 0) {
                for (const auto& v : kv.second) c.values.push_back(Lower(v.Scalar()));
              } else {
                fail(kv.second, "condition on '" + c.field + "' needs a value or a list of values");
                ok = false;
                continue;
              }
              conds.push_back(std::move(c));
            }
            entry->sources.push_back(std::move(conds));
          }
        }
      }
      read_fields(e["fields"], entry->fields);
      if (!ok) continue;
      if (by_key_.count(entry->key)) {
        fail(e, "logsource " + entry->key.ToString() + " is mapped twice");
        continue;
      }
      entry->file_fields = &data->fields;
      entry->templates = &data->templates;
      by_key_[entry->key] = entry.get();
      entries_.push_back(std::move(entry));
    }
    files_.push_back(std::move(data));
  } catch (const YAML::Exception& e) {
    problems.push_back({Severity::kError, {std::string(file), e.mark.line + 1, e.mark.column + 1}, "", "YAML: " + e.msg});
  }
  return problems;
}

std::vector<Problem> LogsourceMap::LoadPath(const std::string& path) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (const auto& de : fs::directory_iterator(path, ec)) {
      const auto ext = de.path().extension().string();
      if (ext == ".yaml" || ext == ".yml") files.push_back(de.path().string());
    }
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  std::vector<Problem> problems;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      problems.push_back({Severity::kError, {f, 0, 0}, "", "cannot read logsource mapping file"});
      continue;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    for (auto& p : LoadYaml(ss.str(), f)) problems.push_back(std::move(p));
  }
  return problems;
}

const LogsourceEntry* LogsourceMap::Find(const Logsource& key) const {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : it->second;
}

std::vector<FieldRef> LogsourceMap::Resolve(const LogsourceEntry* entry, std::string_view sigma_field) const {
  std::vector<FieldRef> out;
  auto add = [&out](const FieldRef& r) {
    if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
  };
  const std::string name(sigma_field);
  if (entry && entry->generic)
    if (auto it = entry->fields.find(name); it != entry->fields.end()) return it->second;
  if (!entry || entry->generic) {
    add({name, event::FieldSpace::kOriginal});
    add({name, event::FieldSpace::kNormalized});
    return out;
  }
  if (auto it = entry->fields.find(name); it != entry->fields.end())
    for (const auto& r : it->second) add(r);
  if (entry->file_fields)
    if (auto it = entry->file_fields->find(name); it != entry->file_fields->end())
      for (const auto& r : it->second) add(r);
  if (entry->templates) {
    for (const auto& t : *entry->templates) {
      std::string s = t;
      if (auto p = s.find("{}"); p != std::string::npos) s.replace(p, 2, name);
      add(ParseRef(s));
    }
  }
  if (out.empty()) add({name, event::FieldSpace::kOriginal});
  return out;
}

std::unique_ptr<LogsourceEntry> GenericEntry(const Logsource& key) {
  auto e = std::make_unique<LogsourceEntry>();
  e->key = key;
  e->generic = true;
  // Condition names that no Sigma rule uses as a field (a leading space), resolved to ECS fields.
  static constexpr const char* kModule = " event.module";
  static constexpr const char* kDataset = " event.dataset";
  static constexpr const char* kProduct = " observer.product";
  static constexpr const char* kVendor = " observer.vendor";
  for (const char* f : {kModule, kDataset, kProduct, kVendor})
    e->fields[f] = {FieldRef{std::string(f + 1), event::FieldSpace::kNormalized}};
  auto alt = [&e](const char* field, std::vector<std::string> values) {
    std::vector<std::string> lowered;
    for (auto& v : values)
      if (!v.empty() && std::find(lowered.begin(), lowered.end(), Lower(v)) == lowered.end()) lowered.push_back(Lower(v));
    if (!lowered.empty()) e->sources.push_back({SourceCondition{field, std::move(lowered)}});
  };
  if (!key.product.empty()) {
    alt(kModule, {key.product});
    alt(kProduct, {key.product});
    alt(kVendor, {key.product});
    std::vector<std::string> datasets{key.product};
    if (!key.service.empty()) datasets.push_back(key.product + "." + key.service);
    if (!key.category.empty()) datasets.push_back(key.product + "." + key.category);
    alt(kDataset, std::move(datasets));
  } else {
    alt(kDataset, {key.category, key.service});
    alt(kModule, {key.category, key.service});
  }
  return e;
}

}  // namespace medsoc::detect
