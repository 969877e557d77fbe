// Reader: Sigma YAML text -> SigmaDocument (rule.h). The first of the three loading stages
// (reader -> collector -> compiler, see engine.h).
//
// The reader checks structure only (required keys, types, shapes) and keeps every position; it
// does not know about modifiers' meaning, field mappings or conditions' identifiers (the compiler
// does). A file may hold several YAML documents ("---"); each is read on its own, and a broken
// document does not stop the others. Every problem is reported with file:line:column and the
// document's id when it is known.
//
// Thread-safety: pure functions; the directory walker reads the file system (ReadSigmaPaths parses
// the files on all cores).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "detect/rule.h"

namespace medsoc::detect {

struct ReadResult {
  std::vector<SigmaDocument> docs;
  std::vector<Problem> problems;
};

// Reads the documents of one YAML text. `file` names it in positions.
ReadResult ReadSigmaYaml(std::string_view yaml, std::string_view file);

// Reads files and directories (recursively, *.yml and *.yaml, in sorted path order so results are
// reproducible; in directories, *.tests.yml / *.tests.yaml files are rule test events and are
// skipped). An unreadable path is one problem.
ReadResult ReadSigmaPaths(const std::vector<std::string>& paths);

// Parses a Sigma timespan ("30s", "15m", "1h", "7d", "2w"). Returns nanoseconds.
Result<std::int64_t> ParseTimespan(std::string_view text);

}  // namespace medsoc::detect
