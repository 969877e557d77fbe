// Logging through spdlog: one process-wide logger writing text or JSON lines to stderr or a file.
// Modules log with the spdlog macros/functions after InitLogging() has run; before it, spdlog's
// default logger (text to stderr) is used.
//
// Thread-safety: spdlog loggers are thread-safe; InitLogging() must be called once at start-up
// before other threads start.
#pragma once

#include <spdlog/spdlog.h>

#include "core/options.h"
#include "core/result.h"

namespace medsoc::core {

// Configures the default logger: level (trace, debug, info, warn, error, critical, off),
// format ("text" or "json"; JSON lines carry time, level, logger and msg), and the destination
// (empty file = stderr).
Status InitLogging(const LogOptions& options);

}  // namespace medsoc::core
