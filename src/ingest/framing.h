// Framing: cutting a byte stream (a TCP/TLS syslog connection, a file, stdin) into messages.
//
// Syslog over a stream (RFC 6587, RFC 5425) comes in two framings:
//
//   octet counting        frame = MSG-LEN SP SYSLOG-MSG      MSG-LEN = NONZERO-DIGIT *DIGIT
//                         e.g. "27 <34>1 2024-03-03T10:01:02Z h"     (exactly MSG-LEN bytes follow)
//   non-transparent (LF)  frame = SYSLOG-MSG LF               (CR LF and a trailing NUL are tolerated)
//
// SyslogFramer detects the framing once per connection from the first byte that is not
// whitespace: a digit 1-9 means octet counting, anything else (normally '<' of the PRI) means LF.
// rsyslog, syslog-ng and NXLog all send one framing per connection.
//
// Limits and bad input:
//  - A message longer than max_message_bytes is cut at the limit and flagged truncated; the rest
//    of it (up to the next LF, or the remaining MSG-LEN bytes) is discarded, and framing resumes
//    at the next message, so a hostile length cannot make the framer buffer without bound.
//  - An octet-counting header that is not digits followed by a space (or more than 10 digits)
//    is a framing error: the connection falls back to LF framing from that byte on (counted in
//    framing_errors()), since a sender that breaks octet counting almost always sends lines.
//  - Empty LF frames are skipped.
//  - At end of stream, Finish() emits a pending partial message (LF: as is; octet counting:
//    flagged truncated, because fewer than MSG-LEN bytes arrived).
//
// Thread-safety: none; one framer per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace medsoc::ingest {

enum class Framing : std::uint8_t { kAuto, kLf, kOctetCounting };

struct Frame {
  std::string_view data;   // valid only during the callback
  bool truncated = false;  // cut at max_message_bytes, or cut short by the end of the stream
};

class SyslogFramer {
 public:
  explicit SyslogFramer(std::size_t max_message_bytes, Framing framing = Framing::kAuto);

  // Feeds the next bytes of the stream; calls on_frame(const Frame&) for each complete message.
  template <typename F>
  void Feed(std::string_view bytes, F&& on_frame);

  // End of stream: emits a pending partial message, if any, and resets.
  template <typename F>
  void Finish(F&& on_frame);

  // The framing in use (kAuto until the first byte decided it).
  Framing framing() const { return framing_; }
  // Bytes held for an incomplete message (bounded by max_message_bytes + 11).
  std::size_t buffered() const { return pending_.size(); }
  std::uint64_t framing_errors() const { return framing_errors_; }

 private:
  enum class State : std::uint8_t { kStart, kLength, kBody, kDiscard, kLine, kLineDiscard };
  // Processes bytes; emits via the callback. Implemented with a tiny callback adapter so the bulk
  // of the code lives in framing.cpp.
  using Emit = void (*)(void* ctx, const Frame& frame);
  void FeedImpl(std::string_view bytes, Emit emit, void* ctx);
  void FinishImpl(Emit emit, void* ctx);
  void EmitPending(Emit emit, void* ctx, bool truncated);

  std::size_t max_;
  Framing framing_;
  State state_ = State::kStart;
  std::string pending_;         // partial message (or length digits)
  std::uint64_t remaining_ = 0; // octet counting: bytes of the current message still to come
  bool cut_ = false;            // the current octet-counted message exceeds max_
  std::uint64_t framing_errors_ = 0;
};

template <typename F>
void SyslogFramer::Feed(std::string_view bytes, F&& on_frame) {
  FeedImpl(bytes, [](void* ctx, const Frame& f) { (*static_cast<std::remove_reference_t<F>*>(ctx))(f); },
           static_cast<void*>(&on_frame));
}

template <typename F>
void SyslogFramer::Finish(F&& on_frame) {
  FinishImpl([](void* ctx, const Frame& f) { (*static_cast<std::remove_reference_t<F>*>(ctx))(f); },
             static_cast<void*>(&on_frame));
}

// Strips a trailing CR and NULs (senders that end lines with CRLF or NUL).
std::string_view TrimLineEnd(std::string_view line);

// LineSplitter: LF framing for files with byte offsets, for checkpoints. Given a buffer that
// starts at stream offset `base`, yields each complete line (without LF, CR trimmed) and the
// offset just past its LF. A line longer than max_line_bytes is emitted cut (truncated) as soon as
// the limit is reached; its remainder is skipped up to the next LF.
//
// Thread-safety: none.
class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line_bytes) : max_(max_line_bytes) {}

  // Calls on_line(const Frame&, std::uint64_t end_offset) for each complete line in `bytes`
  // (which start at stream offset `offset`). Returns the number of bytes consumed; the caller
  // keeps the unconsumed tail (an incomplete line) and passes it again with more data.
  // Bytes of an over-long line's remainder are consumed (skipped) without emitting.
  template <typename F>
  std::size_t Split(std::string_view bytes, std::uint64_t offset, F&& on_line);

  void Reset() { skipping_ = false; }
  // Whether the next bytes continue an over-long line (to be skipped up to its LF).
  bool skipping() const { return skipping_; }
  void set_skipping(bool skipping) { skipping_ = skipping; }

 private:
  std::size_t max_;
  bool skipping_ = false;  // inside the remainder of an over-long line
};

template <typename F>
std::size_t LineSplitter::Split(std::string_view bytes, std::uint64_t offset, F&& on_line) {
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const std::size_t nl = bytes.find('\n', pos);
    if (skipping_) {
      if (nl == std::string_view::npos) return bytes.size();
      skipping_ = false;
      pos = nl + 1;
      continue;
    }
    const std::size_t end = nl == std::string_view::npos ? bytes.size() : nl;
    if (end - pos > max_) {
      on_line(Frame{bytes.substr(pos, max_), true}, offset + (nl == std::string_view::npos ? bytes.size() : nl + 1));
      if (nl == std::string_view::npos) {
        skipping_ = true;
        return bytes.size();
      }
      pos = nl + 1;
      continue;
    }
    if (nl == std::string_view::npos) break;  // incomplete line: leave it
    std::string_view line = TrimLineEnd(bytes.substr(pos, nl - pos));
    if (!line.empty()) on_line(Frame{line, false}, offset + nl + 1);
    pos = nl + 1;
  }
  return pos;
}

}  // namespace medsoc::ingest
