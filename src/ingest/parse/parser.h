// Parser: turns one message (a syslog frame, a line, a JSON object) into the event model: the
// normalized ECS-named fields of content/fields/ecs.yaml, the vendor's original fields beside them
// (FieldSpace::kOriginal), and the raw message (set by the caller before Parse).
//
// Contract:
//  - The caller has Reset() the event, set raw() to the message, and filled the envelope (tenant,
//    source, ingest time). Parse sets time() (UTC) and time_text() (the original text), fields,
//    and may leave fields empty.
//  - On a message that is not in this format or is broken, Parse returns an Error whose message
//    says where (byte offset) and why; the caller then stores the event raw with that error
//    (event.set_parse_error). Parse never throws; third-party exceptions stay inside.
//  - No allocation per event on the hot path beyond the batch arena: values view raw() or are
//    copied into the event's arena.
//
// Thread-safety: a Parser instance is used by one thread at a time (one per pipeline worker);
// Create() gives each worker its own.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/registry.h"
#include "core/result.h"
#include "core/time.h"
#include "event/event.h"

namespace medsoc::ingest {

struct ParseContext {
  std::string_view source_name;
  // Time zone for formats whose timestamps have none (RFC 3164, many firewalls): minutes east of
  // UTC, e.g. 480 for China Standard Time. Configured per source.
  int tz_offset_minutes = 480;
  // Reference time for formats that omit the year (RFC 3164): the year is chosen so that the
  // timestamp is not far in the future relative to `now`.
  core::Timestamp now;
  // Limits for hostile input.
  std::size_t max_message_bytes = 64 * 1024;
  int max_json_depth = 64;
};

class Parser {
 public:
  virtual ~Parser() = default;
  // Stable format name used in configuration and `--format` ("rfc3164", "rfc5424", "cef", ...).
  virtual std::string_view name() const = 0;
  virtual Status Parse(std::string_view message, const ParseContext& ctx, event::Event& event) = 0;
  // 0..100: how sure this parser is that `sample` (one message) is in its format; used by
  // auto-detection. Cheap: no full parse needed.
  virtual int Detect(std::string_view sample) const = 0;
};

// Registers every built-in parser (and the data-driven vendor mappings found under
// <content_dir>/ingest/) into `registry` under its name. Errors in content files are returned
// (all of them, with file:line:column); everything valid is still registered.
std::vector<Error> RegisterParsers(core::Registry& registry, const std::string& content_dir);

}  // namespace medsoc::ingest
