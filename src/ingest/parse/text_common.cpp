#include "ingest/parse/text_common.h"

#include <cstring>
#include <string>

#include "event/field.h"

namespace medsoc::ingest::text {
namespace {

event::FieldId Id(const char* name) {
  auto r = event::DefaultFieldTable().Intern(name);
  MEDSOC_ASSERT(r.ok());
  return *r;
}

Fields MakeFields() {
  Fields f;
  f.message = Id("message");
  f.tags = Id("tags");
  f.event_kind = Id("event.kind");
  f.event_category = Id("event.category");
  f.event_type = Id("event.type");
  f.event_action = Id("event.action");
  f.event_outcome = Id("event.outcome");
  f.event_code = Id("event.code");
  f.event_id = Id("event.id");
  f.event_provider = Id("event.provider");
  f.event_dataset = Id("event.dataset");
  f.event_module = Id("event.module");
  f.event_severity = Id("event.severity");
  f.event_reason = Id("event.reason");
  f.event_start = Id("event.start");
  f.event_end = Id("event.end");
  f.event_duration = Id("event.duration");
  f.host_hostname = Id("host.hostname");
  f.host_name = Id("host.name");
  f.host_ip = Id("host.ip");
  f.source_ip = Id("source.ip");
  f.source_port = Id("source.port");
  f.source_address = Id("source.address");
  f.source_domain = Id("source.domain");
  f.source_mac = Id("source.mac");
  f.source_bytes = Id("source.bytes");
  f.source_nat_ip = Id("source.nat.ip");
  f.destination_ip = Id("destination.ip");
  f.destination_port = Id("destination.port");
  f.destination_address = Id("destination.address");
  f.destination_domain = Id("destination.domain");
  f.destination_mac = Id("destination.mac");
  f.destination_bytes = Id("destination.bytes");
  f.destination_nat_ip = Id("destination.nat.ip");
  f.user_name = Id("user.name");
  f.user_id = Id("user.id");
  f.user_domain = Id("user.domain");
  f.user_target_name = Id("user.target.name");
  f.user_effective_name = Id("user.effective.name");
  f.process_name = Id("process.name");
  f.process_executable = Id("process.executable");
  f.process_command_line = Id("process.command_line");
  f.process_args = Id("process.args");
  f.process_pid = Id("process.pid");
  f.process_working_directory = Id("process.working_directory");
  f.process_parent_pid = Id("process.parent.pid");
  f.network_transport = Id("network.transport");
  f.network_protocol = Id("network.protocol");
  f.network_bytes = Id("network.bytes");
  f.network_packets = Id("network.packets");
  f.network_application = Id("network.application");
  f.network_direction = Id("network.direction");
  f.url_original = Id("url.original");
  f.http_request_method = Id("http.request.method");
  f.user_agent_original = Id("user_agent.original");
  f.file_path = Id("file.path");
  f.file_name = Id("file.name");
  f.file_size = Id("file.size");
  f.rule_id = Id("rule.id");
  f.rule_name = Id("rule.name");
  f.rule_category = Id("rule.category");
  f.observer_name = Id("observer.name");
  f.observer_hostname = Id("observer.hostname");
  f.observer_ip = Id("observer.ip");
  f.observer_vendor = Id("observer.vendor");
  f.observer_product = Id("observer.product");
  f.observer_type = Id("observer.type");
  f.observer_version = Id("observer.version");
  f.observer_ingress_interface = Id("observer.ingress.interface.name");
  f.log_level = Id("log.level");
  f.log_syslog_facility = Id("log.syslog.facility.code");
  f.log_syslog_severity = Id("log.syslog.severity.code");
  f.log_syslog_appname = Id("log.syslog.appname");
  f.log_syslog_hostname = Id("log.syslog.hostname");
  f.group_name = Id("group.name");
  f.error_message = Id("error.message");
  f.related_ip = Id("related.ip");
  f.related_user = Id("related.user");
  f.related_hosts = Id("related.hosts");
  f.log_syslog_priority = Id("log.syslog.priority");
  f.log_flags = Id("log.flags");
  f.observer_egress_interface = Id("observer.egress.interface.name");
  f.source_user_name = Id("source.user.name");
  f.destination_user_name = Id("destination.user.name");
  f.source_nat_port = Id("source.nat.port");
  f.destination_nat_port = Id("destination.nat.port");
  f.source_packets = Id("source.packets");
  f.destination_packets = Id("destination.packets");
  f.user_audit_id = Id("user.audit.id");
  f.user_effective_id = Id("user.effective.id");
  f.process_title = Id("process.title");
  f.auditd_message_type = Id("auditd.message_type");
  return f;
}

bool InStorage(std::string_view s, std::string_view raw) {
  // Pointer comparison through uintptr_t: views of unrelated buffers are not ordered otherwise.
  const auto b = reinterpret_cast<std::uintptr_t>(raw.data());
  const auto p = reinterpret_cast<std::uintptr_t>(s.data());
  return !raw.empty() && p >= b && p + s.size() <= b + raw.size();
}

// Length of the longest prefix of `s` (at most `limit` bytes) that does not end inside a UTF-8
// sequence.
std::size_t Utf8Cut(std::string_view s, std::size_t limit) {
  std::size_t cut = limit;
  int back = 0;
  while (cut > 0 && back < 3 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) {
    --cut;
    ++back;
  }
  return (back == 3 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) ? limit : cut;
}

}  // namespace

const Fields& F() {
  static const Fields fields = MakeFields();
  return fields;
}

void AppendSlug(std::string& out, std::string_view s, std::size_t max) {
  const std::size_t start = out.size();
  bool gap = false;
  for (char c : s) {
    const char l = ToLower(c);
    const bool keep = (l >= 'a' && l <= 'z') || IsDigit(l);
    if (!keep) {
      gap = out.size() > start;
      continue;
    }
    if (gap && out.size() - start < max) out.push_back('_');
    gap = false;
    if (out.size() - start >= max) break;
    out.push_back(l);
  }
}

void SetDatasetSlug(event::Event& e, std::string_view a, std::string_view b) {
  const Fields& f = F();
  if (e.Has(f.event_dataset)) return;
  std::string s;
  s.reserve(100);
  AppendSlug(s, a);
  const std::size_t first = s.size();
  if (first == 0) return;
  s.push_back('.');
  AppendSlug(s, b);
  if (s.size() == first + 1) return;
  e.SetString(f.event_dataset, s);
}

void AddFlag(event::Event& e, std::string_view flag) {
  const auto id = F().log_flags;
  for (event::FieldView f : e.fields())
    if (f.id == id && f.space == event::FieldSpace::kNormalized && f.value.is_string() && f.value.str() == flag)
      return;
  e.Append(id, event::Value::String(flag));
}

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    // ASCII fast path, eight bytes at a time.
    if (i + 8 <= n) {
      std::uint64_t w;
      std::memcpy(&w, p + i, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (i + static_cast<std::size_t>(len) > n) return false;
    if (p[i + 1] < lo || p[i + 1] > hi) return false;
    for (int k = 2; k < len; ++k)
      if ((p[i + k] & 0xC0) != 0x80) return false;
    i += static_cast<std::size_t>(len);
  }
  return true;
}

std::string_view PrepareMessage(std::string_view message, const ParseContext& ctx, event::Event& e) {
  if (!InStorage(message, e.raw())) message = e.CopyString(message);
  if (ctx.max_message_bytes > 0 && message.size() > ctx.max_message_bytes) {
    const std::size_t cut = Utf8Cut(message, ctx.max_message_bytes);
    if (message.data() == e.raw().data() && e.raw().size() > ctx.max_message_bytes) {
      e.set_raw(message.substr(0, cut));
      message = e.raw();
    } else {
      message = message.substr(0, cut);
    }
    AddFlag(e, kFlagTruncated);
  }
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r' || message.back() == '\0'))
    message.remove_suffix(1);
  if (!IsValidUtf8(message)) AddFlag(e, kFlagInvalidUtf8);
  for (char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      AddFlag(e, kFlagBinary);
      break;
    }
  }
  return message;
}

Error ParseErrorAt(std::size_t offset, std::string_view what) {
  return Error(ErrorCode::kParse, std::string(what) + " at byte " + std::to_string(offset));
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ToLower(a[i]) != ToLower(b[i])) return false;
  return true;
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (IsSpace(s.front()) || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (IsSpace(s.back()) || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

std::optional<std::int64_t> ParseInt(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  bool neg = false;
  std::size_t i = 0;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    i = 1;
    if (s.size() == 1) return std::nullopt;
  }
  std::uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (!IsDigit(s[i])) return std::nullopt;
    const std::uint64_t d = static_cast<std::uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  if (!neg && v > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  if (neg && v > static_cast<std::uint64_t>(INT64_MAX) + 1) return std::nullopt;
  return neg ? static_cast<std::int64_t>(0 - v) : static_cast<std::int64_t>(v);
}

int Digits(std::string_view s, std::size_t pos, int n) {
  if (pos + static_cast<std::size_t>(n) > s.size()) return -1;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    const char c = s[pos + static_cast<std::size_t>(i)];
    if (!IsDigit(c)) return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

bool SetInt(event::Event& e, event::FieldId id, std::string_view s) {
  auto v = ParseInt(Trim(s));
  if (!v) return false;
  e.Set(id, event::Value::Int(*v));
  return true;
}

bool SetIp(event::Event& e, event::FieldId id, std::string_view s, bool related) {
  auto ip = event::IpAddress::Parse(Trim(s));
  if (!ip) return false;
  e.Set(id, event::Value::Ip(*ip));
  if (related) {
    const auto rid = F().related_ip;
    for (event::FieldView f : e.fields())
      if (f.id == rid && f.space == event::FieldSpace::kNormalized && f.value.kind() == event::ValueKind::kIp &&
          f.value.ip().SameAddress(*ip))
        return true;
    e.Append(rid, event::Value::Ip(*ip));
  }
  return true;
}

void AddRelatedUser(event::Event& e, std::string_view s) {
  if (s.empty() || s == "-" || s == "?" || s == "(null)") return;
  const auto rid = F().related_user;
  for (event::FieldView f : e.fields())
    if (f.id == rid && f.space == event::FieldSpace::kNormalized && f.value.is_string() && f.value.str() == s)
      return;
  e.Append(rid, event::Value::String(s));
}

bool SetOriginal(event::Event& e, std::string_view key, event::Value value) {
  auto id = event::DefaultFieldTable().Find(key);
  if (!id.valid()) {
    auto r = event::DefaultFieldTable().Intern(key);
    if (!r.ok()) return false;
    id = *r;
  }
  e.Set(id, value, event::FieldSpace::kOriginal);
  return true;
}

// ---- Time ----------------------------------------------------------------------------------------

core::Timestamp CivilToUtc(std::int64_t year, int month, int day, int hour, int minute, int second,
                           std::int64_t nanos, int offset_minutes) {
  const std::int64_t days =
      core::DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return core::Timestamp{secs * core::kNanosPerSecond + nanos};
}

std::optional<core::Timestamp> EpochToTime(std::int64_t v, std::int64_t unit_ns) {
  if (v < 0 || unit_ns <= 0 || v > INT64_MAX / unit_ns) return std::nullopt;
  return core::Timestamp{v * unit_ns};
}

std::optional<core::Timestamp> EpochSecondsOrMillis(std::string_view digits) {
  auto v = ParseInt(digits);
  if (!v) return std::nullopt;
  return EpochToTime(*v, digits.size() >= 12 ? 1'000'000 : core::kNanosPerSecond);
}

int MonthFromAbbrev(std::string_view s) {
  static constexpr const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                            "jul", "aug", "sep", "oct", "nov", "dec"};
  if (s.size() < 3) return 0;
  const char a = ToLower(s[0]), b = ToLower(s[1]), c = ToLower(s[2]);
  for (int i = 0; i < 12; ++i)
    if (kMonths[i][0] == a && kMonths[i][1] == b && kMonths[i][2] == c) return i + 1;
  return 0;
}

std::int64_t InferYear(int month, int day, core::Timestamp now, int offset_minutes) {
  const std::int64_t local_days =
      (now.seconds() + offset_minutes * 60) >= 0 ? (now.seconds() + offset_minutes * 60) / 86400
                                                 : -((-(now.seconds() + offset_minutes * 60) + 86399) / 86400);
  std::int64_t y;
  unsigned m, d;
  core::CivilFromDays(local_days, y, m, d);
  // A date more than a day ahead of today belongs to last year (clock skew of a few hours is normal).
  const std::int64_t candidate = core::DaysFromCivil(y, static_cast<unsigned>(month), static_cast<unsigned>(day));
  if (candidate > local_days + 1) return y - 1;
  return y;
}

namespace {

bool ValidCivil(std::int64_t y, int mo, int d, int h, int mi, int s) {
  if (y < 1970 || y > 2261 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return false;
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (d > kDays[mo - 1]) return false;
  if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return false;
  return true;
}

// ".123456" at s[pos...]: nanoseconds; advances pos. Accepts ',' as ISO 8601 allows.
std::int64_t ScanFraction(std::string_view s, std::size_t& pos) {
  if (pos >= s.size() || (s[pos] != '.' && s[pos] != ',') || pos + 1 >= s.size() || !IsDigit(s[pos + 1])) return 0;
  ++pos;
  std::int64_t ns = 0;
  int digits = 0;
  while (pos < s.size() && IsDigit(s[pos])) {
    if (digits < 9) {
      ns = ns * 10 + (s[pos] - '0');
      ++digits;
    }
    ++pos;
  }
  for (; digits < 9; ++digits) ns *= 10;
  return ns;
}

// One or two digits at s[pos...]; advances pos. -1 when none.
int OneOrTwo(std::string_view s, std::size_t& pos) {
  if (pos >= s.size() || !IsDigit(s[pos])) return -1;
  int v = s[pos++] - '0';
  if (pos < s.size() && IsDigit(s[pos])) v = v * 10 + (s[pos++] - '0');
  return v;
}

// "hh:mm:ss" at s[pos...]; advances pos.
bool ScanClock(std::string_view s, std::size_t& pos, int& h, int& mi, int& sec) {
  h = OneOrTwo(s, pos);
  if (h < 0 || pos >= s.size() || s[pos] != ':') return false;
  ++pos;
  mi = Digits(s, pos, 2);
  if (mi < 0 || pos + 2 >= s.size() + 0 || s.size() < pos + 5 || s[pos + 2] != ':') return false;
  sec = Digits(s, pos + 3, 2);
  if (sec < 0) return false;
  pos += 5;
  return true;
}

}  // namespace

std::optional<ParsedTime> ScanIsoTime(std::string_view s, int default_offset_minutes) {
  const int y = Digits(s, 0, 4);
  if (y < 0 || s.size() < 10 || (s[4] != '-' && s[4] != '/')) return std::nullopt;
  const char dsep = s[4];
  std::size_t pos = 5;
  const int mo = OneOrTwo(s, pos);
  if (mo < 0 || pos >= s.size() || s[pos] != dsep) return std::nullopt;
  ++pos;
  const int d = OneOrTwo(s, pos);
  if (d < 0 || pos >= s.size() || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ')) return std::nullopt;
  ++pos;
  int h, mi, sec;
  if (!ScanClock(s, pos, h, mi, sec)) return std::nullopt;
  if (!ValidCivil(y, mo, d, h, mi, sec)) return std::nullopt;
  const std::int64_t ns = ScanFraction(s, pos);
  ParsedTime out;
  int offset = default_offset_minutes;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    offset = 0;
    out.has_zone = true;
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    const int oh = Digits(s, pos + 1, 2);
    int om = -1;
    std::size_t end = 0;
    if (oh >= 0 && pos + 3 < s.size() && s[pos + 3] == ':') {
      om = Digits(s, pos + 4, 2);
      end = pos + 6;
    } else if (oh >= 0) {
      om = Digits(s, pos + 3, 2);
      end = pos + 5;
    }
    if (oh >= 0 && om >= 0 && oh < 24 && om < 60) {
      offset = sign * (oh * 60 + om);
      out.has_zone = true;
      pos = end;
    }
  }
  out.time = CivilToUtc(y, mo, d, h, mi, sec, ns, offset);
  out.length = pos;
  return out;
}

std::optional<ParsedTime> ScanBsdTime(std::string_view s, int offset_minutes, core::Timestamp now) {
  if (s.size() < 14) return std::nullopt;
  const int mo = MonthFromAbbrev(s);
  if (mo == 0 || s[3] != ' ') return std::nullopt;
  std::size_t pos = 4;
  if (pos < s.size() && s[pos] == ' ') ++pos;  // "Mar  3"
  const int d = OneOrTwo(s, pos);
  if (d < 1 || pos >= s.size() || s[pos] != ' ') return std::nullopt;
  ++pos;
  std::int64_t year = -1;
  // "Mar 3 2024 10:01:02" (Huawei)
  if (Digits(s, pos, 4) >= 0 && pos + 4 < s.size() && s[pos + 4] == ' ') {
    year = Digits(s, pos, 4);
    pos += 5;
  }
  int h, mi, sec;
  if (!ScanClock(s, pos, h, mi, sec)) return std::nullopt;
  const std::int64_t ns = ScanFraction(s, pos);
  // "Mar 3 10:01:02 2024" (H3C, Cisco)
  if (year < 0 && pos + 5 <= s.size() && s[pos] == ' ' && Digits(s, pos + 1, 4) >= 1970 &&
      (pos + 5 == s.size() || s[pos + 5] == ' ' || s[pos + 5] == ':')) {
    year = Digits(s, pos + 1, 4);
    pos += 5;
  }
  if (year < 0) year = InferYear(mo, d, now, offset_minutes);
  if (!ValidCivil(year, mo, d, h, mi, sec)) return std::nullopt;
  ParsedTime out;
  out.time = CivilToUtc(year, mo, d, h, mi, sec, ns, offset_minutes);
  out.length = pos;
  return out;
}

// ---- key=value -----------------------------------------------------------------------------------

std::string_view Unescape(std::string_view s, event::Arena& arena) {
  if (s.find('\\') == std::string_view::npos) return s;
  char* out = arena.Allocate(s.size());
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size()) {
      const char nx = s[i + 1];
      switch (nx) {
        case '\\': case '"': case '\'': case '=': case '|': case ']': c = nx; ++i; break;
        case 'n': c = '\n'; ++i; break;
        case 'r': c = '\r'; ++i; break;
        case 't': c = '\t'; ++i; break;
        default: break;  // keep the backslash (Windows paths: C:\Windows)
      }
    }
    out[n++] = c;
  }
  return {out, n};
}

namespace detail {
namespace {

// The end of a quoted string starting at s[pos] (the quote); npos when unterminated.
std::size_t QuoteEnd(std::string_view s, std::size_t pos) {
  const char q = s[pos];
  for (std::size_t i = pos + 1; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
      continue;
    }
    if (s[i] == q) return i;
  }
  return std::string_view::npos;
}

std::string_view CutKey(std::string_view key, char cut) {
  if (cut != '\0') {
    const auto p = key.find(cut);
    if (p != std::string_view::npos && p > 0) key = key.substr(0, p);
  }
  return key;
}

// True when s[pos...] starts with "key<sep>".
bool KeyAhead(std::string_view s, std::size_t pos, char sep) {
  std::size_t i = pos;
  while (i < s.size() && IsKeyChar(s[i], sep)) ++i;
  return i > pos && i < s.size() && s[i] == sep;
}

}  // namespace

Result<std::size_t> ScanKvSpace(std::string_view s, const KvDialect& d, event::Arena& arena,
                                void (*cb)(void*, const KvPair&), void* ctx) {
  std::size_t pos = 0, count = 0;
  const char sep = d.value_separator;
  while (pos < s.size()) {
    while (pos < s.size() && (IsSpace(s[pos]) || s[pos] == '\r' || s[pos] == '\n')) ++pos;
    if (pos >= s.size()) break;
    const std::size_t kstart = pos;
    while (pos < s.size() && IsKeyChar(s[pos], sep)) ++pos;
    if (pos == kstart || pos >= s.size() || s[pos] != sep) {
      // Not a pair: skip the token (a quoted one whole).
      if (pos < s.size() && (s[pos] == '"' || s[pos] == '\'') && d.quotes) {
        const std::size_t qe = QuoteEnd(s, pos);
        pos = qe == std::string_view::npos ? s.size() : qe + 1;
      }
      while (pos < s.size() && !IsSpace(s[pos])) ++pos;
      continue;
    }
    KvPair p;
    p.key = CutKey(s.substr(kstart, pos - kstart), d.key_cut);
    p.key_offset = kstart;
    ++pos;  // separator
    if (pos < s.size() && d.quotes && (s[pos] == '"' || s[pos] == '\'')) {
      const std::size_t qe = QuoteEnd(s, pos);
      if (qe == std::string_view::npos)
        return Error(ErrorCode::kParse, "unterminated quoted value of '" + std::string(p.key) + "' at byte " +
                                            std::to_string(pos));
      p.value = Unescape(s.substr(pos + 1, qe - pos - 1), arena);
      p.quoted = true;
      pos = qe + 1;
    } else {
      const std::size_t vstart = pos;
      std::size_t vend = pos;
      while (pos < s.size()) {
        if (IsSpace(s[pos])) {
          std::size_t next = pos;
          while (next < s.size() && IsSpace(s[next])) ++next;
          if (!d.spaces_in_values || next >= s.size() || KeyAhead(s, next, sep)) break;
          pos = next;
          continue;
        }
        ++pos;
        vend = pos;
      }
      p.value = s.substr(vstart, vend - vstart);
      if (p.value.find('\\') != std::string_view::npos) p.value = Unescape(p.value, arena);
    }
    if (pos >= s.size() && !d.trim_last_value.empty() && !p.quoted)
      while (!p.value.empty() && d.trim_last_value.find(p.value.back()) != std::string_view::npos)
        p.value.remove_suffix(1);
    cb(ctx, p);
    ++count;
  }
  return count;
}

Result<std::size_t> ScanKvSeparated(std::string_view s, const KvDialect& d, event::Arena& arena,
                                    void (*cb)(void*, const KvPair&), void* ctx) {
  std::size_t pos = 0, count = 0;
  while (pos < s.size()) {
    // One piece up to the separator, respecting quotes inside the value.
    const std::size_t start = pos;
    std::size_t end = pos;
    bool in_value = false;
    while (end < s.size() && s[end] != d.pair_separator) {
      if (s[end] == d.value_separator) in_value = true;
      if (in_value && d.quotes && (s[end] == '"' || s[end] == '\'') ) {
        // Only a quote right after the value separator (possibly after spaces) opens a string.
        std::size_t b = end;
        while (b > start && IsSpace(s[b - 1])) --b;
        if (b > start && s[b - 1] == d.value_separator) {
          const std::size_t qe = QuoteEnd(s, end);
          if (qe == std::string_view::npos)
            return Error(ErrorCode::kParse, "unterminated quoted value at byte " + std::to_string(end));
          end = qe + 1;
          continue;
        }
      }
      ++end;
    }
    pos = end < s.size() ? end + 1 : end;
    std::string_view piece = s.substr(start, end - start);
    const std::size_t lead = piece.size() - Trim(piece).size();
    std::size_t piece_off = start;
    {
      std::size_t k = 0;
      while (k < piece.size() && (IsSpace(piece[k]) || piece[k] == '\r' || piece[k] == '\n')) ++k;
      piece_off = start + k;
      (void)lead;
    }
    piece = Trim(piece);
    const std::size_t vs = piece.find(d.value_separator);
    if (vs == std::string_view::npos || vs == 0) continue;
    KvPair p;
    p.key = CutKey(Trim(piece.substr(0, vs)), d.key_cut);
    p.key_offset = piece_off;
    std::string_view v = Trim(piece.substr(vs + 1));
    if (d.quotes && v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
      p.value = Unescape(v.substr(1, v.size() - 2), arena);
      p.quoted = true;
    } else {
      p.value = v;
    }
    if (pos >= s.size() && !d.trim_last_value.empty() && !p.quoted)
      while (!p.value.empty() && d.trim_last_value.find(p.value.back()) != std::string_view::npos)
        p.value.remove_suffix(1);
    if (p.key.empty()) continue;
    cb(ctx, p);
    ++count;
  }
  return count;
}

}  // namespace detail
}  // namespace medsoc::ingest::text
