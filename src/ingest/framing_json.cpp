#include "ingest/framing_json.h"

namespace medsoc::ingest {

void JsonFramer::Feed(std::string_view data) {
  Compact();
  buf_.append(data);
}

void JsonFramer::Compact() {
  // Drop what was already returned or skipped; keep the value being scanned.
  std::size_t keep_from = state_ == State::kValue ? start_ : pos_;
  if (keep_from == 0) return;
  buf_.erase(0, keep_from);
  base_ += keep_from;
  pos_ -= keep_from;
  start_ = state_ == State::kValue ? 0 : pos_;
}

bool JsonFramer::Error(Frame& frame, std::uint64_t offset, std::string message) {
  frame.ok = false;
  frame.value = {};
  frame.offset = offset;
  frame.error = std::move(message);
  return true;
}

namespace {
bool IsWs(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
}  // namespace

bool JsonFramer::Next(Frame& frame) {
  while (pos_ < buf_.size()) {
    const char c = buf_[pos_];
    switch (state_) {
      case State::kBetween: {
        if (IsWs(c) || c == '\0' || c == ',' ) {
          // ',' between values: tolerate "},{" streams cut out of a JSON array.
          at_line_start_ = c == '\n';
          ++pos_;
          start_ = pos_;
          continue;
        }
        if (static_cast<unsigned char>(c) == 0xEF && buf_.compare(pos_, 3, "\xEF\xBB\xBF") == 0) {  // BOM
          pos_ += 3;
          start_ = pos_;
          continue;
        }
        if (c == '{' || c == '[') {
          state_ = State::kValue;
          start_ = pos_;
          depth_ = 1;
          top_object_ = c == '{';
          in_string_ = false;
          escape_ = false;
          at_line_start_ = false;
          ++pos_;
          continue;
        }
        if (at_line_start_ || pos_ == 0) {
          // evtx_dump: "Record 12" before each record.
          const std::size_t nl = buf_.find('\n', pos_);
          if (nl == std::string::npos && !finished_ && buf_.size() - pos_ < 64) return false;  // need the line
          std::string_view line(buf_.data() + pos_, (nl == std::string::npos ? buf_.size() : nl) - pos_);
          if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
          if (line.substr(0, 7) == "Record ") {
            bool digits = line.size() > 7;
            for (std::size_t i = 7; i < line.size(); ++i) digits = digits && line[i] >= '0' && line[i] <= '9';
            if (digits) {
              pos_ = nl == std::string::npos ? buf_.size() : nl + 1;
              start_ = pos_;
              at_line_start_ = true;
              continue;
            }
          }
        }
        state_ = State::kGarbage;
        const std::uint64_t at = base_ + pos_;
        return Error(frame, at, "JSON framing at byte " + std::to_string(at) +
                                    ": unexpected data between values (skipped to the end of the line)");
      }
      case State::kGarbage: {
        const std::size_t nl = buf_.find('\n', pos_);
        if (nl == std::string::npos) {
          pos_ = buf_.size();
          start_ = pos_;
          return false;
        }
        pos_ = nl + 1;
        start_ = pos_;
        at_line_start_ = true;
        state_ = State::kBetween;
        continue;
      }
      case State::kSkipToValueLine: {
        if (at_line_start_ && (c == '{' || c == '[')) {
          state_ = State::kBetween;
          start_ = pos_;
          continue;
        }
        at_line_start_ = c == '\n';
        ++pos_;
        start_ = pos_;
        continue;
      }
      case State::kValue:
        break;
    }

    // kValue: scan as far as possible.
    const std::size_t size = buf_.size();
    const char* b = buf_.data();
    while (pos_ < size) {
      const char ch = b[pos_];
      if (pos_ - start_ >= max_) {
        const std::uint64_t at = base_ + start_;
        state_ = State::kSkipToValueLine;
        at_line_start_ = false;
        return Error(frame, at, "JSON framing at byte " + std::to_string(at) + ": value exceeds the limit of " +
                                    std::to_string(max_) + " bytes (skipped to the next line starting a value)");
      }
      if (in_string_) {
        if (escape_) {
          escape_ = false;
        } else if (ch == '\\') {
          escape_ = true;
        } else if (ch == '"') {
          in_string_ = false;
        } else if (ch == '\n') {
          const std::uint64_t at = base_ + pos_;
          const std::uint64_t value_at = base_ + start_;
          ++pos_;
          start_ = pos_;
          state_ = State::kBetween;
          at_line_start_ = true;
          return Error(frame, at, "JSON framing at byte " + std::to_string(at) +
                                      ": line break inside a string (value at byte " + std::to_string(value_at) +
                                      " is truncated; resynchronised at the next line)");
        }
        ++pos_;
        continue;
      }
      switch (ch) {
        case '"':
          in_string_ = true;
          break;
        case '{':
        case '[':
          if (ch == '{' && at_line_start_ && top_object_) {
            // A new NDJSON record at column 0 while an object is open: the previous is truncated.
            const std::uint64_t value_at = base_ + start_;
            start_ = pos_;
            depth_ = 1;
            in_string_ = false;
            escape_ = false;
            at_line_start_ = false;
            ++pos_;
            return Error(frame, value_at, "JSON framing at byte " + std::to_string(value_at) +
                                              ": truncated value (a new record starts at byte " +
                                              std::to_string(base_ + pos_ - 1) + ")");
          }
          ++depth_;
          break;
        case '}':
        case ']':
          if (--depth_ == 0) {
            frame.ok = true;
            frame.error.clear();
            frame.offset = base_ + start_;
            frame.value = std::string_view(b + start_, pos_ + 1 - start_);
            ++pos_;
            start_ = pos_;
            state_ = State::kBetween;
            at_line_start_ = false;
            return true;
          }
          break;
        default:
          break;
      }
      at_line_start_ = ch == '\n';
      ++pos_;
    }
  }
  if (finished_ && state_ == State::kValue && start_ < buf_.size()) {
    const std::uint64_t at = base_ + start_;
    state_ = State::kBetween;
    start_ = pos_ = buf_.size();
    return Error(frame, at, "JSON framing at byte " + std::to_string(at) + ": unterminated value at end of input (truncated)");
  }
  return false;
}

}  // namespace medsoc::ingest
