// RegisterParsers: every built-in text parser, the JSON family, the data-driven vendor mappings
// of <content_dir>/ingest/vendors/*.yaml, and "auto" (AutoDetector over all of them).
#include <memory>
#include <string>

#include "ingest/parse/auditd.h"
#include "ingest/parse/auto_detect.h"
#include "ingest/parse/cef.h"
#include "ingest/parse/json_parsers.h"
#include "ingest/parse/kv.h"
#include "ingest/parse/parser.h"
#include "ingest/parse/syslog.h"
#include "ingest/parse/text_common.h"
#include "ingest/parse/vendor.h"

namespace medsoc::ingest {
namespace {

template <typename P>
void AddBuiltin(core::Registry& registry, const std::string& name, std::vector<Error>& problems) {
  Status st = registry.Add<Parser>(name, [] { return std::unique_ptr<Parser>(std::make_unique<P>()); });
  if (!st.ok()) problems.push_back(st.error());
}

}  // namespace

std::vector<Error> RegisterParsers(core::Registry& registry, const std::string& content_dir) {
  std::vector<Error> problems;
  (void)text::F();  // intern the field names once, before any worker starts
  AddBuiltin<text::Rfc3164Parser>(registry, "rfc3164", problems);
  AddBuiltin<text::Rfc5424Parser>(registry, "rfc5424", problems);
  AddBuiltin<text::SyslogParser>(registry, "syslog", problems);
  AddBuiltin<text::CefParser>(registry, "cef", problems);
  AddBuiltin<text::LeefParser>(registry, "leef", problems);
  AddBuiltin<text::KvParser>(registry, "kv", problems);
  AddBuiltin<text::AuditdParser>(registry, "auditd", problems);
  if (Status st = RegisterJsonParsers(registry); !st.ok()) problems.push_back(st.error());

  const std::string dir = content_dir + "/ingest/vendors";
  text::VendorLoadResult vendors = text::LoadVendorDir(dir);
  for (auto& p : vendors.problems) problems.push_back(std::move(p));
  for (auto& spec : vendors.specs) {
    const std::string name(text::VendorSpecName(*spec));
    Status st = registry.Add<Parser>(name, [spec] { return std::unique_ptr<Parser>(std::make_unique<text::VendorParser>(spec)); });
    if (!st.ok()) problems.push_back(Error(st.error().code(), "vendor mapping: " + st.error().message(), SourcePos{dir, 0, 0}));
  }

  const core::Registry* reg = &registry;
  Status st = registry.Add<Parser>("auto", [reg]() -> std::unique_ptr<Parser> {
    auto detector = AutoDetector::FromRegistry(*reg);
    if (!detector.ok()) return nullptr;
    return std::move(*detector);
  });
  if (!st.ok()) problems.push_back(st.error());
  return problems;
}

}  // namespace medsoc::ingest
