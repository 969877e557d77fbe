#include "ingest/parse/auditd.h"

#include <cstring>
#include <string>

#include "ingest/parse/syslog.h"
#include "ingest/parse/text_common.h"

namespace medsoc::ingest::text {
namespace {

using event::Value;

struct RecordHead {
  std::string_view node, type, seconds_text, serial, body, enriched;
  core::Timestamp time;
};

int HexVal(char c) {
  if (IsDigit(c)) return c - '0';
  const char l = ToLower(c);
  if (l >= 'a' && l <= 'f') return l - 'a' + 10;
  return -1;
}

bool IsHexString(std::string_view s) {
  if (s.empty() || s.size() % 2 != 0) return false;
  for (char c : s)
    if (HexVal(c) < 0) return false;
  return true;
}

bool IsUntrustedKey(std::string_view k) {
  if (k.size() >= 2 && k[0] == 'a' && IsDigit(k[1])) {
    for (std::size_t i = 1; i < k.size(); ++i)
      if (!IsDigit(k[i]) && !(k[i] == '[' || k[i] == ']' || k[i] == '_' || k[i] == 'l' || k[i] == 'e' || k[i] == 'n'))
        return false;
    return true;
  }
  return k == "proctitle" || k == "comm" || k == "exe" || k == "cwd" || k == "name" || k == "acct" || k == "cmd" ||
         k == "data" || k == "path" || k == "old" || k == "new";
}

// Hex-decodes into the arena; NUL bytes (argv separators in proctitle) become spaces.
std::string_view HexDecode(std::string_view s, event::Event& e) {
  char* out = e.arena().Allocate(s.size() / 2);
  for (std::size_t i = 0; i < s.size() / 2; ++i) {
    const char c = static_cast<char>(HexVal(s[2 * i]) * 16 + HexVal(s[2 * i + 1]));
    out[i] = c == '\0' ? ' ' : c;
  }
  std::string_view v(out, s.size() / 2);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  return v;
}

Result<RecordHead> ScanHead(std::string_view s, std::size_t base, const ParseContext& ctx) {
  RecordHead h;
  std::size_t pos = 0;
  if (StartsWith(s, "node=")) {
    const auto sp = s.find(' ');
    if (sp == std::string_view::npos) return ParseErrorAt(base, "audit record ends after node=");
    h.node = s.substr(5, sp - 5);
    pos = sp + 1;
  }
  if (s.substr(pos, 5) != "type=") return ParseErrorAt(base + pos, "audit record: 'type=' expected");
  pos += 5;
  const auto sp = s.find(' ', pos);
  if (sp == std::string_view::npos) return ParseErrorAt(base + pos, "audit record ends after type");
  h.type = s.substr(pos, sp - pos);
  pos = sp + 1;
  if (s.substr(pos, 10) != "msg=audit(") return ParseErrorAt(base + pos, "audit record: 'msg=audit(' expected");
  pos += 10;
  const auto close = s.find("):", pos);
  if (close == std::string_view::npos) return ParseErrorAt(base + pos, "audit record: unterminated msg=audit(");
  std::string_view stamp = s.substr(pos, close - pos);
  const auto colon = stamp.find(':');
  const auto dot = stamp.find('.');
  if (colon == std::string_view::npos || dot == std::string_view::npos || dot > colon)
    return ParseErrorAt(base + pos, "audit record: timestamp 'SECONDS.MILLIS:SERIAL' expected");
  auto secs = ParseInt(stamp.substr(0, dot));
  auto millis = ParseInt(stamp.substr(dot + 1, colon - dot - 1));
  auto serial = ParseInt(stamp.substr(colon + 1));
  if (!secs || !millis || !serial || *secs < 0 || *millis < 0 || *millis > 999'999'999 || *secs > 9'000'000'000)
    return ParseErrorAt(base + pos, "audit record: invalid timestamp");
  std::int64_t frac_ns = *millis;
  for (std::size_t d = colon - dot - 1; d < 9; ++d) frac_ns *= 10;
  h.time = core::Timestamp{*secs * core::kNanosPerSecond + frac_ns};
  h.seconds_text = stamp.substr(0, colon);
  h.serial = stamp.substr(colon + 1);
  std::string_view body = s.substr(close + 2);
  const auto gs = body.find('\x1d');
  if (gs != std::string_view::npos) {
    h.enriched = body.substr(gs + 1);
    body = body.substr(0, gs);
  }
  h.body = body;
  (void)ctx;
  return h;
}

void Orig(event::Event& e, std::string_view key, std::string_view value) {
  auto id = event::DefaultFieldTable().Find(key);
  if (!id.valid()) {
    auto r = event::DefaultFieldTable().Intern(key);
    if (!r.ok()) return;
    id = *r;
  }
  if (e.Has(id, event::FieldSpace::kOriginal)) {
    e.Append(id, Value::String(value), event::FieldSpace::kOriginal);
  } else {
    e.Set(id, Value::String(value), event::FieldSpace::kOriginal);
  }
}

bool IsAccountType(std::string_view t) {
  return StartsWith(t, "ADD_") || StartsWith(t, "DEL_") || t == "USER_MGMT" || t == "GRP_MGMT" || t == "USER_CHAUTHTOK";
}

struct Merge {
  bool has_execve = false, has_path = false, has_user_record = false;
  std::string_view args[64];
  std::size_t nargs = 0;
};

void ApplyKv(std::string_view type, std::string_view key, std::string_view value, bool quoted, event::Event& e,
             Merge& m) {
  const Fields& f = F();
  if (!quoted && IsUntrustedKey(key) && IsHexString(value)) value = HexDecode(value, e);
  Orig(e, key, value);
  if (value.empty() || value == "?" || value == "(null)") return;
  if (type == "SYSCALL") {
    if (key == "pid") SetInt(e, f.process_pid, value);
    else if (key == "ppid") SetInt(e, f.process_parent_pid, value);
    else if (key == "auid" && value != "4294967295") SetView(e, f.user_audit_id, value);
    else if (key == "uid") SetView(e, f.user_id, value);
    else if (key == "euid") SetView(e, f.user_effective_id, value);
    else if (key == "comm") SetView(e, f.process_name, value);
    else if (key == "exe") SetView(e, f.process_executable, value);
    else if (key == "key") SetView(e, f.rule_name, value);
    else if (key == "success") SetView(e, f.event_outcome, value == "yes" ? "success" : "failure");
    else if (key == "syscall" && !e.Has(f.event_action)) SetView(e, f.event_action, value);
    else if (key == "SYSCALL") SetView(e, f.event_action, value);  // enriched name wins
    else if (key == "AUID") AddRelatedUser(e, value);
    else if (key == "UID") AddRelatedUser(e, value);
  } else if (type == "EXECVE") {
    m.has_execve = true;
    if (key.size() >= 2 && key[0] == 'a' && IsDigit(key[1]) && m.nargs < 64) {
      m.args[m.nargs++] = value;
      e.Append(f.process_args, Value::String(value));
    }
  } else if (type == "CWD") {
    if (key == "cwd") SetView(e, f.process_working_directory, value);
  } else if (type == "PATH") {
    m.has_path = true;
    if (key == "name" && !e.Has(f.file_path)) SetView(e, f.file_path, value);
  } else if (type == "PROCTITLE") {
    if (key == "proctitle") SetView(e, f.process_title, value);
  } else {
    // USER_*, CRED_*, LOGIN, ADD_*/DEL_*, SERVICE_*, ...
    m.has_user_record = true;
    if (key == "acct" || key == "id" || key == "ID") {
      if (key != "acct" && !IsAccountType(type)) return;
      if (IsAccountType(type)) {
        SetView(e, f.user_target_name, value);
      } else {
        SetView(e, f.user_name, value);
      }
      AddRelatedUser(e, value);
    } else if (key == "addr") {
      SetIp(e, f.source_ip, value);
    } else if (key == "hostname") {
      if (!SetIp(e, f.source_ip, value)) SetView(e, f.source_domain, value);
    } else if (key == "res" || key == "result") {
      SetView(e, f.event_outcome, (value == "success" || value == "1") ? "success" : "failure");
    } else if (key == "op") {
      SetView(e, f.event_action, value);
    } else if (key == "exe") {
      SetView(e, f.process_executable, value);
    } else if (key == "cmd") {
      SetView(e, f.process_command_line, value);
    } else if (key == "pid") {
      SetInt(e, f.process_pid, value);
    } else if (key == "auid" && value != "4294967295") {
      SetView(e, f.user_audit_id, value);
    } else if (key == "uid") {
      SetView(e, f.user_id, value);
    } else if (key == "terminal") {
      Orig(e, "terminal", value);
    }
  }
}

Status ParseOneRecord(std::string_view line, std::size_t base, const ParseContext& ctx, event::Event& e, Merge& m,
                      bool first) {
  const Fields& f = F();
  MEDSOC_ASSIGN_OR_RETURN(RecordHead h, ScanHead(line, base, ctx));
  if (first) {
    e.set_time(h.time);
    e.set_time_text(h.seconds_text);
    SetView(e, f.event_id, h.serial);
    if (!h.node.empty()) SetView(e, f.host_name, h.node);
  }
  e.Append(f.auditd_message_type, Value::String(h.type));
  KvDialect d;
  d.spaces_in_values = false;
  Status inner_status = Ok();
  const std::string_view type = h.type;
  auto on_pair = [&](const KvPair& p) {
    if (p.key == "msg" && p.quoted) {
      // USER_* records: msg='op=PAM:authentication acct="root" ... res=failed'
      auto r = ScanKv(p.value, d, e.arena(), [&](const KvPair& q) { ApplyKv(type, q.key, q.value, q.quoted, e, m); });
      if (!r.ok()) inner_status = r.error();
      return;
    }
    ApplyKv(type, p.key, p.value, p.quoted, e, m);
  };
  auto r = ScanKv(h.body, d, e.arena(), on_pair);
  if (!r.ok())
    return ParseErrorAt(base + static_cast<std::size_t>(h.body.data() - line.data()), r.error().message());
  if (!h.enriched.empty()) {
    auto r2 = ScanKv(h.enriched, d, e.arena(), on_pair);
    (void)r2;  // enrichment is advisory
  }
  if (!inner_status.ok()) return inner_status;
  return Ok();
}

bool IsGroupedType(std::string_view t) {
  return t == "SYSCALL" || t == "EXECVE" || t == "CWD" || t == "PATH" || t == "PROCTITLE" || t == "SOCKADDR" ||
         t == "FD_PAIR" || t == "MMAP" || t == "BPRM_FCAPS" || t == "CAPSET" || t == "OBJ_PID" ||
         t == "KERN_MODULE" || t == "IPC" || t == "NETFILTER_CFG" || t == "EOE" || StartsWith(t, "MQ_");
}

}  // namespace

Status ParseAuditRecords(std::string_view s, std::size_t offset, const ParseContext& ctx, event::Event& e) {
  const Fields& f = F();
  Merge m;
  std::size_t pos = 0;
  bool first = true;
  while (pos < s.size()) {
    std::size_t end = s.find('\n', pos);
    if (end == std::string_view::npos) end = s.size();
    std::string_view line = Trim(s.substr(pos, end - pos));
    const std::size_t line_off = offset + pos + static_cast<std::size_t>(line.data() - (s.data() + pos));
    pos = end + 1;
    if (line.empty()) continue;
    MEDSOC_TRY(ParseOneRecord(line, line_off, ctx, e, m, first));
    first = false;
  }
  if (first) return ParseErrorAt(offset, "empty audit record");
  if (m.nargs > 0) {
    std::size_t len = 0;
    for (std::size_t i = 0; i < m.nargs; ++i) len += m.args[i].size() + 1;
    char* out = e.arena().Allocate(len);
    std::size_t n = 0;
    for (std::size_t i = 0; i < m.nargs; ++i) {
      if (i) out[n++] = ' ';
      std::memcpy(out + n, m.args[i].data(), m.args[i].size());
      n += m.args[i].size();
    }
    SetView(e, f.process_command_line, std::string_view(out, n));
  }
  const Value* type = e.Find(f.auditd_message_type);
  std::string_view t0 = type && type->is_string() ? type->str() : std::string_view();
  if (m.has_execve) {
    SetView(e, f.event_category, "process");
    SetView(e, f.event_type, "start");
  } else if (t0 == "USER_LOGIN" || t0 == "USER_AUTH" || t0 == "USER_ERR" || t0 == "ANOM_LOGIN_FAILURES") {
    SetView(e, f.event_category, "authentication");
  } else if (t0 == "USER_START" || t0 == "USER_END" || t0 == "LOGIN" || StartsWith(t0, "CRED_")) {
    SetView(e, f.event_category, "session");
  } else if (IsAccountType(t0)) {
    SetView(e, f.event_category, "iam");
  } else if (m.has_path) {
    SetView(e, f.event_category, "file");
  }
  if (!e.Has(f.event_action) && !t0.empty()) {
    char* low = e.arena().Allocate(t0.size());
    for (std::size_t i = 0; i < t0.size(); ++i) low[i] = t0[i] == '_' ? '-' : ToLower(t0[i]);
    SetView(e, f.event_action, std::string_view(low, t0.size()));
  }
  if (!e.Has(f.event_dataset)) SetView(e, f.event_dataset, "linux.auditd");
  if (!e.Has(f.event_module)) SetView(e, f.event_module, "linux");
  return Ok();
}

Status AuditdParser::Parse(std::string_view message, const ParseContext& ctx, event::Event& e) {
  std::string_view s = PrepareMessage(message, ctx, e);
  if (StartsWith(s, "type=") || StartsWith(s, "node=")) return ParseAuditRecords(s, 0, ctx, e);
  // audisp-syslog / rsyslog forwarding: a syslog header in front.
  SyslogHeader h = SkipSyslogHeader(s, ctx);
  ApplySyslogHeader(h, e);
  return ParseAuditRecords(h.msg, h.msg_offset, ctx, e);
}

int AuditdParser::Detect(std::string_view sample) const {
  const auto p = sample.find("msg=audit(");
  if (p == std::string_view::npos) return 0;
  if (StartsWith(sample, "type=") || StartsWith(sample, "node=")) return 97;
  return sample.find(" type=") != std::string_view::npos ? 80 : 0;
}

// ---- AuditdJoiner ------------------------------------------------------------------------------

namespace {

// Where the audit record starts in `line` (bare, or behind a syslog header) and the syslog
// hostname in front of it; false when `line` is no audit record.
struct AuditLine {
  std::string_view prefix_host;
  std::string_view record;
  RecordHead head;
};

bool FindAuditRecord(std::string_view line, AuditLine& out) {
  if (line.find("msg=audit(") == std::string_view::npos) return false;
  ParseContext ctx;
  if (StartsWith(line, "type=") || StartsWith(line, "node=")) {
    auto head = ScanHead(line, 0, ctx);
    if (!head.ok()) return false;
    out = AuditLine{{}, line, *head};
    return true;
  }
  const SyslogHeader h = SkipSyslogHeader(line, ctx);
  if (StartsWith(h.msg, "type=") || StartsWith(h.msg, "node=")) {
    auto head = ScanHead(h.msg, 0, ctx);
    if (!head.ok()) return false;
    out = AuditLine{h.hostname, h.msg, *head};
    return true;
  }
  // Some other prefix ("audispd: ", a relay's tag): the first " node=" or " type=" that starts a record.
  for (std::string_view marker : {" node=", " type="}) {
    const auto p = line.find(marker);
    if (p == std::string_view::npos) continue;
    std::string_view rec = line.substr(p + 1);
    auto head = ScanHead(rec, 0, ctx);
    if (!head.ok()) continue;
    out = AuditLine{{}, rec, *head};
    return true;
  }
  return false;
}

}  // namespace

bool AuditdJoiner::IsRecord(std::string_view line) {
  AuditLine a;
  return FindAuditRecord(line, a);
}

bool AuditdJoiner::AppliesToFormat(std::string_view format) {
  return format == "auto" || format == "auditd" || format == "syslog" || format == "rfc3164" || format == "rfc5424";
}

AuditdJoiner::TaggedEmit AuditdJoiner::Untagged(const Emit& emit) {
  return [&emit](std::string_view joined, const std::vector<std::uint64_t>&) { emit(joined); };
}

void AuditdJoiner::EmitGroup(std::size_t i, const TaggedEmit& emit) {
  Group g = std::move(groups_[i]);
  groups_.erase(groups_.begin() + static_cast<std::ptrdiff_t>(i));
  if (!g.text.empty()) emit(g.text, g.tags);
}

void AuditdJoiner::Add(std::string_view record, core::Timestamp now, const Emit& emit) {
  Add(record, 0, now, Untagged(emit));
}

void AuditdJoiner::Add(std::string_view record, std::uint64_t tag, core::Timestamp now, const TaggedEmit& emit) {
  Flush(now, emit);
  while (!record.empty() && (record.back() == '\n' || record.back() == '\r')) record.remove_suffix(1);
  AuditLine a;
  if (!FindAuditRecord(record, a)) {
    emit(record, {tag});  // not an audit record: pass it through alone
    return;
  }
  const RecordHead& head = a.head;
  std::string key;
  key.reserve(a.prefix_host.size() + head.node.size() + head.seconds_text.size() + head.serial.size() + 3);
  key.append(a.prefix_host).append("|").append(head.node).append(":").append(head.seconds_text).append(":").append(
      head.serial);
  std::size_t i = 0;
  for (; i < groups_.size(); ++i)
    if (groups_[i].key == key) break;
  if (head.type == "EOE") {
    if (i < groups_.size()) {
      groups_[i].tags.push_back(tag);
      EmitGroup(i, emit);
    }
    return;
  }
  if (i == groups_.size()) {
    if (!IsGroupedType(head.type)) {
      emit(record, {tag});
      return;
    }
    if (groups_.size() >= options_.max_open) EmitGroup(0, emit);
    i = groups_.size();
    groups_.push_back(Group{std::move(key), std::string(), 0, now, {}});
  }
  Group& g = groups_[i];
  if (g.text.empty()) {
    g.text.append(record);  // the first record keeps its syslog header
  } else {
    g.text.push_back('\n');
    g.text.append(a.record);
  }
  g.tags.push_back(tag);
  if (++g.records >= options_.max_records) EmitGroup(i, emit);
}

void AuditdJoiner::Flush(core::Timestamp now, const Emit& emit) { Flush(now, Untagged(emit)); }

void AuditdJoiner::Flush(core::Timestamp now, const TaggedEmit& emit) {
  std::size_t i = 0;
  while (i < groups_.size()) {
    if (now.ns - groups_[i].opened.ns >= options_.timeout_ns) {
      EmitGroup(i, emit);
    } else {
      ++i;
    }
  }
}

void AuditdJoiner::FlushAll(const Emit& emit) { FlushAll(Untagged(emit)); }

void AuditdJoiner::FlushAll(const TaggedEmit& emit) {
  while (!groups_.empty()) EmitGroup(0, emit);
}

void AuditdJoiner::ForEachOpen(const std::function<void(const std::vector<std::uint64_t>& tags)>& fn) const {
  for (const auto& g : groups_) fn(g.tags);
}

AuditdJoiner::Emit AuditdJoiner::IntoBatch(event::Batch& batch, const ParseContext& ctx) {
  return [&batch, ctx](std::string_view joined) {
    event::Event& e = batch.Add();
    e.set_raw(joined);
    AuditdParser parser;
    Status st = parser.Parse(e.raw(), ctx, e);
    if (!st.ok()) e.set_parse_error(st.error().message());
  };
}

}  // namespace medsoc::ingest::text
