// JsonFramer: splits a byte stream into complete top-level JSON values (objects or arrays),
// whether they are newline-delimited (NDJSON), concatenated, or pretty-printed over many lines
// (evtx_dump writes files of concatenated pretty-printed objects, each preceded by a
// "Record N" line, which is skipped).
//
// The scanner tracks strings and escapes, so braces inside strings do not count. It is
// incremental: Feed() any chunk, then call Next() until it returns false.
//
// Broken input is reported with the stream byte offset and the scanner resynchronises:
//  - bytes between values that do not start a value (other than whitespace and "Record N"
//    lines): one error per run, skipped to the end of the line;
//  - a raw line break inside a string (not allowed in JSON: a truncated line): the value is
//    dropped and scanning restarts at the next line;
//  - a top-level OBJECT whose text reaches a new line starting with '{' at column 0 (the next
//    NDJSON record after a truncated one): the broken value is reported and the new line starts
//    a value (pretty-printed objects indent their inner braces; top-level arrays are exempt);
//  - a value longer than max_value_bytes: reported, and bytes are dropped up to the next line
//    starting with '{' or '[';
//  - at Finish(), an unterminated value is reported (truncated input).
// A reported error never stops the stream.
//
// Thread-safety: none; one framer per stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace medsoc::ingest {

class JsonFramer {
 public:
  struct Frame {
    bool ok = true;              // false: `error` describes broken input at `offset`
    std::string_view value;      // the JSON text (ok); valid until the next Feed/Next/Finish
    std::uint64_t offset = 0;    // stream offset of the value or of the error
    std::string error;
  };

  explicit JsonFramer(std::size_t max_value_bytes = 1 << 20) : max_(max_value_bytes) {}

  // Appends a chunk of the stream.
  void Feed(std::string_view data);
  // Marks the end of the stream (an unterminated value becomes an error frame).
  void Finish() { finished_ = true; }
  // The next complete value or error; false when more input is needed (or, after Finish, at end).
  bool Next(Frame& frame);

  // Bytes buffered but not yet returned.
  std::size_t buffered() const { return buf_.size() - start_; }

 private:
  enum class State : std::uint8_t { kBetween, kValue, kGarbage, kSkipToValueLine };
  bool Error(Frame& frame, std::uint64_t offset, std::string message);
  void Compact();

  std::string buf_;
  std::size_t start_ = 0;      // buffer index of the current value / unread data
  std::size_t pos_ = 0;        // scan position
  std::uint64_t base_ = 0;     // stream offset of buf_[0]
  State state_ = State::kBetween;
  int depth_ = 0;
  bool in_string_ = false;
  bool escape_ = false;
  bool top_object_ = false;
  bool at_line_start_ = true;
  bool finished_ = false;
  std::size_t max_;
};

}  // namespace medsoc::ingest
