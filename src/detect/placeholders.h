// Values of the placeholders of Sigma's `expand` modifier (`%Administrators%`), read from the YAML
// file named by the configuration key detect.placeholders_file:
//
//   # placeholder name (without the %): one value or a list of values (Sigma strings: * ? \ apply)
//   Administrators: ["admin*", root]
//   DomainControllers: dc01
//
// The result feeds CompileOptions::placeholders (engine.h).
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "detect/rule.h"

namespace medsoc::detect {

using Placeholders = std::map<std::string, std::vector<std::string>>;

// Reads `yaml` (`file` names it in positions) into `out`. Returns every problem (file:line:column
// and reason); entries without a problem are kept.
std::vector<Problem> ReadPlaceholders(std::string_view yaml, std::string_view file, Placeholders& out);

// Reads the file at `path`; a missing or unreadable file is one problem.
std::vector<Problem> LoadPlaceholdersFile(const std::string& path, Placeholders& out);

}  // namespace medsoc::detect
