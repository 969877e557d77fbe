// JSON events for the detection engine's own tools (`medsoc detect` until the ingest parsers are
// wired, tests, the benchmark): newline-delimited JSON and concatenated (pretty-printed) JSON
// objects, as evtx_dump writes them, from plain or zstd-compressed files.
//
// Flattening: nested objects become dotted names ("winlog.event_data.Image"); evtx_dump's
// "#attributes" level is folded into "<parent>_attributes" dropped to "<parent>" keys joined with
// "_" (Event.System.Provider.#attributes.Name -> Event.System.Provider_Name, following Sigma's
// Provider_Name convention); arrays keep their first scalar element. Every field goes to the
// ORIGINAL field space under its flattened name; numbers stay numbers, booleans booleans. The
// event's raw() is the object's text; its time comes from the first of "@timestamp",
// "TimeCreated", "UtcTime", "timestamp", "Event.System.TimeCreated_SystemTime", "time" that
// parses as RFC 3339 (or "YYYY-MM-DD hh:mm:ss[.fff]" as UTC).
//
// Thread-safety: a JsonEventReader is used by one thread.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "event/event.h"

namespace medsoc::detect {

// Fills `event` (which the caller has Reset) from one JSON object text. On malformed JSON the event
// keeps raw() and gets a parse error, and the error is returned.
Status FlattenJsonObject(std::string_view text, event::Event& event);

class JsonEventReader {
 public:
  // Reads from `path` ("-" = standard input); a ".zst" file is decompressed on the fly.
  static Result<std::unique_ptr<JsonEventReader>> Open(const std::string& path);
  ~JsonEventReader();

  // The text of the next top-level JSON object (NDJSON line or concatenated object), or false at
  // the end of the input. Blank space between objects is skipped; a line that is not JSON is
  // returned as is (the flattener then reports it).
  bool NextObject(std::string& out);
  // NextObject + FlattenJsonObject into a Reset event.
  bool Next(event::Event& event);
  // Errors while reading (I/O, corrupt zstd) after Next returned false.
  const std::optional<Error>& error() const { return error_; }

 private:
  JsonEventReader() = default;
  bool Fill();
  std::FILE* file_ = nullptr;
  bool own_ = false;
  void* zstd_ = nullptr;
  std::string in_buf_;
  std::string buf_;
  std::size_t pos_ = 0;
  bool eof_ = false;
  std::string scratch_;
  std::optional<Error> error_;
};

}  // namespace medsoc::detect
