// CSV as PostgreSQL's csvlog writes it (RFC 4180): fields separated by ',', a field containing
// ',', '"' or a line break is quoted and its '"' doubled; a quoted field may span lines.
//
// CsvRecordFramer splits a byte stream into records (a record ends at a line break outside
// quotes), so that a multi-line statement stays in one message: a source reading a csvlog file
// uses it instead of line framing. Thread-safety: none (one per source).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace medsoc::ingest::json {

// Splits one record into fields. Quoted fields are unquoted; a field with doubled quotes is
// rewritten into `scratch`-backed storage handed to `copy` (which must return a stable view,
// e.g. Event::CopyString). Returns false and sets `error_at` (byte offset) on an unterminated
// quote or garbage after a closing quote.
template <typename Copy>
bool SplitCsv(std::string_view rec, std::vector<std::string_view>& out, std::string& scratch, Copy&& copy,
              std::size_t& error_at) {
  out.clear();
  std::size_t pos = 0;
  for (;;) {
    if (pos < rec.size() && rec[pos] == '"') {
      const std::size_t start = ++pos;
      bool doubled = false;
      for (;;) {
        if (pos >= rec.size()) {
          error_at = start - 1;
          return false;
        }
        if (rec[pos] == '"') {
          if (pos + 1 < rec.size() && rec[pos + 1] == '"') {
            doubled = true;
            pos += 2;
            continue;
          }
          break;
        }
        ++pos;
      }
      std::string_view body = rec.substr(start, pos - start);
      ++pos;  // closing quote
      if (doubled) {
        scratch.clear();
        for (std::size_t i = 0; i < body.size(); ++i) {
          scratch.push_back(body[i]);
          if (body[i] == '"') ++i;
        }
        body = copy(std::string_view(scratch));
      }
      out.push_back(body);
      if (pos < rec.size() && rec[pos] != ',') {
        error_at = pos;
        return false;
      }
    } else {
      const std::size_t start = pos;
      while (pos < rec.size() && rec[pos] != ',') ++pos;
      out.push_back(rec.substr(start, pos - start));
    }
    if (pos >= rec.size()) return true;
    ++pos;  // ','
    if (out.size() > 4096) {
      error_at = pos;
      return false;
    }
  }
}

class CsvRecordFramer {
 public:
  explicit CsvRecordFramer(std::size_t max_record_bytes = 1 << 20) : max_(max_record_bytes) {}
  // Appends bytes of the stream.
  void Feed(std::string_view data) { buf_.append(data); }
  // Next complete record (without its line break) or false. `truncated` is set when a record was
  // cut at max_record_bytes (the rest up to the next line break outside quotes is dropped).
  // `offset` is the stream offset of the record. The view is valid until the next Feed/Next.
  bool Next(std::string_view& record, std::uint64_t& offset, bool& truncated);
  // At end of stream: returns the last record even without a final line break.
  bool Finish(std::string_view& record, std::uint64_t& offset);

 private:
  std::string buf_;
  std::size_t consumed_ = 0;   // bytes of buf_ already returned
  std::size_t scan_ = 0;       // scan position in buf_
  bool in_quotes_ = false;
  bool skipping_ = false;      // dropping the rest of an oversized record
  std::uint64_t base_ = 0;     // stream offset of buf_[0]
  std::size_t max_;
};

}  // namespace medsoc::ingest::json
