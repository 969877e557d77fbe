// Compact JSON rendering of an Event, for the HTTP API and the event store.
//
// Shape (keys in this order; optional ones only when set):
//   {"time":"2024-03-03T02:01:02.5Z",          event time, RFC 3339 UTC, 0/3/6/9 fraction digits
//    "time_text":"Mar  3 10:01:02",            optional: the time as written in the record
//    "ingest_time":"...",
//    "tenant_id":"...","source":"...",
//    "raw":"<raw message>",
//    "parse_error":"...",                      optional
//    "fields":{"source.ip":"10.0.0.1","event.code":4688,"related.ip":["10.0.0.1","10.0.0.2"]},
//    "original":{"EventID":4688},              optional: vendor fields (FieldSpace::kOriginal)
//    "invalid_utf8":true}                      optional: some string was not valid UTF-8
// Field names are the dotted names from the FieldTable (flat, not nested). A field with several
// values becomes an array, at the position of its first value. Values: strings, ints and bools
// as JSON; floats as numbers, except NaN/Infinity/-Infinity as strings (as the protobuf JSON
// mapping does); IPs and times as strings; null as null.
//
// Strings: '"', '\\' and control characters are escaped (\n \r \t \b \f, else \u00XX), as are
// U+2028/U+2029 so the output is also safe inside JavaScript. Invalid UTF-8 is never copied
// through: each maximal invalid subsequence (Unicode "substitution of maximal subparts") becomes
// U+FFFD and the event is flagged with "invalid_utf8":true.
//
// Thread-safety: free functions; reading the FieldTable is thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "event/event.h"
#include "event/field.h"

namespace medsoc::event {

// Appends `s` as a quoted JSON string to `out`. Returns false when `s` had invalid UTF-8
// (replaced by U+FFFD).
bool AppendJsonString(std::string_view s, std::string& out);

// Appends the JSON of `value`. Returns false when a string had invalid UTF-8.
bool AppendJsonValue(const Value& value, std::string& out);

// Appends the JSON object of `event` to `out`. Returns false when some string had invalid UTF-8.
// REQUIRES: the event's field ids come from `table`.
bool AppendEventJson(const Event& event, std::string& out, const FieldTable& table = DefaultFieldTable());

std::string EventToJson(const Event& event, const FieldTable& table = DefaultFieldTable());

}  // namespace medsoc::event
