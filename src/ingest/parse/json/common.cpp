#include "ingest/parse/json/common.h"

#include <charconv>
#include <cstring>

namespace medsoc::ingest::json {

namespace {

event::FieldId Id(std::string_view name) {
  auto r = event::DefaultFieldTable().Intern(name);
  MEDSOC_ASSERT(r.ok());
  return *r;
}

bool Dig(char c) { return c >= '0' && c <= '9'; }

int Num(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!Dig(s[pos + i])) return -1;
    v = v * 10 + (s[pos + i] - '0');
  }
  return v;
}

int MonthFromName(std::string_view m) {
  static constexpr const char* kNames[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i)
    if (m == kNames[i]) return i + 1;
  return 0;
}

// Parses "+08:00", "+0800", "+08", "Z", "UTC", "GMT" at s[pos..]; a named zone other than those
// means `dflt`. Returns false on anything else.
bool ParseZone(std::string_view s, std::size_t pos, int dflt, int& offset_min, bool& explicit_zone) {
  while (pos < s.size() && s[pos] == ' ') ++pos;
  explicit_zone = true;
  if (pos >= s.size()) {
    explicit_zone = false;
    offset_min = dflt;
    return true;
  }
  std::string_view z = s.substr(pos);
  if (z == "Z" || z == "z" || z == "UTC" || z == "GMT" || z == "+0000" || z == "UTC+0") {
    offset_min = 0;
    return true;
  }
  if (z[0] == '+' || z[0] == '-') {
    const int sign = z[0] == '-' ? -1 : 1;
    int h = Num(z, 1, 2);
    if (h < 0) return false;
    int m = 0;
    if (z.size() == 3) {
      m = 0;
    } else if (z.size() == 5) {
      m = Num(z, 3, 2);
    } else if (z.size() == 6 && z[3] == ':') {
      m = Num(z, 4, 2);
    } else {
      return false;
    }
    if (m < 0 || h > 23 || m > 59) return false;
    offset_min = sign * (h * 60 + m);
    return true;
  }
  // A zone abbreviation (PostgreSQL writes "CST", "CEST"): ambiguous; use the source's zone.
  for (char c : z)
    if (!((c >= 'A' && c <= 'Z') || c == '+' || c == '-' || Dig(c))) return false;
  if (z.size() > 6) return false;
  offset_min = dflt;
  explicit_zone = false;
  return true;
}

std::optional<core::Timestamp> Compose(int y, int mo, int d, int h, int mi, int sec, std::int64_t frac_ns,
                                       int offset_min) {
  // Nanoseconds since 1970 in int64 cover 1678-2261.
  if (y < 1678 || y > 2261 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  const std::int64_t days = core::DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - std::int64_t{offset_min} * 60;
  return core::Timestamp{secs * core::kNanosPerSecond + frac_ns};
}

// Reads ".123456" at s[pos]; advances pos.
std::int64_t Fraction(std::string_view s, std::size_t& pos) {
  if (pos >= s.size() || (s[pos] != '.' && s[pos] != ',')) return 0;
  ++pos;
  std::int64_t ns = 0;
  int digits = 0;
  while (pos < s.size() && Dig(s[pos])) {
    if (digits < 9) {
      ns = ns * 10 + (s[pos] - '0');
      ++digits;
    }
    ++pos;
  }
  while (digits < 9) {
    ns *= 10;
    ++digits;
  }
  return ns;
}

}  // namespace

const Fields& F() {
  static const Fields f = [] {
    Fields x;
    x.timestamp = Id("@timestamp");
    x.message = Id("message");
    x.tags = Id("tags");
    x.log_flags = Id("log.flags");
    x.log_level = Id("log.level");
    x.log_logger = Id("log.logger");
    x.event_kind = Id("event.kind");
    x.event_category = Id("event.category");
    x.event_type = Id("event.type");
    x.event_action = Id("event.action");
    x.event_outcome = Id("event.outcome");
    x.event_code = Id("event.code");
    x.event_id = Id("event.id");
    x.event_provider = Id("event.provider");
    x.event_dataset = Id("event.dataset");
    x.event_module = Id("event.module");
    x.event_severity = Id("event.severity");
    x.event_duration = Id("event.duration");
    x.event_created = Id("event.created");
    x.event_reason = Id("event.reason");
    x.host_name = Id("host.name");
    x.host_hostname = Id("host.hostname");
    x.host_ip = Id("host.ip");
    x.source_ip = Id("source.ip");
    x.source_port = Id("source.port");
    x.source_address = Id("source.address");
    x.source_bytes = Id("source.bytes");
    x.destination_ip = Id("destination.ip");
    x.destination_port = Id("destination.port");
    x.destination_address = Id("destination.address");
    x.destination_bytes = Id("destination.bytes");
    x.user_name = Id("user.name");
    x.user_id = Id("user.id");
    x.user_domain = Id("user.domain");
    x.user_target_name = Id("user.target.name");
    x.process_name = Id("process.name");
    x.process_executable = Id("process.executable");
    x.process_command_line = Id("process.command_line");
    x.process_pid = Id("process.pid");
    x.process_entity_id = Id("process.entity_id");
    x.process_working_directory = Id("process.working_directory");
    x.process_parent_name = Id("process.parent.name");
    x.process_parent_executable = Id("process.parent.executable");
    x.process_parent_command_line = Id("process.parent.command_line");
    x.process_parent_pid = Id("process.parent.pid");
    x.process_integrity_level = Id("process.integrity_level");
    x.process_hash_sha256 = Id("process.hash.sha256");
    x.network_transport = Id("network.transport");
    x.network_protocol = Id("network.protocol");
    x.network_bytes = Id("network.bytes");
    x.network_packets = Id("network.packets");
    x.network_community_id = Id("network.community_id");
    x.network_direction = Id("network.direction");
    x.url_original = Id("url.original");
    x.url_path = Id("url.path");
    x.url_query = Id("url.query");
    x.url_domain = Id("url.domain");
    x.http_request_method = Id("http.request.method");
    x.http_request_referrer = Id("http.request.referrer");
    x.http_response_status_code = Id("http.response.status_code");
    x.http_response_bytes = Id("http.response.bytes");
    x.http_response_body_bytes = Id("http.response.body.bytes");
    x.http_version = Id("http.version");
    x.user_agent_original = Id("user_agent.original");
    x.file_path = Id("file.path");
    x.file_name = Id("file.name");
    x.file_size = Id("file.size");
    x.registry_path = Id("registry.path");
    x.registry_value = Id("registry.value");
    x.dns_question_name = Id("dns.question.name");
    x.dns_question_type = Id("dns.question.type");
    x.dns_response_code = Id("dns.response_code");
    x.dns_answers_data = Id("dns.answers.data");
    x.tls_version = Id("tls.version");
    x.tls_cipher = Id("tls.cipher");
    x.tls_server_subject = Id("tls.server.subject");
    x.tls_server_issuer = Id("tls.server.issuer");
    x.tls_client_server_name = Id("tls.client.server_name");
    x.rule_id = Id("rule.id");
    x.rule_name = Id("rule.name");
    x.rule_category = Id("rule.category");
    x.observer_product = Id("observer.product");
    x.observer_vendor = Id("observer.vendor");
    x.observer_type = Id("observer.type");
    x.winlog_channel = Id("winlog.channel");
    x.winlog_event_id = Id("winlog.event_id");
    x.winlog_provider_name = Id("winlog.provider_name");
    x.winlog_computer_name = Id("winlog.computer_name");
    x.winlog_record_id = Id("winlog.record_id");
    x.winlog_logon_type = Id("winlog.logon.type");
    x.winlog_event_data_command_line = Id("winlog.event_data.CommandLine");
    x.winlog_event_data_logon_type = Id("winlog.event_data.LogonType");
    x.winlog_event_data_target_user_name = Id("winlog.event_data.TargetUserName");
    x.service_name = Id("service.name");
    x.group_name = Id("group.name");
    x.error_message = Id("error.message");
    x.error_code = Id("error.code");
    x.related_ip = Id("related.ip");
    x.related_user = Id("related.user");
    x.db_system = Id("db.system");
    x.db_name = Id("db.name");
    x.db_user = Id("db.user");
    x.db_statement = Id("db.statement");
    x.db_operation = Id("db.operation");
    x.db_session_id = Id("db.session_id");
    x.db_sql_state = Id("db.sql_state");
    x.db_connection_id = Id("db.connection_id");
    x.db_query_id = Id("db.query_id");
    x.db_rows = Id("db.rows");
    return x;
  }();
  return f;
}

void AddFlag(event::Event& e, std::string_view flag) {
  const event::FieldId id = F().log_flags;
  for (event::FieldView f : e.fields())
    if (f.id == id && f.space == event::FieldSpace::kNormalized && f.value.is_string() && f.value.str() == flag) return;
  e.Append(id, event::Value::String(flag));
}

Status CheckSize(std::string_view message, const ParseContext& ctx) {
  if (message.size() > ctx.max_message_bytes)
    return Error(ErrorCode::kResourceExhausted,
                 "message of " + std::to_string(message.size()) + " bytes exceeds the limit of " +
                     std::to_string(ctx.max_message_bytes) + " bytes (at byte " +
                     std::to_string(ctx.max_message_bytes) + ")");
  return Ok();
}

std::string_view Anchor(std::string_view message, event::Event& e) {
  const std::string_view raw = e.raw();
  if (message.empty()) return message;
  if (!raw.empty() && message.data() >= raw.data() && message.data() + message.size() <= raw.data() + raw.size())
    return message;
  if (e.arena().Owns(message)) return message;
  return e.CopyString(message);
}

std::optional<core::Timestamp> ParseTime(std::string_view s, int tz) {
  s = Trim(s);
  if (s.size() < 8) return std::nullopt;
  // NCSA: 10/Oct/2000:13:55:36 -0700 (also inside [ ]).
  if (s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  if (s.size() >= 20 && s[2] == '/' && s[6] == '/' && s[11] == ':') {
    const int d = Num(s, 0, 2), mo = MonthFromName(s.substr(3, 3)), y = Num(s, 7, 4), h = Num(s, 12, 2),
              mi = Num(s, 15, 2), sec = Num(s, 18, 2);
    if (d < 0 || mo == 0 || y < 0 || h < 0 || mi < 0 || sec < 0) return std::nullopt;
    std::size_t pos = 20;
    const std::int64_t frac = Fraction(s, pos);
    int off = tz;
    bool explicit_zone;
    if (!ParseZone(s, pos, tz, off, explicit_zone)) return std::nullopt;
    return Compose(y, mo, d, h, mi, sec, frac, off);
  }
  // MySQL 5.6: YYMMDD HH:MM:SS (hour may be space-padded).
  if (s.size() >= 14 && s[6] == ' ' && Num(s, 0, 6) >= 0) {
    const int y = 2000 + Num(s, 0, 2), mo = Num(s, 2, 2), d = Num(s, 4, 2);
    std::size_t pos = 7;
    while (pos < s.size() && s[pos] == ' ') ++pos;
    int h = -1;
    if (pos + 1 < s.size() && Dig(s[pos]) && s[pos + 1] == ':') {
      h = s[pos] - '0';
      pos += 1;
    } else {
      h = Num(s, pos, 2);
      pos += 2;
    }
    if (h < 0 || pos + 6 > s.size() || s[pos] != ':' || s[pos + 3] != ':') return std::nullopt;
    const int mi = Num(s, pos + 1, 2), sec = Num(s, pos + 4, 2);
    if (mi < 0 || sec < 0) return std::nullopt;
    pos += 6;
    if (pos != s.size()) return std::nullopt;
    return Compose(y, mo, d, h, mi, sec, 0, tz);
  }
  // ISO 8601 / RFC 3339 family.
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
      s[16] != ':')
    return std::nullopt;
  const int y = Num(s, 0, 4), mo = Num(s, 5, 2), d = Num(s, 8, 2), h = Num(s, 11, 2), mi = Num(s, 14, 2),
            sec = Num(s, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0) return std::nullopt;
  std::size_t pos = 19;
  const std::int64_t frac = Fraction(s, pos);
  int off = tz;
  bool explicit_zone;
  if (!ParseZone(s, pos, tz, off, explicit_zone)) return std::nullopt;
  return Compose(y, mo, d, h, mi, sec, frac, off);
}

bool SetTimeFrom(event::Event& e, std::string_view text, const ParseContext& ctx) {
  auto t = ParseTime(text, ctx.tz_offset_minutes);
  if (!t) return false;
  e.set_time(*t);
  e.set_time_text(text);
  return true;
}

bool SetTimeFromValue(event::Event& e, const event::Value& v, const ParseContext& ctx) {
  if (v.is_string()) return SetTimeFrom(e, v.str(), ctx);
  if (v.kind() == event::ValueKind::kInt || v.kind() == event::ValueKind::kFloat) {
    // Epoch seconds (Suricata flow_start is text; some JSON loggers write epoch seconds/millis).
    const double x = v.kind() == event::ValueKind::kInt ? static_cast<double>(v.int_value()) : v.float_value();
    // Seconds up to 2261 (int64 nanoseconds), else milliseconds (from 2001 on) up to 2261.
    if (!(x > 0)) return false;
    std::int64_t ns;
    if (x < 9.2e9) ns = static_cast<std::int64_t>(x * 1e9);
    else if (x >= 1e12 && x < 9.2e12) ns = static_cast<std::int64_t>(x * 1e6);
    else return false;
    e.set_time(core::Timestamp{ns});
    event::TextBuffer buf;
    e.set_time_text(v.AsText(buf));
    return true;
  }
  return false;
}

void SetKeyword(event::Event& e, event::FieldId id, const event::Value& v) {
  if (v.is_null()) return;
  if (v.is_string()) {
    e.Set(id, v);
    return;
  }
  event::TextBuffer buf;
  e.SetString(id, v.AsText(buf));
}

bool SetLong(event::Event& e, event::FieldId id, const event::Value& v) {
  if (v.is_null()) return false;
  auto i = v.AsInt();
  if (!i) return false;
  e.Set(id, event::Value::Int(*i));
  return true;
}

bool SetIp(event::Event& e, event::FieldId id, const event::Value& v, bool append) {
  if (!v.is_string()) return false;
  std::string_view s = Trim(v.str());
  if (s.size() > 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  auto ip = event::IpAddress::Parse(s);
  if (!ip) return false;
  if (append) e.Append(id, event::Value::Ip(*ip));
  else e.Set(id, event::Value::Ip(*ip));
  return true;
}

bool IsEmptyValue(const event::Value& v) {
  if (v.is_null()) return true;
  if (!v.is_string()) return false;
  const std::string_view s = v.str();
  return s.empty() || s == "-";
}

event::FieldId NameCache::Get(std::string_view name) {
  auto it = map_.find(name);
  if (it != map_.end()) return it->second;
  auto r = event::DefaultFieldTable().Intern(name);
  const event::FieldId id = r.ok() ? *r : event::kNoField;
  // Bounded: vendor keys can come from attackers; beyond this we ask the table each time.
  if (map_.size() < 4096) map_.emplace(std::string(name), id);
  return id;
}

void KeepOriginals(const FlatJson& flat, NameCache& names, event::Event& e) {
  for (const FlatField& f : flat.fields()) {
    if (f.path.empty()) continue;
    const event::FieldId id = names.Get(f.path);
    if (!id.valid()) continue;
    e.Append(id, f.value, event::FieldSpace::kOriginal);
  }
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

std::optional<std::int64_t> ToInt(std::string_view s) {
  std::int64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace medsoc::ingest::json

namespace medsoc::ingest::json {

bool IsEcsPath(std::string_view path) {
  static constexpr std::string_view kPrefixes[] = {
      "host.", "event.", "process.", "user.", "source.", "destination.", "network.", "file.", "registry.", "dns.",
      "url.", "http.", "user_agent.", "log.level", "related.", "service.", "group.", "tls.", "rule.", "observer."};
  for (std::string_view p : kPrefixes)
    if (path.substr(0, p.size()) == p) return true;
  return false;
}

void SetEcsTyped(event::Event& e, std::string_view path, const event::Value& v) {
  if (IsEmptyValue(v)) return;
  const event::FieldId id = event::DefaultFieldTable().Find(path);
  if (!id.valid() || e.Has(id)) return;
  auto ends = [&](std::string_view suf) {
    return path.size() >= suf.size() && path.substr(path.size() - suf.size()) == suf;
  };
  if (ends(".ip")) {
    SetIp(e, id, v);
  } else if (ends(".port") || ends(".bytes") || ends(".pid") || ends(".status_code") || ends(".packets") ||
             path == "event.severity" || path == "event.duration") {
    SetLong(e, id, v);
  } else {
    e.Set(id, v);
  }
}

}  // namespace medsoc::ingest::json
