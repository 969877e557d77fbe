// Syslog: RFC 3164 ("BSD syslog", with the deviations real senders make) and RFC 5424.
//
// RFC 3164 as accepted here (every part but MSG optional, as senders in the field omit them):
//
//   message   = [pri] [SP*] [timestamp SP] [hostname SP] [tag] msg
//   pri       = "<" 1*3DIGIT ">"                       ; 0..191
//   timestamp = bsd-time / iso-time
//   bsd-time  = MMM SP (SP DIGIT / 2DIGIT) SP hh ":" mm ":" ss ["." 1*DIGIT]
//               ; also "MMM dd yyyy hh:mm:ss" (Huawei) and "MMM dd hh:mm:ss yyyy" (H3C, Cisco)
//   iso-time  = RFC 3339 (rsyslog's RSYSLOG_ForwardFormat), zone optional
//   hostname  = a token that is not the tag (no ':' at its end, no '[')
//   tag       = app-name ["[" pid "]"] ":" [SP]        ; app-name: 1*48 of [A-Za-z0-9_./-]
// Times without a zone are read in ParseContext::tz_offset_minutes; a missing year is inferred from
// ParseContext::now (InferYear: a date more than a day ahead belongs to the previous year).
//
// RFC 5424 (strict, errors name the byte offset):
//
//   SYSLOG-MSG = HEADER SP STRUCTURED-DATA [SP MSG]
//   HEADER     = "<" PRIVAL ">" VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID
//   TIMESTAMP  = "-" / FULL-DATE "T" FULL-TIME       ; fraction up to 9 digits, "Z" or offset
//   STRUCTURED-DATA = "-" / 1*SD-ELEMENT
//   SD-ELEMENT = "[" SD-ID *(SP SD-PARAM) "]"
//   SD-PARAM   = PARAM-NAME "=" %d34 PARAM-VALUE %d34  ; '\"', '\\' and '\]' escaped
//   MSG        = [BOM] UTF-8 text / octets            ; the BOM EF BB BF is dropped
//
// Fields (ECS): log.syslog.priority, log.syslog.facility.code, log.syslog.severity.code, log.level
// (severity name), host.hostname and log.syslog.hostname, process.name and log.syslog.appname,
// process.pid (numeric PROCID / pid), event.code (MSGID), message; SD params as originals
// "sd.<SD-ID>.<PARAM-NAME>". MSG then goes through the content normalizers (normalize.h).
#pragma once

#include <optional>
#include <string_view>

#include "ingest/parse/parser.h"
#include "ingest/parse/text_common.h"

namespace medsoc::ingest::text {

struct SyslogHeader {
  int pri = -1;                       // -1: absent
  bool rfc5424 = false;
  std::optional<ParsedTime> time;
  std::string_view time_text;
  std::string_view hostname;
  std::string_view app_name;
  std::string_view procid;
  std::string_view msgid;
  std::string_view structured_data;   // RFC 5424 only; "" for NILVALUE
  std::string_view msg;               // the rest (BOM removed)
  std::size_t msg_offset = 0;         // byte offset of msg in the input
};

// Lenient RFC 3164 header scan; fails only on a malformed PRI.
Result<SyslogHeader> ParseRfc3164Header(std::string_view s, const ParseContext& ctx);
// Strict RFC 5424 header scan (PRI, version 1, every header field, structured data syntax).
Result<SyslogHeader> ParseRfc5424Header(std::string_view s, const ParseContext& ctx);
// An optional syslog header of either kind in front of a payload (CEF, LEEF, vendor kv): returns
// the header when one is present; msg is then the payload. Without one, msg is `s`.
SyslogHeader SkipSyslogHeader(std::string_view s, const ParseContext& ctx);

// Writes the header fields and the event time (when the header had one).
void ApplySyslogHeader(const SyslogHeader& h, event::Event& e);
// Writes SD params as originals "sd.<id>.<param>"; returns an Error (byte offset relative to
// `sd`) for malformed structured data.
Status ApplyStructuredData(std::string_view sd, event::Event& e);

// Detect scores (0..100) shared by the syslog parsers and by payload parsers that accept a
// syslog header in front.
int DetectRfc3164(std::string_view sample);
int DetectRfc5424(std::string_view sample);

class Rfc3164Parser final : public Parser {
 public:
  std::string_view name() const override { return "rfc3164"; }
  Status Parse(std::string_view message, const ParseContext& ctx, event::Event& event) override;
  int Detect(std::string_view sample) const override { return DetectRfc3164(sample); }
};

class Rfc5424Parser final : public Parser {
 public:
  std::string_view name() const override { return "rfc5424"; }
  Status Parse(std::string_view message, const ParseContext& ctx, event::Event& event) override;
  int Detect(std::string_view sample) const override { return DetectRfc5424(sample); }
};

// "syslog": either RFC, chosen per message (for mixed sources such as a relay).
class SyslogParser final : public Parser {
 public:
  std::string_view name() const override { return "syslog"; }
  Status Parse(std::string_view message, const ParseContext& ctx, event::Event& event) override;
  int Detect(std::string_view sample) const override;
};

}  // namespace medsoc::ingest::text
