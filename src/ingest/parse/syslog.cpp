#include "ingest/parse/syslog.h"

#include <cstring>
#include <string>

#include "ingest/parse/normalize.h"

namespace medsoc::ingest::text {
namespace {

constexpr std::string_view kSeverityNames[8] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};

Error ParseError(std::size_t offset, std::string_view what) {
  return Error(ErrorCode::kParse, std::string(what) + " at byte " + std::to_string(offset));
}

// "<N>" at the start; sets pri and returns the bytes consumed (0 when there is no '<').
Result<std::size_t> ScanPri(std::string_view s, int& pri) {
  if (s.empty() || s[0] != '<') return std::size_t{0};
  std::size_t i = 1;
  int v = 0;
  while (i < s.size() && i <= 4 && IsDigit(s[i])) v = v * 10 + (s[i++] - '0');
  if (i == 1 || i > 4 || i >= s.size() || s[i] != '>') return ParseError(i, "malformed syslog PRI");
  if (v > 191) return ParseError(1, "syslog PRI above 191");
  if (i > 2 && s[1] == '0') return ParseError(1, "syslog PRI with a leading zero");
  pri = v;
  return i + 1;
}

bool IsTagChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '_' || c == '.' || c == '/' ||
         c == '-' || c == '@';
}

// RFC 5424 header token (PRINTUSASCII, up to `max`); advances pos past the token.
Result<std::string_view> Token5424(std::string_view s, std::size_t& pos, std::size_t max, std::string_view what) {
  const std::size_t start = pos;
  while (pos < s.size() && s[pos] != ' ') {
    const auto c = static_cast<unsigned char>(s[pos]);
    if (c < 33 || c > 126) return ParseError(pos, "invalid character in " + std::string(what));
    ++pos;
  }
  if (pos == start) return ParseError(start, "empty " + std::string(what));
  if (pos - start > max) return ParseError(start, std::string(what) + " longer than " + std::to_string(max));
  if (pos >= s.size()) return ParseError(pos, "message ends after " + std::string(what));
  std::string_view tok = s.substr(start, pos - start);
  ++pos;  // SP
  return tok == "-" ? std::string_view() : tok;
}

}  // namespace

Result<SyslogHeader> ParseRfc3164Header(std::string_view s, const ParseContext& ctx) {
  SyslogHeader h;
  MEDSOC_ASSIGN_OR_RETURN(std::size_t pos, ScanPri(s, h.pri));
  while (pos < s.size() && s[pos] == ' ') ++pos;
  const core::Timestamp now = ctx.now.ns != 0 ? ctx.now : core::Now();
  std::string_view rest = s.substr(pos);
  std::optional<ParsedTime> t = ScanBsdTime(rest, ctx.tz_offset_minutes, now);
  if (!t) t = ScanIsoTime(rest, ctx.tz_offset_minutes);
  if (t) {
    h.time = t;
    h.time_text = rest.substr(0, t->length);
    pos += t->length;
    while (pos < s.size() && s[pos] == ' ') ++pos;
    if (pos < s.size() && s[pos] == ':') {  // "Mar  3 10:01:02: msg" (some Cisco gear)
      ++pos;
      while (pos < s.size() && s[pos] == ' ') ++pos;
    }
  }
  // Hostname: a token followed by a space that is not itself the tag. Only after a timestamp or
  // PRI: a bare line's first word is more likely the program or the message.
  auto token_end = [&](std::size_t from) {
    std::size_t e = from;
    while (e < s.size() && s[e] != ' ') ++e;
    return e;
  };
  if (t && pos < s.size()) {
    const std::size_t e = token_end(pos);
    std::string_view tok = s.substr(pos, e - pos);
    const bool looks_like_tag = tok.back() == ':' || tok.find('[') != std::string_view::npos;
    // "%ASA-4-..." / "%%01SEC/..." are message ids, not hosts.
    if (!looks_like_tag && e < s.size() && tok[0] != '%' && tok.size() <= 255) {
      h.hostname = tok;
      pos = e + 1;
      while (pos < s.size() && s[pos] == ' ') ++pos;
    }
  }
  // Tag: app-name ["[" pid "]"] ":".
  {
    std::size_t i = pos;
    while (i < s.size() && i - pos < 48 && IsTagChar(s[i])) ++i;
    if (i > pos && i < s.size()) {
      std::string_view app = s.substr(pos, i - pos);
      std::string_view pid;
      std::size_t j = i;
      if (s[j] == '[') {
        const std::size_t close = s.find(']', j);
        if (close != std::string_view::npos && close - j <= 21) {
          pid = s.substr(j + 1, close - j - 1);
          j = close + 1;
        } else {
          j = std::string_view::npos;
        }
      }
      // "CEF:0|..." / "LEEF:1.0|..." straight after the host is the payload, not a tag.
      const bool payload_marker = pid.empty() && (app == "CEF" || app == "LEEF");
      if (payload_marker) j = std::string_view::npos;
      if (j != std::string_view::npos && j < s.size() && s[j] == ':') {
        h.app_name = app;
        h.procid = pid;
        pos = j + 1;
        if (pos < s.size() && s[pos] == ' ') ++pos;
      } else if (j != std::string_view::npos && j == s.size() && !pid.empty()) {
        h.app_name = app;  // "prog[12]" with nothing after
        h.procid = pid;
        pos = j;
      }
    }
  }
  h.msg_offset = pos;
  h.msg = s.substr(pos);
  return h;
}

Result<SyslogHeader> ParseRfc5424Header(std::string_view s, const ParseContext& ctx) {
  SyslogHeader h;
  h.rfc5424 = true;
  MEDSOC_ASSIGN_OR_RETURN(std::size_t pos, ScanPri(s, h.pri));
  if (pos == 0) return ParseError(0, "RFC 5424 message does not start with '<PRI>'");
  if (pos >= s.size() || s[pos] != '1' || pos + 1 >= s.size() || s[pos + 1] != ' ')
    return ParseError(pos, "RFC 5424 VERSION 1 expected");
  pos += 2;
  // TIMESTAMP
  if (pos < s.size() && s[pos] == '-') {
    if (pos + 1 >= s.size() || s[pos + 1] != ' ') return ParseError(pos + 1, "space expected after NILVALUE timestamp");
    pos += 2;
  } else {
    std::string_view rest = s.substr(pos);
    auto t = ScanIsoTime(rest, ctx.tz_offset_minutes);
    if (!t || rest[10] != 'T' || !t->has_zone) return ParseError(pos, "invalid RFC 5424 TIMESTAMP");
    h.time = t;
    h.time_text = rest.substr(0, t->length);
    pos += t->length;
    if (pos >= s.size() || s[pos] != ' ') return ParseError(pos, "space expected after TIMESTAMP");
    ++pos;
  }
  MEDSOC_ASSIGN_OR_RETURN(h.hostname, Token5424(s, pos, 255, "HOSTNAME"));
  MEDSOC_ASSIGN_OR_RETURN(h.app_name, Token5424(s, pos, 48, "APP-NAME"));
  MEDSOC_ASSIGN_OR_RETURN(h.procid, Token5424(s, pos, 128, "PROCID"));
  // MSGID may end the message when STRUCTURED-DATA is missing: accept it but say so.
  {
    const std::size_t start = pos;
    MEDSOC_ASSIGN_OR_RETURN(h.msgid, Token5424(s, pos, 32, "MSGID"));
    (void)start;
  }
  // STRUCTURED-DATA
  if (pos >= s.size()) return ParseError(pos, "STRUCTURED-DATA expected");
  if (s[pos] == '-') {
    ++pos;
  } else if (s[pos] == '[') {
    const std::size_t start = pos;
    while (pos < s.size() && s[pos] == '[') {
      bool in_quotes = false;
      ++pos;
      for (; pos < s.size(); ++pos) {
        const char c = s[pos];
        if (in_quotes) {
          if (c == '\\') {
            ++pos;
          } else if (c == '"') {
            in_quotes = false;
          }
        } else if (c == '"') {
          in_quotes = true;
        } else if (c == ']') {
          break;
        }
      }
      if (pos >= s.size()) return ParseError(start, "unterminated SD-ELEMENT");
      ++pos;  // ']'
    }
    h.structured_data = s.substr(start, pos - start);
  } else {
    return ParseError(pos, "STRUCTURED-DATA must be '-' or start with '['");
  }
  if (pos < s.size()) {
    if (s[pos] != ' ') return ParseError(pos, "space expected before MSG");
    ++pos;
  }
  if (s.substr(pos, 3) == "\xEF\xBB\xBF") pos += 3;
  h.msg_offset = pos;
  h.msg = s.substr(pos);
  return h;
}

SyslogHeader SkipSyslogHeader(std::string_view s, const ParseContext& ctx) {
  if (DetectRfc5424(s) > 0) {
    auto h = ParseRfc5424Header(s, ctx);
    if (h.ok()) return *h;
  }
  if (!s.empty() && (s[0] == '<' || MonthFromAbbrev(s) != 0 || (s.size() > 4 && IsDigit(s[0]) && s[4] == '-'))) {
    auto h = ParseRfc3164Header(s, ctx);
    if (h.ok()) return *h;
  }
  SyslogHeader none;
  none.msg = s;
  return none;
}

void ApplySyslogHeader(const SyslogHeader& h, event::Event& e) {
  const Fields& f = F();
  if (h.pri >= 0) {
    e.Set(f.log_syslog_priority, event::Value::Int(h.pri));
    e.Set(f.log_syslog_facility, event::Value::Int(h.pri / 8));
    e.Set(f.log_syslog_severity, event::Value::Int(h.pri % 8));
    e.Set(f.log_level, event::Value::String(kSeverityNames[h.pri % 8]));
  }
  if (h.time) {
    e.set_time(h.time->time);
    e.set_time_text(h.time_text);
  }
  if (!h.hostname.empty()) {
    SetView(e, f.host_hostname, h.hostname);
    SetView(e, f.log_syslog_hostname, h.hostname);
  }
  if (!h.app_name.empty()) {
    SetView(e, f.process_name, h.app_name);
    SetView(e, f.log_syslog_appname, h.app_name);
  }
  if (!h.procid.empty()) SetInt(e, f.process_pid, h.procid);
  if (!h.msgid.empty()) SetView(e, f.event_code, h.msgid);
}

Status ApplyStructuredData(std::string_view sd, event::Event& e) {
  char name[event::FieldTable::kMaxNameLength];
  std::size_t pos = 0;
  while (pos < sd.size()) {
    if (sd[pos] != '[') return ParseError(pos, "'[' expected in STRUCTURED-DATA");
    ++pos;
    const std::size_t id_start = pos;
    while (pos < sd.size() && sd[pos] != ' ' && sd[pos] != ']' && sd[pos] != '=' && sd[pos] != '"') ++pos;
    if (pos == id_start) return ParseError(pos, "empty SD-ID");
    const std::string_view id = sd.substr(id_start, pos - id_start);
    while (pos < sd.size() && sd[pos] != ']') {
      if (sd[pos] != ' ') return ParseError(pos, "space expected before SD-PARAM");
      ++pos;
      const std::size_t p_start = pos;
      while (pos < sd.size() && sd[pos] != '=' && sd[pos] != ' ' && sd[pos] != ']' && sd[pos] != '"') ++pos;
      if (pos == p_start || pos >= sd.size() || sd[pos] != '=') return ParseError(p_start, "malformed SD-PARAM");
      const std::string_view param = sd.substr(p_start, pos - p_start);
      ++pos;
      if (pos >= sd.size() || sd[pos] != '"') return ParseError(pos, "'\"' expected for PARAM-VALUE");
      const std::size_t v_start = ++pos;
      while (pos < sd.size() && sd[pos] != '"') pos += sd[pos] == '\\' ? 2 : 1;
      if (pos >= sd.size()) return ParseError(v_start, "unterminated PARAM-VALUE");
      std::string_view value = sd.substr(v_start, pos - v_start);
      ++pos;  // closing quote
      // RFC 5424 6.3.3: only '"', '\' and ']' are escaped; any other backslash stays.
      if (value.find('\\') != std::string_view::npos) {
        char* out = e.arena().Allocate(value.size());
        std::size_t n = 0;
        for (std::size_t i = 0; i < value.size(); ++i) {
          if (value[i] == '\\' && i + 1 < value.size() &&
              (value[i + 1] == '"' || value[i + 1] == '\\' || value[i + 1] == ']'))
            ++i;
          out[n++] = value[i];
        }
        value = std::string_view(out, n);
      }
      const std::size_t len = 3 + id.size() + 1 + param.size();
      if (len <= sizeof(name)) {
        std::memcpy(name, "sd.", 3);
        std::memcpy(name + 3, id.data(), id.size());
        name[3 + id.size()] = '.';
        std::memcpy(name + 4 + id.size(), param.data(), param.size());
        SetOriginal(e, std::string_view(name, len), event::Value::String(value));
      }
    }
    if (pos >= sd.size()) return ParseError(pos, "unterminated SD-ELEMENT");
    ++pos;  // ']'
  }
  return Ok();
}

int DetectRfc5424(std::string_view s) {
  int pri = -1;
  auto p = ScanPri(s, pri);
  if (!p.ok() || *p == 0) return 0;
  const std::size_t pos = *p;
  if (s.size() < pos + 4 || s[pos] != '1' || s[pos + 1] != ' ') return 0;
  if (s[pos + 2] == '-' && s[pos + 3] == ' ') return 90;
  if (Digits(s, pos + 2, 4) >= 0 && s.size() > pos + 12 && s[pos + 6] == '-' && s[pos + 12] == 'T') return 97;
  return 0;
}

int DetectRfc3164(std::string_view s) {
  if (DetectRfc5424(s) > 0) return 20;
  int pri = -1;
  auto p = ScanPri(s, pri);
  if (!p.ok()) return 0;
  std::size_t pos = *p;
  while (pos < s.size() && s[pos] == ' ') ++pos;
  std::string_view rest = s.substr(pos);
  const bool has_pri = pri >= 0;
  if (ScanBsdTime(rest, 0, core::Timestamp{core::Seconds(1'700'000'000)})) return has_pri ? 90 : 70;
  if (ScanIsoTime(rest, 0)) return has_pri ? 75 : 35;
  return has_pri ? 30 : 0;
}

Status Rfc3164Parser::Parse(std::string_view message, const ParseContext& ctx, event::Event& e) {
  std::string_view s = PrepareMessage(message, ctx, e);
  if (s.empty()) return Error(ErrorCode::kParse, "empty message at byte 0");
  MEDSOC_ASSIGN_OR_RETURN(SyslogHeader h, ParseRfc3164Header(s, ctx));
  ApplySyslogHeader(h, e);
  if (!h.msg.empty()) SetView(e, F().message, h.msg);
  return NormalizeMessage(h.app_name, h.msg, h.msg_offset, ctx, e);
}

Status Rfc5424Parser::Parse(std::string_view message, const ParseContext& ctx, event::Event& e) {
  std::string_view s = PrepareMessage(message, ctx, e);
  MEDSOC_ASSIGN_OR_RETURN(SyslogHeader h, ParseRfc5424Header(s, ctx));
  ApplySyslogHeader(h, e);
  if (!h.structured_data.empty()) {
    Status st = ApplyStructuredData(h.structured_data, e);
    if (!st.ok()) {
      // Offsets in ApplyStructuredData are relative to the SD; report them in message bytes.
      const std::size_t sd_off = static_cast<std::size_t>(h.structured_data.data() - s.data());
      return Error(ErrorCode::kParse, st.error().message() + " (structured data starts at byte " +
                                          std::to_string(sd_off) + ")");
    }
  }
  if (!h.msg.empty()) SetView(e, F().message, h.msg);
  return NormalizeMessage(h.app_name, h.msg, h.msg_offset, ctx, e);
}

Status SyslogParser::Parse(std::string_view message, const ParseContext& ctx, event::Event& e) {
  if (DetectRfc5424(message) > 0) {
    Rfc5424Parser p;
    return p.Parse(message, ctx, e);
  }
  Rfc3164Parser p;
  return p.Parse(message, ctx, e);
}

int SyslogParser::Detect(std::string_view sample) const {
  // Slightly below the specific parsers so a pure source locks onto rfc3164/rfc5424.
  const int a = DetectRfc5424(sample), b = DetectRfc3164(sample);
  const int best = a > b ? a : b;
  return best > 5 ? best - 5 : 0;
}

}  // namespace medsoc::ingest::text
