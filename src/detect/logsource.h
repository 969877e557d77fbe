// Logsource mappings: which events a Sigma `logsource` (product / category / service) selects, and
// under which event field names a Sigma field is found. Data, not code: content/logsources/*.yaml
// (format in docs/sigma.md, "Logsource mappings"). A new collector shape is a data change.
//
// Example (content/logsources/windows.yaml):
//
//   product: windows
//   field_templates: ["{}", "winlog.event_data.{}"]    # every Sigma field F is tried as F, then ...
//   fields:
//     EventID: [EventID, winlog.event_id, "ecs:event.code"]
//   logsources:
//     - category: process_creation
//       sources:                                       # OR of alternatives, each an AND of fields
//         - {Channel: Microsoft-Windows-Sysmon/Operational, EventID: 1}
//         - {Channel: Security, EventID: 4688}
//       fields:
//         Image: [Image, NewProcessName]               # 4688 writes NewProcessName
//
// A field reference is an original (vendor) field name, or "ecs:NAME" for a normalized (ECS)
// field. Condition values compare as case-insensitive text (an event's 4688 matches "4688"); the
// value "*" means "the field is present". For a Sigma field, the candidates are, in order: the
// entry's `fields`, the file's `fields`, then the file's `field_templates` ("{}" is the Sigma
// name); the first candidate present in an event is the field's value.
//
// Thread-safety: load on one thread; afterwards const methods are safe from any thread.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "detect/rule.h"
#include "event/event.h"

namespace medsoc::detect {

struct FieldRef {
  std::string name;
  event::FieldSpace space = event::FieldSpace::kOriginal;
  bool operator==(const FieldRef&) const = default;
  bool operator<(const FieldRef& o) const { return std::tie(name, space) < std::tie(o.name, o.space); }
};

struct SourceCondition {
  std::string field;                // a Sigma-style name, resolved through the entry's aliases
  std::vector<std::string> values;  // lowercase; "*" = present
};

struct LogsourceEntry {
  Logsource key;
  std::vector<std::vector<SourceCondition>> sources;  // OR of ANDs; empty = every event
  std::map<std::string, std::vector<FieldRef>> fields;
  const std::map<std::string, std::vector<FieldRef>>* file_fields = nullptr;
  const std::vector<std::string>* templates = nullptr;
  SourcePos pos;
  // Synthesized by GenericEntry for a logsource that no file maps: `sources` select the events
  // that name the product (or category/service) in their ECS metadata; rule fields resolve as for
  // an unmapped logsource (original name, then normalized).
  bool generic = false;
};

// The entry used for a logsource without a mapping (unless the configuration asks for such rules
// to run on every event). An event belongs to it when, compared case-insensitively,
//  - with a product P: event.module, observer.product or observer.vendor is P, or event.dataset
//    is P, P.<service> or P.<category>;
//  - without a product: event.dataset or event.module is the category or the service.
// So `product: cisco, service: aaa` rules see events that a Cisco vendor mapping produced or that
// a source labelled with `dataset: cisco.aaa`, and never a Windows event.
std::unique_ptr<LogsourceEntry> GenericEntry(const Logsource& key);

class LogsourceMap {
 public:
  LogsourceMap();
  LogsourceMap(const LogsourceMap&) = delete;
  LogsourceMap& operator=(const LogsourceMap&) = delete;
  LogsourceMap(LogsourceMap&&) = default;

  // Adds the entries of one file; returns its problems (good entries are kept).
  std::vector<Problem> LoadYaml(std::string_view yaml, std::string_view file);
  // Loads every *.yaml / *.yml of a directory (sorted), or one file.
  std::vector<Problem> LoadPath(const std::string& path);

  // The entry for exactly this logsource, or nullptr.
  const LogsourceEntry* Find(const Logsource& key) const;

  // Event fields where `sigma_field` is found for rules of `entry` (nullptr: unmapped logsource,
  // where the field is tried as an original, then as a normalized name).
  std::vector<FieldRef> Resolve(const LogsourceEntry* entry, std::string_view sigma_field) const;

  std::size_t size() const { return entries_.size(); }
  const std::vector<std::unique_ptr<LogsourceEntry>>& entries() const { return entries_; }

 private:
  struct FileData {
    std::map<std::string, std::vector<FieldRef>> fields;
    std::vector<std::string> templates;
  };
  std::vector<std::unique_ptr<FileData>> files_;
  std::vector<std::unique_ptr<LogsourceEntry>> entries_;
  std::map<Logsource, const LogsourceEntry*> by_key_;
};

}  // namespace medsoc::detect
