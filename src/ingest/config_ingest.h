// The `ingest:` section of medsoc.yaml -> IngestOptions (ingest/options.h documents every key).
// core's loader delegates this section here, so the ingest module owns its own schema.
//
// Every problem is reported with file:line:column and the key path ("ingest.listeners[1].allow[0]"):
// unknown keys, wrong types, out-of-range numbers, bad CIDRs, bad time zones, duplicate listener
// names, tls without a certificate.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "ingest/options.h"

namespace medsoc::ingest {

// `yaml_text` is the whole configuration document; only its top-level `ingest` key is read
// (absent: defaults). On problems, one Error whose message lists all of them, one per line.
Result<IngestOptions> ParseIngestSection(const std::string& yaml_text, const std::string& file_name);

// The same, returning each problem separately (for `medsoc config check`).
std::vector<Error> CheckIngestSection(const std::string& yaml_text, const std::string& file_name,
                                      IngestOptions* out = nullptr);

}  // namespace medsoc::ingest
