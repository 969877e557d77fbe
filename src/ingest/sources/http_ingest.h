// HTTP ingest, without HTTP: the logic behind POST /api/v1/ingest (api/routes_ingest.cpp adapts
// it to the router). A request body becomes one batch, submitted to the pipeline as one Work and
// stored in one EventSink::Write, so a request is durable all or nothing; the answer is given only
// after the sink acknowledged it.
//
// Body (after Content-Encoding gzip/zstd is undone, within max_decompressed_bytes):
//   - a JSON array of objects      [{"a":1},{"b":2}]      each element is an event; raw = its JSON text
//   - JSON objects one after another (NDJSON, or pretty-printed objects back to back)
//   - anything else: text lines, one event per non-empty line
// In the object forms, text between objects that is not an object (a broken NDJSON line) is kept
// as an event of its own, which the parser then stores raw with its error: nothing is dropped.
// An element longer than max_event_bytes is truncated and tagged. A body with an unterminated
// array or object is refused (400, naming the byte offset) since its end is unknown.
//
// Outcomes (HTTP status in `status`): 200 accepted; 400 malformed; 413 over a limit; 415 bad
// Content-Encoding; 429 the pipeline is full (nothing was queued; retry after `retry_after`);
// 503 the store failed or did not confirm within ack_timeout_seconds (the batch may still be
// stored: retrying can duplicate it).
//
// Thread-safety: Handle() may be called concurrently (it blocks the calling thread until the ack).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ingest/options.h"
#include "ingest/pipeline.h"

namespace medsoc::ingest {

struct HttpIngestRequest {
  std::string tenant;            // the principal's tenant
  std::string source;            // ?source= ; empty: "http"
  std::string format;            // ?format= ; empty: the http source's format (auto)
  std::string dataset;           // ?dataset= ; event.dataset of every event (his.audit); empty: the parser's
  std::string_view body;
  std::string_view content_encoding;
  std::string remote_ip;
};

struct HttpIngestResult {
  int status = 200;
  std::uint64_t accepted = 0;
  std::uint64_t failed_to_parse = 0;
  std::string error_code;  // "too_large", "bad_request", "overloaded", "unavailable", ...
  std::string message;
  int retry_after_seconds = 0;  // > 0: send Retry-After
};

class HttpIngest {
 public:
  // REQUIRES: `source` was added to `pipeline`; both outlive this.
  HttpIngest(Pipeline& pipeline, Source* source, HttpIngestOptions options);

  HttpIngestResult Handle(const HttpIngestRequest& request);

  const HttpIngestOptions& options() const { return options_; }

 private:
  Pipeline& pipeline_;
  Source* source_;
  HttpIngestOptions options_;
};

// Splits a decompressed ingest body into event texts (see the header comment). Calls
// on_event(std::string_view text) per event; returns an error (with byte offset) for a body whose
// array or object does not end. Exposed for tests and the fuzz target.
Status SplitIngestBody(std::string_view body, const std::function<void(std::string_view)>& on_event);

}  // namespace medsoc::ingest
