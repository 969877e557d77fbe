// Framing of syslog streams: see framing.h for the wire formats and the limits.
#include "ingest/framing.h"

#include <algorithm>
#include <cstring>

namespace medsoc::ingest {
namespace {

constexpr std::size_t kMaxLengthDigits = 10;

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\0'; }

}  // namespace

std::string_view TrimLineEnd(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\0')) line.remove_suffix(1);
  return line;
}

SyslogFramer::SyslogFramer(std::size_t max_message_bytes, Framing framing)
    : max_(std::max<std::size_t>(1, max_message_bytes)), framing_(framing) {
  if (framing_ == Framing::kLf) state_ = State::kLine;
}

void SyslogFramer::FeedImpl(std::string_view in, Emit emit, void* ctx) {
  std::size_t pos = 0;
  const std::size_t n = in.size();
  while (pos < n) {
    switch (state_) {
      case State::kStart: {
        // Between octet-counted frames (and at the very start): skip whitespace, then decide.
        while (pos < n && IsSpace(in[pos])) ++pos;
        if (pos == n) return;
        const char c = in[pos];
        if (framing_ == Framing::kAuto) framing_ = (c >= '1' && c <= '9') ? Framing::kOctetCounting : Framing::kLf;
        if (framing_ == Framing::kLf) {
          state_ = State::kLine;
          break;
        }
        if (c < '1' || c > '9') {  // broken octet counting: fall back to lines
          ++framing_errors_;
          framing_ = Framing::kLf;
          state_ = State::kLine;
          break;
        }
        state_ = State::kLength;
        pending_.clear();
        break;
      }
      case State::kLength: {
        while (pos < n && in[pos] >= '0' && in[pos] <= '9' && pending_.size() <= kMaxLengthDigits) {
          pending_.push_back(in[pos]);
          ++pos;
        }
        if (pos == n) return;
        if (pending_.size() > kMaxLengthDigits || in[pos] != ' ') {
          // Not "digits SP": treat the digits read so far as the start of a line.
          ++framing_errors_;
          framing_ = Framing::kLf;
          state_ = State::kLine;
          break;  // pending_ keeps the digits as the line's beginning
        }
        ++pos;  // the SP
        std::uint64_t len = 0;
        for (char d : pending_) len = len * 10 + static_cast<std::uint64_t>(d - '0');
        pending_.clear();
        remaining_ = len;
        cut_ = len > max_;
        state_ = State::kBody;
        break;
      }
      case State::kBody: {
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, max_));
        const std::size_t have = pending_.size();
        const std::size_t avail = n - pos;
        if (have == 0 && avail >= want) {
          // The whole (kept part of the) message is in this chunk: emit without copying.
          emit(ctx, Frame{TrimLineEnd(in.substr(pos, want)), cut_});
          pos += want;
        } else {
          const std::size_t take = std::min(avail, want - have);
          pending_.append(in.data() + pos, take);
          pos += take;
          if (pending_.size() < want) return;
          emit(ctx, Frame{TrimLineEnd(pending_), cut_});
          pending_.clear();
        }
        remaining_ -= want;
        state_ = remaining_ > 0 ? State::kDiscard : State::kStart;
        break;
      }
      case State::kDiscard: {
        const std::size_t skip = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, n - pos));
        pos += skip;
        remaining_ -= skip;
        if (remaining_ == 0) state_ = State::kStart;
        break;
      }
      case State::kLine: {
        const char* nl = static_cast<const char*>(std::memchr(in.data() + pos, '\n', n - pos));
        const std::size_t end = nl ? static_cast<std::size_t>(nl - in.data()) : n;
        const std::size_t room = max_ - std::min(max_, pending_.size());
        if (end - pos > room) {
          // Over-long line: emit the first max_ bytes, discard the rest of the line.
          if (pending_.empty()) {
            emit(ctx, Frame{in.substr(pos, max_), true});
          } else {
            pending_.append(in.data() + pos, room);
            emit(ctx, Frame{std::string_view(pending_).substr(0, max_), true});
            pending_.clear();
          }
          if (nl) {
            pos = end + 1;
          } else {
            pos = n;
            state_ = State::kLineDiscard;
          }
          break;
        }
        if (!nl) {
          pending_.append(in.data() + pos, end - pos);
          return;
        }
        if (pending_.empty()) {
          std::string_view line = TrimLineEnd(in.substr(pos, end - pos));
          if (!line.empty()) emit(ctx, Frame{line, false});
        } else {
          pending_.append(in.data() + pos, end - pos);
          EmitPending(emit, ctx, false);
        }
        pos = end + 1;
        break;
      }
      case State::kLineDiscard: {
        const char* nl = static_cast<const char*>(std::memchr(in.data() + pos, '\n', n - pos));
        if (!nl) return;
        pos = static_cast<std::size_t>(nl - in.data()) + 1;
        state_ = State::kLine;
        break;
      }
    }
  }
}

// Emits pending_ as one line (cut at max_: the digits of a broken octet-counting header can make
// it longer than a small limit) and clears it.
void SyslogFramer::EmitPending(Emit emit, void* ctx, bool truncated) {
  std::string_view line = TrimLineEnd(pending_);
  if (line.size() > max_) {
    line = line.substr(0, max_);
    truncated = true;
  }
  if (!line.empty()) emit(ctx, Frame{line, truncated});
  pending_.clear();
}

void SyslogFramer::FinishImpl(Emit emit, void* ctx) {
  if (state_ == State::kBody && !pending_.empty()) {
    emit(ctx, Frame{TrimLineEnd(pending_), true});
  } else if (state_ == State::kLine && !pending_.empty()) {
    EmitPending(emit, ctx, false);
  } else if (state_ == State::kLength && !pending_.empty()) {
    EmitPending(emit, ctx, true);  // a dangling length: keep the bytes, flagged
  }
  pending_.clear();
  remaining_ = 0;
  cut_ = false;
  state_ = framing_ == Framing::kLf ? State::kLine : State::kStart;
}

}  // namespace medsoc::ingest
