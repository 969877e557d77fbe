// Web server access logs in text form.
//
// NCSA common / combined ("access_log"; Apache and nginx defaults):
//   common:   %h %l %u %t "%r" %>s %b
//   combined: %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"
//   e.g. 10.1.2.3 - alice [10/Oct/2024:13:55:36 +0800] "GET /his/login?x=1 HTTP/1.1" 200 2326 "-" "Mozilla/5.0"
// Optional extra fields after the user agent are kept as originals extra1, extra2, ...; a bare
// decimal with a fraction among them (nginx $request_time, e.g. 0.004) sets event.duration.
// An Apache vhost prefix ("www.example.com:443 10.1.2.3 - - [...]") is recognised.
// Quoted fields honour backslash escapes as both servers write them: nginx \xHH, Apache \" \\ and
// \xHH; "-" is an absent field.
//
// IIS W3C extended ("iis_w3c"): lines beginning with '#' are directives; "#Fields: date time
// s-ip cs-method cs-uri-stem ..." names the space-separated columns of the following lines. The
// parser instance keeps the last #Fields list it saw, so ONE SOURCE MUST BE PARSED BY ONE
// INSTANCE, IN ORDER (the pipeline routes a source's lines to one worker). Before any #Fields the
// IIS default column list is assumed when the column count matches it. "-" is an empty field; '+'
// stands for a space in cs(User-Agent) and cs(Referer) (the original keeps '+', user_agent.original
// has spaces). date and time are UTC. A directive line yields an event with
// event.action "log-directive" (the pipeline may drop those).
#include <array>
#include <string>
#include <vector>

#include "ingest/parse/json/common.h"
#include "ingest/parse/json/parsers.h"
#include "ingest/parse/json/web_common.h"

namespace medsoc::ingest::json {

namespace {

using event::Value;

std::string ErrAt(std::size_t at, std::string_view what) {
  return "at byte " + std::to_string(at) + ": " + std::string(what);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads a quoted field at s[pos] == '"'; returns its (unescaped) text, anchored in the event.
bool ReadQuoted(std::string_view s, std::size_t& pos, event::Event& e, std::string_view& out, std::string& scratch) {
  const std::size_t start = ++pos;
  bool escaped = false;
  while (pos < s.size() && s[pos] != '"') {
    if (s[pos] == '\\' && pos + 1 < s.size()) {
      escaped = true;
      pos += 2;
      continue;
    }
    ++pos;
  }
  if (pos >= s.size()) return false;
  std::string_view body = s.substr(start, pos - start);
  ++pos;
  if (!escaped) {
    out = body;
    return true;
  }
  scratch.clear();
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 >= body.size()) {
      scratch.push_back(body[i]);
      continue;
    }
    const char c = body[i + 1];
    if (c == 'x' && i + 3 < body.size() && HexDigit(body[i + 2]) >= 0 && HexDigit(body[i + 3]) >= 0) {
      scratch.push_back(static_cast<char>(HexDigit(body[i + 2]) * 16 + HexDigit(body[i + 3])));
      i += 3;
    } else if (c == '"' || c == '\\') {
      scratch.push_back(c);
      ++i;
    } else if (c == 'n') {
      scratch.push_back('\n');
      ++i;
    } else if (c == 't') {
      scratch.push_back('\t');
      ++i;
    } else {
      scratch.push_back('\\');
    }
  }
  out = e.CopyString(scratch);
  return true;
}

std::string_view Token(std::string_view s, std::size_t& pos) {
  const std::size_t start = pos;
  while (pos < s.size() && s[pos] != ' ') ++pos;
  return s.substr(start, pos - start);
}

void SkipSpaces(std::string_view s, std::size_t& pos) {
  while (pos < s.size() && s[pos] == ' ') ++pos;
}

bool LooksLikeHostPort(std::string_view t) {
  const auto c = t.rfind(':');
  if (c == std::string_view::npos || c + 1 >= t.size()) return false;
  for (std::size_t i = c + 1; i < t.size(); ++i)
    if (t[i] < '0' || t[i] > '9') return false;
  return t.find(':') == c;  // exactly one colon: not an IPv6 address
}

bool IsFractional(std::string_view t) {
  const auto dot = t.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 >= t.size()) return false;
  for (std::size_t i = 0; i < t.size(); ++i)
    if (i != dot && (t[i] < '0' || t[i] > '9')) return false;
  return true;
}

class AccessLogParser final : public Parser {
 public:
  std::string_view name() const override { return "access_log"; }

  int Detect(std::string_view s) const override {
    const auto lb = s.find(" [");
    if (lb == std::string_view::npos || lb > 300) return 0;
    const auto rb = s.find("] \"", lb);
    if (rb == std::string_view::npos || rb - lb < 22 || rb - lb > 40) return 0;
    if (s[lb + 4] != '/' || s[lb + 8] != '/' || s[lb + 13] != ':') return 0;
    const auto close = s.find("\" ", rb + 3);
    if (close == std::string_view::npos) return 50;
    std::size_t p = close + 2;
    return (p + 3 <= s.size() && s[p] >= '1' && s[p] <= '5') ? 93 : 60;
  }

  Status Parse(std::string_view message, const ParseContext& ctx, event::Event& e) override {
    MEDSOC_TRY(CheckSize(message, ctx));
    const std::string_view s = Anchor(Trim(message), e);
    WebRecord w;
    std::size_t pos = 0;
    std::string_view t1 = Token(s, pos);
    SkipSpaces(s, pos);
    std::string_view vhost;
    if (LooksLikeHostPort(t1) && pos < s.size() && s[pos] != '-' && s.find(" [") != std::string_view::npos) {
      // "%v:%p %h %l %u %t ..." when the next token is followed by the ident/user pair.
      std::size_t probe = pos;
      Token(s, probe);
      SkipSpaces(s, probe);
      if (probe < s.size() && s[probe] != '[') {
        vhost = t1;
        t1 = Token(s, pos);
        SkipSpaces(s, pos);
      }
    }
    w.client = t1;
    if (w.client.empty()) return Error(ErrorCode::kParse, ErrAt(0, "expected the client address"));
    Token(s, pos);  // ident (%l), practically always "-"
    SkipSpaces(s, pos);
    const std::size_t user_start = pos;
    const std::size_t lb = s.find(" [", pos > 0 ? pos - 1 : 0);
    if (lb == std::string_view::npos) return Error(ErrorCode::kParse, ErrAt(pos, "expected '[' before the time"));
    w.user = Trim(s.substr(user_start, lb >= user_start ? lb - user_start : 0));
    pos = lb + 2;
    const std::size_t rb = s.find(']', pos);
    if (rb == std::string_view::npos) return Error(ErrorCode::kParse, ErrAt(pos, "unterminated [time]"));
    w.time = s.substr(pos, rb - pos);
    if (!SetTimeFrom(e, w.time, ctx)) return Error(ErrorCode::kParse, ErrAt(pos, "time is not dd/Mon/yyyy:HH:MM:SS zone"));
    pos = rb + 1;
    SkipSpaces(s, pos);
    if (pos >= s.size() || s[pos] != '"') return Error(ErrorCode::kParse, ErrAt(pos, "expected the quoted request line"));
    if (!ReadQuoted(s, pos, e, w.request, scratch_))
      return Error(ErrorCode::kParse, ErrAt(pos, "unterminated request line"));
    SkipSpaces(s, pos);
    const std::size_t status_at = pos;
    w.status = Token(s, pos);
    if (w.status.size() != 3 || !ToInt(w.status))
      return Error(ErrorCode::kParse, ErrAt(status_at, "expected a 3-digit status"));
    SkipSpaces(s, pos);
    w.bytes = Token(s, pos);
    SkipSpaces(s, pos);
    // Optional: "referer" "agent" and extras.
    int quoted = 0, extra = 0;
    while (pos < s.size()) {
      std::string_view v;
      const std::size_t at = pos;
      if (s[pos] == '"') {
        if (!ReadQuoted(s, pos, e, v, scratch_)) return Error(ErrorCode::kParse, ErrAt(at, "unterminated quoted field"));
        ++quoted;
        if (quoted == 1 && extra == 0) {
          w.referer = v;
        } else if (quoted == 2 && extra == 0) {
          w.agent = v;
        } else {
          AddExtra(e, ++extra, v);
        }
      } else {
        v = Token(s, pos);
        if (IsFractional(v) && w.duration_s.empty()) w.duration_s = v;
        AddExtra(e, ++extra, v);
      }
      SkipSpaces(s, pos);
    }
    if (!vhost.empty()) w.host = vhost.substr(0, vhost.rfind(':'));
    ApplyWebRecord(w, e);
    if (Present(w.request)) SetOrig(e, "request", w.request);
    return Ok();
  }

 private:
  static bool Present(std::string_view s) { return !s.empty() && s != "-"; }
  void SetOrig(event::Event& e, std::string_view name, std::string_view v) {
    const event::FieldId id = names_.Get(name);
    if (id.valid()) e.Set(id, Value::String(v), event::FieldSpace::kOriginal);
  }
  void AddExtra(event::Event& e, int n, std::string_view v) {
    if (!Present(v) || n > 16) return;
    static constexpr std::array<std::string_view, 16> kNames = {
        "extra1", "extra2", "extra3", "extra4", "extra5", "extra6", "extra7", "extra8",
        "extra9", "extra10", "extra11", "extra12", "extra13", "extra14", "extra15", "extra16"};
    SetOrig(e, kNames[static_cast<std::size_t>(n - 1)], v);
  }
  NameCache names_;
  std::string scratch_;
};

// ---- W3C -----------------------------------------------------------------------------------

enum class W3cCol : std::uint8_t {
  kOther, kDate, kTime, kClientIp, kUser, kMethod, kStem, kQuery, kStatus, kScBytes, kAgent, kReferer, kHost,
  kTimeTaken, kServerIp, kServerPort, kVersion
};

W3cCol Classify(std::string_view n) {
  static const std::pair<std::string_view, W3cCol> kTable[] = {
      {"date", W3cCol::kDate}, {"time", W3cCol::kTime}, {"c-ip", W3cCol::kClientIp},
      {"cs-username", W3cCol::kUser}, {"cs-method", W3cCol::kMethod}, {"cs-uri-stem", W3cCol::kStem},
      {"cs-uri-query", W3cCol::kQuery}, {"sc-status", W3cCol::kStatus}, {"sc-bytes", W3cCol::kScBytes},
      {"cs(User-Agent)", W3cCol::kAgent}, {"cs(Referer)", W3cCol::kReferer}, {"cs-host", W3cCol::kHost},
      {"time-taken", W3cCol::kTimeTaken}, {"s-ip", W3cCol::kServerIp}, {"s-port", W3cCol::kServerPort},
      {"cs-version", W3cCol::kVersion}};
  for (const auto& [k, v] : kTable)
    if (k == n) return v;
  return W3cCol::kOther;
}

class W3cParser final : public Parser {
 public:
  W3cParser() {
    SetFields("date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) "
              "cs(Referer) sc-status sc-substatus sc-win32-status time-taken");
    explicit_fields_ = false;
  }
  std::string_view name() const override { return "iis_w3c"; }

  int Detect(std::string_view s) const override {
    if (s.substr(0, 9) == "#Fields: ") return 98;
    if (s.substr(0, 10) == "#Software:" || s.substr(0, 9) == "#Version:" || s.substr(0, 6) == "#Date:") return 90;
    // A data line: "yyyy-mm-dd hh:mm:ss " followed by space-separated columns without quotes.
    if (s.size() > 40 && s[4] == '-' && s[7] == '-' && s[10] == ' ' && s[13] == ':' && s[16] == ':' && s[19] == ' ' &&
        s.find('"') == std::string_view::npos) {
      int spaces = 0;
      for (char c : s) spaces += c == ' ';
      return spaces >= 8 ? 75 : 0;
    }
    return 0;
  }

  Status Parse(std::string_view message, const ParseContext& ctx, event::Event& e) override {
    MEDSOC_TRY(CheckSize(message, ctx));
    const std::string_view s = Anchor(Trim(message), e);
    if (s.empty()) return Error(ErrorCode::kParse, ErrAt(0, "empty line"));
    if (s[0] == '#') {
      if (s.substr(0, 8) == "#Fields:") {
        SetFields(s.substr(8));
        explicit_fields_ = true;
      }
      e.Set(F().event_kind, Value::String("event"));
      e.Set(F().event_action, Value::String("log-directive"));
      e.Set(F().message, Value::String(s));
      return Ok();
    }
    // Split the columns.
    cols_.clear();
    std::size_t pos = 0;
    while (pos < s.size()) {
      const std::size_t start = pos;
      while (pos < s.size() && s[pos] != ' ' && s[pos] != '\t') ++pos;
      cols_.push_back(s.substr(start, pos - start));
      while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t')) ++pos;
    }
    if (cols_.size() != names_.size()) {
      if (!explicit_fields_ && cols_.size() + 1 == names_.size()) {
        // IIS default without cs(Referer) (IIS < 8.5).
        SetFields("date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) "
                  "sc-status sc-substatus sc-win32-status time-taken");
      } else {
        return Error(ErrorCode::kParse, ErrAt(0, "line has " + std::to_string(cols_.size()) + " columns but #Fields names " +
                                                     std::to_string(names_.size()) +
                                                     (explicit_fields_ ? "" : " (no #Fields directive seen yet)")));
      }
    }
    WebRecord w;
    std::string_view date, time;
    for (std::size_t i = 0; i < cols_.size(); ++i) {
      std::string_view v = cols_[i];
      if (v == "-") continue;
      if (ids_[i].valid()) e.Set(ids_[i], Value::String(v), event::FieldSpace::kOriginal);
      switch (kinds_[i]) {
        case W3cCol::kDate: date = v; break;
        case W3cCol::kTime: time = v; break;
        case W3cCol::kClientIp: w.client = v; break;
        case W3cCol::kUser: w.user = v; break;
        case W3cCol::kMethod: w.method = v; break;
        case W3cCol::kStem: w.uri = v; break;
        case W3cCol::kQuery: w.query = v; break;
        case W3cCol::kStatus: w.status = v; break;
        case W3cCol::kAgent: w.agent = Plus(e, v); break;
        case W3cCol::kReferer: w.referer = v; break;
        case W3cCol::kHost: w.host = v; break;
        case W3cCol::kTimeTaken: w.duration_ms = v; break;
        case W3cCol::kVersion: w.protocol = v; break;
        case W3cCol::kScBytes:
          if (auto n = ToInt(v)) e.Set(F().http_response_bytes, Value::Int(*n));
          break;
        case W3cCol::kServerIp: SetIp(e, F().destination_ip, Value::String(v)); break;
        case W3cCol::kServerPort:
          if (auto n = ToInt(v)) e.Set(F().destination_port, Value::Int(*n));
          break;
        case W3cCol::kOther: break;
      }
    }
    if (!date.empty() && !time.empty()) {
      dt_.assign(date);
      dt_ += ' ';
      dt_ += time;
      if (auto t = ParseTime(dt_, 0)) {
        e.set_time(*t);
        e.set_time_text(dt_);
      }
    }
    if (!e.Has(F().event_dataset)) e.Set(F().event_dataset, Value::String("iis.access"));
    ApplyWebRecord(w, e);
    return Ok();
  }

 private:
  // '+' stands for a space in IIS user agents.
  static std::string_view Plus(event::Event& e, std::string_view v) {
    if (v.find('+') == std::string_view::npos) return v;
    char* p = e.arena().Allocate(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) p[i] = v[i] == '+' ? ' ' : v[i];
    return std::string_view(p, v.size());
  }
  void SetFields(std::string_view list) {
    names_.clear();
    ids_.clear();
    kinds_.clear();
    std::size_t pos = 0;
    while (pos < list.size()) {
      while (pos < list.size() && (list[pos] == ' ' || list[pos] == '\t')) ++pos;
      const std::size_t start = pos;
      while (pos < list.size() && list[pos] != ' ' && list[pos] != '\t') ++pos;
      if (pos > start && names_.size() < 256) {
        names_.emplace_back(list.substr(start, pos - start));
        ids_.push_back(cache_.Get(names_.back()));
        kinds_.push_back(Classify(names_.back()));
      }
    }
  }
  std::vector<std::string> names_;
  std::vector<event::FieldId> ids_;
  std::vector<W3cCol> kinds_;
  std::vector<std::string_view> cols_;
  bool explicit_fields_ = false;
  std::string dt_;
  NameCache cache_;
};

}  // namespace

std::unique_ptr<Parser> MakeAccessLogParser() { return std::make_unique<AccessLogParser>(); }
std::unique_ptr<Parser> MakeW3cParser() { return std::make_unique<W3cParser>(); }

}  // namespace medsoc::ingest::json
