// `medsoc ingest`: one-shot import of log files (plain, gzip or zstd, detected by magic bytes) or
// standard input into the event store under the data directory, through the same pipeline as the
// server (framing, parsing with auto-detection, durable writes).
#pragma once

#include <string>
#include <vector>

#include "app/app.h"

namespace medsoc::app {

struct IngestFlags {
  std::vector<std::string> inputs;  // FILE... or "-" (standard input)
  std::string format = "auto";      // --format auto|NAME
  std::string source = "import";    // --source NAME
  std::string dataset;              // --dataset D: event.dataset of every event (his.audit)
  std::string tenant = "default";   // --tenant T
  std::string timezone = "+08:00";  // --timezone for timestamps without a zone
  bool quiet = false;               // --quiet: no progress on stderr
};

// Exit codes: 0 everything read was stored; 1 a store or read error; 2 bad arguments.
int RunIngest(const GlobalFlags& flags, const IngestFlags& ingest);

}  // namespace medsoc::app
