#include "core/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace medsoc::core {

Status InitLogging(const LogOptions& options) {
  auto level = spdlog::level::from_str(options.level);
  if (level == spdlog::level::off && options.level != "off")
    return Error(ErrorCode::kInvalidArgument, "log.level: unknown level '" + options.level + "'");
  std::shared_ptr<spdlog::logger> logger;
  try {
    if (options.file.empty()) {
      logger = std::make_shared<spdlog::logger>("medsoc", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    } else {
      logger = std::make_shared<spdlog::logger>(
          "medsoc", std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file, /*truncate=*/false));
    }
  } catch (const spdlog::spdlog_ex& e) {
    return Error(ErrorCode::kIo, std::string("log.file: ") + e.what());
  }
  if (options.format == "json") {
    // %v is escaped by the callers that log user-controlled text through JSON-safe helpers; the
    // message is placed in a JSON string with spdlog's own escaping of quotes not available, so we
    // keep messages free of raw quotes at the call sites that matter (audit has its own table).
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","logger":"%n","msg":"%v"})",
                        spdlog::pattern_time_type::utc);
  } else if (options.format == "text") {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %v", spdlog::pattern_time_type::utc);
  } else {
    return Error(ErrorCode::kInvalidArgument, "log.format: expected 'text' or 'json', got '" + options.format + "'");
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  return Ok();
}

}  // namespace medsoc::core
