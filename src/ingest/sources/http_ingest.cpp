// HTTP ingest logic: see http_ingest.h.
#include "ingest/sources/http_ingest.h"

#include <chrono>
#include <future>
#include <memory>

#include "core/time.h"
#include "ingest/decompress.h"
#include "ingest/framing.h"

namespace medsoc::ingest {
namespace {

bool IsWs(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Returns the end (one past) of the JSON value starting at `pos` ('{' or '['), or npos when the
// body ends first. Strings and escapes are honoured; nothing else is validated (the parser does).
std::size_t ScanBalanced(std::string_view s, std::size_t pos) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = pos; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

// The end of a scalar array element (number, string, literal) for error messages / skipping.
std::size_t ScanScalar(std::string_view s, std::size_t pos) {
  if (s[pos] == '"') {
    for (std::size_t i = pos + 1; i < s.size(); ++i) {
      if (s[i] == '\\') {
        ++i;
      } else if (s[i] == '"') {
        return i + 1;
      }
    }
    return std::string_view::npos;
  }
  std::size_t i = pos;
  while (i < s.size() && s[i] != ',' && s[i] != ']' && !IsWs(s[i])) ++i;
  return i;
}

}  // namespace

Status SplitIngestBody(std::string_view body, const std::function<void(std::string_view)>& on_event) {
  std::size_t pos = 0;
  while (pos < body.size() && IsWs(body[pos])) ++pos;
  if (pos == body.size()) return Ok();
  if (body[pos] == '[') {
    // A JSON array: each element one event.
    ++pos;
    std::size_t index = 0;
    while (true) {
      while (pos < body.size() && IsWs(body[pos])) ++pos;
      if (pos >= body.size()) return Error(ErrorCode::kInvalidArgument, "JSON array not terminated (byte " + std::to_string(pos) + ")");
      if (body[pos] == ']') break;
      const std::size_t start = pos;
      std::size_t end;
      if (body[pos] == '{' || body[pos] == '[') {
        end = ScanBalanced(body, pos);
      } else {
        end = ScanScalar(body, pos);
      }
      if (end == std::string_view::npos)
        return Error(ErrorCode::kInvalidArgument,
                     "JSON array element " + std::to_string(index) + " not terminated (starts at byte " + std::to_string(start) + ")");
      if (body[start] != '{')
        return Error(ErrorCode::kInvalidArgument,
                     "JSON array element " + std::to_string(index) + " (byte " + std::to_string(start) + ") is not an object");
      on_event(body.substr(start, end - start));
      ++index;
      pos = end;
      while (pos < body.size() && IsWs(body[pos])) ++pos;
      if (pos < body.size() && body[pos] == ',') {
        ++pos;
        continue;
      }
      if (pos < body.size() && body[pos] == ']') break;
      return Error(ErrorCode::kInvalidArgument, "expected ',' or ']' after array element " + std::to_string(index - 1) +
                                                    " (byte " + std::to_string(pos) + ")");
    }
    ++pos;
    while (pos < body.size() && IsWs(body[pos])) ++pos;
    if (pos != body.size())
      return Error(ErrorCode::kInvalidArgument, "unexpected data after the JSON array (byte " + std::to_string(pos) + ")");
    return Ok();
  }
  if (body[pos] == '{') {
    // Objects back to back (NDJSON or pretty-printed); stray text up to the end of its line is an
    // event of its own.
    while (pos < body.size()) {
      while (pos < body.size() && IsWs(body[pos])) ++pos;
      if (pos >= body.size()) break;
      if (body[pos] == '{') {
        const std::size_t end = ScanBalanced(body, pos);
        if (end == std::string_view::npos)
          return Error(ErrorCode::kInvalidArgument, "JSON object starting at byte " + std::to_string(pos) + " is not terminated");
        on_event(body.substr(pos, end - pos));
        pos = end;
      } else {
        std::size_t nl = body.find('\n', pos);
        if (nl == std::string_view::npos) nl = body.size();
        std::string_view line = TrimLineEnd(body.substr(pos, nl - pos));
        if (!line.empty()) on_event(line);
        pos = nl;
      }
    }
    return Ok();
  }
  // Text lines.
  while (pos < body.size()) {
    std::size_t nl = body.find('\n', pos);
    if (nl == std::string_view::npos) nl = body.size();
    std::string_view line = TrimLineEnd(body.substr(pos, nl - pos));
    if (!line.empty()) on_event(line);
    pos = nl + 1;
  }
  return Ok();
}

HttpIngest::HttpIngest(Pipeline& pipeline, Source* source, HttpIngestOptions options)
    : pipeline_(pipeline), source_(source), options_(options) {}

HttpIngestResult HttpIngest::Handle(const HttpIngestRequest& req) {
  HttpIngestResult res;
  auto fail = [&](int status, std::string code, std::string message, int retry_after = 0) {
    res.status = status;
    res.error_code = std::move(code);
    res.message = std::move(message);
    res.retry_after_seconds = retry_after;
    return res;
  };
  auto encoding = ParseContentEncoding(req.content_encoding);
  if (!encoding.ok()) return fail(415, "unsupported_encoding", encoding.error().message());
  if (!req.format.empty() && !pipeline_.KnowsFormat(req.format))
    return fail(400, "bad_request", "unknown format '" + req.format + "'");
  if (!req.dataset.empty() && !IsValidDataset(req.dataset))
    return fail(400, "bad_request", "dataset must be 1-64 of [a-z0-9_.-], starting with a letter or digit");
  // Cheap refusal before decompressing: the pipeline has no room now.
  if (!pipeline_.HasRoom()) {
    source_->counters().refused.fetch_add(1, std::memory_order_relaxed);
    return fail(429, "overloaded", "ingest pipeline is full; retry later", options_.retry_after_seconds);
  }
  std::string decompressed;
  std::string_view body = req.body;
  if (*encoding != Compression::kNone) {
    auto d = Decompress(req.body, *encoding, options_.max_decompressed_bytes);
    if (!d.ok()) {
      if (d.error().code() == ErrorCode::kResourceExhausted) return fail(413, "too_large", d.error().message());
      return fail(400, "bad_request", "body: " + d.error().message());
    }
    decompressed = std::move(*d);
    body = decompressed;
  } else if (body.size() > options_.max_decompressed_bytes) {
    return fail(413, "too_large", "body exceeds " + std::to_string(options_.max_decompressed_bytes) + " bytes");
  }

  Work work;
  work.source = source_;
  work.format = req.format;
  work.fail_fast = true;
  // The client's address (log.source.address) and the request's dataset apply to every event.
  if (!req.remote_ip.empty()) work.senders.push_back(work.batch.CopyString(req.remote_ip));
  if (!req.dataset.empty()) work.datasets.push_back(work.batch.CopyString(req.dataset));
  const std::string& source_name = req.source.empty() ? source_->spec().name : req.source;
  const core::Timestamp now = core::Now();
  std::uint64_t count = 0;
  bool too_many = false;
  std::uint64_t bytes = 0, truncated = 0;
  Status split = SplitIngestBody(body, [&](std::string_view text) {
    if (too_many) return;
    if (++count > options_.max_events) {
      too_many = true;
      return;
    }
    bool cut = false;
    if (text.size() > options_.max_event_bytes) {
      text = text.substr(0, options_.max_event_bytes);
      cut = true;
      ++truncated;
    }
    event::Event& e = work.batch.Add();
    e.set_raw(text);
    e.set_tenant_id(req.tenant);
    e.set_source_name(source_name);
    e.set_ingest_time(now);
    work.flags.push_back(cut ? kFlagTruncated : kFlagNone);
    bytes += text.size();
  });
  if (!split.ok()) return fail(400, "bad_request", "body: " + split.error().message());
  if (too_many)
    return fail(413, "too_large", "more than " + std::to_string(options_.max_events) + " events in one request");
  if (work.batch.empty()) return res;  // 200, nothing accepted

  const std::uint64_t n = work.batch.size();
  auto promise = std::make_shared<std::promise<std::pair<Status, std::uint64_t>>>();
  auto future = promise->get_future();
  work.ack = [promise](const Status& st, const Work& w) { promise->set_value({st, w.failed_to_parse}); };
  if (!pipeline_.TrySubmit(work)) {
    source_->counters().refused.fetch_add(1, std::memory_order_relaxed);
    return fail(429, "overloaded", "ingest pipeline is full; retry later", options_.retry_after_seconds);
  }
  SourceCounters& c = source_->counters();
  c.received.fetch_add(n, std::memory_order_relaxed);
  c.bytes.fetch_add(bytes, std::memory_order_relaxed);
  c.truncated.fetch_add(truncated, std::memory_order_relaxed);
  if (future.wait_for(std::chrono::seconds(options_.ack_timeout_seconds)) != std::future_status::ready)
    return fail(503, "unavailable", "events not confirmed durable within " + std::to_string(options_.ack_timeout_seconds) +
                                        " s; they may still be stored", options_.retry_after_seconds);
  auto [st, failed] = future.get();
  if (!st.ok()) return fail(503, "unavailable", "storing the events failed: " + st.error().message(), options_.retry_after_seconds);
  res.accepted = n;
  res.failed_to_parse = failed;
  return res;
}

}  // namespace medsoc::ingest
