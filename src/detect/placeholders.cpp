#include "detect/placeholders.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include "core/yaml_guard.h"

namespace medsoc::detect {
namespace {

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

}  // namespace

std::vector<Problem> ReadPlaceholders(std::string_view yaml, std::string_view file, Placeholders& out) {
  std::vector<Problem> problems;
  auto problem = [&](const YAML::Mark& m, std::string reason) {
    problems.push_back({Severity::kError, {std::string(file), m.line + 1, m.column + 1}, "", std::move(reason)});
  };
  if (auto err = core::CheckYamlBounds(yaml, std::string(file))) {
    const auto& p = err->pos();
    problems.push_back({Severity::kError, {std::string(file), p ? p->line : 0, p ? p->column : 0}, "", err->message()});
    return problems;
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    problem(e.mark, "YAML: " + e.msg);
    return problems;
  }
  if (!root || root.IsNull()) return problems;  // an empty file: no placeholders
  if (!root.IsMap()) {
    problem(root.Mark(), "expected a mapping of placeholder names to values");
    return problems;
  }
  for (const auto& kv : root) {
    if (!kv.first.IsScalar() || !ValidName(kv.first.Scalar())) {
      problem(kv.first.Mark(), "a placeholder name is letters, digits, '_' or '-' (without the %)");
      continue;
    }
    const std::string name = kv.first.Scalar();
    if (out.count(name)) {
      problem(kv.first.Mark(), "placeholder '" + name + "' is given twice");
      continue;
    }
    std::vector<std::string> values;
    bool ok = true;
    if (kv.second.IsScalar()) {
      values.push_back(kv.second.Scalar());
    } else if (kv.second.IsSequence()) {
      for (const auto& v : kv.second) {
        if (!v.IsScalar()) {
          problem(v.Mark(), "placeholder '" + name + "': each value must be a string");
          ok = false;
          break;
        }
        values.push_back(v.Scalar());
      }
    } else {
      problem(kv.second.Mark(), "placeholder '" + name + "': expected a value or a list of values");
      ok = false;
    }
    if (ok && values.empty()) {
      problem(kv.second.Mark(), "placeholder '" + name + "' has no values");
      ok = false;
    }
    if (ok) out[name] = std::move(values);
  }
  return problems;
}

std::vector<Problem> LoadPlaceholdersFile(const std::string& path, Placeholders& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Problem p;
    p.pos.file = path;
    p.reason = "cannot read the placeholders file";
    return {p};
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ReadPlaceholders(ss.str(), path, out);
}

}  // namespace medsoc::detect
