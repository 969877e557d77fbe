// FlatJson: one JSON text (an object, usually) flattened into a list of leaf fields with dotted
// paths, the common first step of every JSON-family parser (parse/json_parsers.h).
//
// Flattening rules (documented for users in docs/formats-json.md):
//  - Nested objects become dotted paths: {"a":{"b":1}} gives "a.b" = 1. Keys are used as written
//    (after JSON unescaping); a key containing a dot stays as it is ("a.b" inside "x" is "x.a.b").
//  - Arrays are multi-valued: every element becomes a leaf with the array's own path, in order
//    ({"ip":["a","b"]} gives "ip"="a" and "ip"="b"; stored with Event::Append so a Sigma rule on
//    "ip" matches either). Objects inside arrays are flattened under the array's path
//    ({"d":[{"n":1},{"n":2}]} gives "d.n"=1, "d.n"=2); each leaf records the ordinal of its
//    innermost array element so that normalizers can pair siblings (evtx_dump "Data" arrays).
//  - Empty objects and arrays produce no leaf. null is kept as a null value.
//  - Strings are unescaped into the event's arena; numbers become Int (int64) or Float; integers
//    beyond int64 are kept as their decimal text. A string without escapes is not copied when the
//    text lies inside the event's raw() (the pipeline's case): its value views those bytes.
//
// The fast path is simdjson On-Demand (stage 1 dispatched at run time to the CPU's best kernel;
// the walk visits every value, so the whole text is still checked, and depth limits are those of
// the DOM parser used before). When simdjson refuses the text, a small scalar parser of our
// own runs instead: it accepts invalid UTF-8 inside strings (the bytes are kept as they are and the
// caller flags the event), and otherwise reports the exact byte offset and reason of the error.
// Depth beyond ParseContext::max_json_depth and texts beyond max_message_bytes are refused.
//
// Thread-safety: none; one instance per parser instance (one per pipeline worker). Reusing an
// instance allocates nothing once its buffers have grown to the largest message seen.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "event/event.h"
#include "event/value.h"

namespace medsoc::ingest::json {

struct FlatField {
  std::string_view path;   // dotted path; valid until the next Parse
  std::string_view leaf;   // the last segment of path
  event::Value value;      // strings live in the event's arena
  std::uint32_t element;   // ordinal (1-based) of the innermost enclosing array element; 0: none
};

class FlatJson {
 public:
  FlatJson();
  ~FlatJson();
  FlatJson(const FlatJson&) = delete;
  FlatJson& operator=(const FlatJson&) = delete;

  // Parses `text` (one JSON value; surrounding whitespace allowed) and flattens it. String values
  // are copied into `event`'s arena. `top_is_object` is set when the top-level value is an
  // object. Errors (kParse / kResourceExhausted) name the byte offset in `text`.
  Status Parse(std::string_view text, int max_depth, event::Event& event);

  const std::vector<FlatField>& fields() const { return fields_; }
  bool top_is_object() const { return top_is_object_; }
  // True when the last Parse kept bytes that are not valid UTF-8 inside some string.
  bool invalid_utf8() const { return invalid_utf8_; }
  // True when the last Parse used the fallback parser (simdjson refused the text).
  bool used_fallback() const { return used_fallback_; }

  // The first leaf whose path is `path`, or nullptr. Linear; for a handful of lookups per event.
  const FlatField* Find(std::string_view path) const;

 private:
  friend class FlatBuilder;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<FlatField> fields_;
  bool top_is_object_ = false;
  bool invalid_utf8_ = false;
  bool used_fallback_ = false;
};

// Unescapes the body of a JSON string (without quotes) into `out` (appending). Invalid escapes are
// copied through verbatim; lone surrogates become U+FFFD. Bytes >= 0x80 are copied as they are.
void UnescapeJsonString(std::string_view body, std::string& out);

}  // namespace medsoc::ingest::json
