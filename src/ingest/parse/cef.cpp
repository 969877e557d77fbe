#include "ingest/parse/cef.h"

#include <cstring>
#include <string>

#include "ingest/parse/syslog.h"
#include "ingest/parse/text_common.h"

namespace medsoc::ingest::text {
namespace {

using event::Value;

Error ParseError(std::size_t offset, std::string_view what) { return ParseErrorAt(offset, what); }

enum class Kind : std::uint8_t { kStr, kLower, kInt, kIp, kTime, kUser, kSeverity, kTransport, kDirection };

struct KeyMap {
  std::string_view key;
  event::FieldId Fields::*field;
  Kind kind;
};

// Shared CEF/LEEF key table (see cef.h).
constexpr KeyMap kKeys[] = {
    {"src", &Fields::source_ip, Kind::kIp},
    {"sourceAddress", &Fields::source_ip, Kind::kIp},
    {"dst", &Fields::destination_ip, Kind::kIp},
    {"destinationAddress", &Fields::destination_ip, Kind::kIp},
    {"spt", &Fields::source_port, Kind::kInt},
    {"sourcePort", &Fields::source_port, Kind::kInt},
    {"srcPort", &Fields::source_port, Kind::kInt},
    {"dpt", &Fields::destination_port, Kind::kInt},
    {"destinationPort", &Fields::destination_port, Kind::kInt},
    {"dstPort", &Fields::destination_port, Kind::kInt},
    {"smac", &Fields::source_mac, Kind::kStr},
    {"srcMAC", &Fields::source_mac, Kind::kStr},
    {"dmac", &Fields::destination_mac, Kind::kStr},
    {"dstMAC", &Fields::destination_mac, Kind::kStr},
    {"shost", &Fields::source_domain, Kind::kStr},
    {"sourceHostName", &Fields::source_domain, Kind::kStr},
    {"dhost", &Fields::destination_domain, Kind::kStr},
    {"destinationHostName", &Fields::destination_domain, Kind::kStr},
    {"suser", &Fields::source_user_name, Kind::kUser},
    {"sourceUserName", &Fields::source_user_name, Kind::kUser},
    {"duser", &Fields::destination_user_name, Kind::kUser},
    {"destinationUserName", &Fields::destination_user_name, Kind::kUser},
    {"usrName", &Fields::user_name, Kind::kUser},
    {"act", &Fields::event_action, Kind::kStr},
    {"deviceAction", &Fields::event_action, Kind::kStr},
    {"action", &Fields::event_action, Kind::kStr},
    {"outcome", &Fields::event_outcome, Kind::kLower},
    {"request", &Fields::url_original, Kind::kStr},
    {"requestUrl", &Fields::url_original, Kind::kStr},
    {"url", &Fields::url_original, Kind::kStr},
    {"requestMethod", &Fields::http_request_method, Kind::kStr},
    {"requestClientApplication", &Fields::user_agent_original, Kind::kStr},
    {"app", &Fields::network_protocol, Kind::kLower},
    {"applicationProtocol", &Fields::network_protocol, Kind::kLower},
    {"proto", &Fields::network_transport, Kind::kTransport},
    {"transportProtocol", &Fields::network_transport, Kind::kTransport},
    {"in", &Fields::source_bytes, Kind::kInt},
    {"bytesIn", &Fields::source_bytes, Kind::kInt},
    {"srcBytes", &Fields::source_bytes, Kind::kInt},
    {"out", &Fields::destination_bytes, Kind::kInt},
    {"bytesOut", &Fields::destination_bytes, Kind::kInt},
    {"dstBytes", &Fields::destination_bytes, Kind::kInt},
    {"srcPackets", &Fields::source_packets, Kind::kInt},
    {"dstPackets", &Fields::destination_packets, Kind::kInt},
    {"totalPackets", &Fields::network_packets, Kind::kInt},
    {"msg", &Fields::message, Kind::kStr},
    {"message", &Fields::message, Kind::kStr},
    {"reason", &Fields::event_reason, Kind::kStr},
    {"cat", &Fields::rule_category, Kind::kStr},
    {"deviceEventCategory", &Fields::rule_category, Kind::kStr},
    {"policy", &Fields::rule_name, Kind::kStr},
    {"externalId", &Fields::event_id, Kind::kStr},
    {"dvc", &Fields::observer_ip, Kind::kIp},
    {"deviceAddress", &Fields::observer_ip, Kind::kIp},
    {"dvchost", &Fields::observer_hostname, Kind::kStr},
    {"deviceHostName", &Fields::observer_hostname, Kind::kStr},
    {"deviceInboundInterface", &Fields::observer_ingress_interface, Kind::kStr},
    {"deviceOutboundInterface", &Fields::observer_egress_interface, Kind::kStr},
    {"deviceDirection", &Fields::network_direction, Kind::kDirection},
    {"fname", &Fields::file_name, Kind::kStr},
    {"fileName", &Fields::file_name, Kind::kStr},
    {"filePath", &Fields::file_path, Kind::kStr},
    {"fsize", &Fields::file_size, Kind::kInt},
    {"fileSize", &Fields::file_size, Kind::kInt},
    {"sproc", &Fields::process_name, Kind::kStr},
    {"sourceProcessName", &Fields::process_name, Kind::kStr},
    {"spid", &Fields::process_pid, Kind::kInt},
    {"sourceProcessId", &Fields::process_pid, Kind::kInt},
    {"sourceTranslatedAddress", &Fields::source_nat_ip, Kind::kIp},
    {"srcPostNAT", &Fields::source_nat_ip, Kind::kIp},
    {"destinationTranslatedAddress", &Fields::destination_nat_ip, Kind::kIp},
    {"dstPostNAT", &Fields::destination_nat_ip, Kind::kIp},
    {"sourceTranslatedPort", &Fields::source_nat_port, Kind::kInt},
    {"srcPostNATPort", &Fields::source_nat_port, Kind::kInt},
    {"destinationTranslatedPort", &Fields::destination_nat_port, Kind::kInt},
    {"dstPostNATPort", &Fields::destination_nat_port, Kind::kInt},
    {"start", &Fields::event_start, Kind::kTime},
    {"end", &Fields::event_end, Kind::kTime},
    {"sev", &Fields::event_severity, Kind::kSeverity},
    {"identHostName", &Fields::host_name, Kind::kStr},
    {"domain", &Fields::user_domain, Kind::kStr},
};

const KeyMap* FindKey(std::string_view key) {
  for (const KeyMap& k : kKeys)
    if (k.key == key) return &k;
  return nullptr;
}

std::string_view Lower(std::string_view s, event::Event& e) {
  bool upper = false;
  for (char c : s) upper |= (c >= 'A' && c <= 'Z');
  if (!upper) return s;
  char* out = e.arena().Allocate(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) out[i] = ToLower(s[i]);
  return {out, s.size()};
}

std::optional<std::int64_t> Severity(std::string_view s) {
  if (auto v = ParseInt(s)) return v;
  if (EqualsIgnoreCase(s, "low")) return 3;
  if (EqualsIgnoreCase(s, "medium")) return 6;
  if (EqualsIgnoreCase(s, "high")) return 8;
  if (EqualsIgnoreCase(s, "very-high") || EqualsIgnoreCase(s, "very high")) return 10;
  return std::nullopt;
}

// "rt"/"devTime": epoch milliseconds or "MMM dd [yyyy] HH:mm:ss[.SSS] [zone]".
std::optional<core::Timestamp> DeviceTime(std::string_view s, const ParseContext& ctx) {
  s = Trim(s);
  if (ParseInt(s)) return EpochSecondsOrMillis(s);
  int offset = ctx.tz_offset_minutes;
  std::string_view zone;
  if (const auto sp = s.rfind(' '); sp != std::string_view::npos) {
    zone = s.substr(sp + 1);
    if (EqualsIgnoreCase(zone, "UTC") || EqualsIgnoreCase(zone, "GMT") || zone == "Z") offset = 0;
  }
  const core::Timestamp now = ctx.now.ns != 0 ? ctx.now : core::Now();
  if (auto t = ScanBsdTime(s, offset, now)) return t->time;
  if (auto t = ScanIsoTime(s, offset)) return t->time;
  return std::nullopt;
}

std::string_view Transport(std::string_view s, event::Event& e) {
  if (s == "6") return "tcp";
  if (s == "17") return "udp";
  if (s == "1") return "icmp";
  if (s == "58") return "ipv6-icmp";
  return Lower(s, e);
}

// Applies one known or unknown key. `label_for` finds csNLabel values.
void ApplyPair(std::string_view key, std::string_view value, const ParseContext& ctx, event::Event& e,
               bool& has_msg) {
  const Fields& f = F();
  SetOriginal(e, key, Value::String(value));
  if (value.empty()) return;
  if (key == "rt" || key == "devTime") {
    if (auto t = DeviceTime(value, ctx)) {
      e.set_time(*t);
      e.set_time_text(value);
    }
    return;
  }
  const KeyMap* m = FindKey(key);
  if (m == nullptr) return;
  const event::FieldId id = f.*(m->field);
  switch (m->kind) {
    case Kind::kStr: SetView(e, id, value); break;
    case Kind::kLower: SetView(e, id, Lower(value, e)); break;
    case Kind::kInt: SetInt(e, id, value); break;
    case Kind::kIp:
      if (!SetIp(e, id, value)) SetView(e, id == f.source_ip ? f.source_address : id == f.destination_ip ? f.destination_address : id, value);
      break;
    case Kind::kTime:
      if (auto t = DeviceTime(value, ctx)) e.Set(id, Value::Time(*t));
      break;
    case Kind::kUser:
      SetView(e, id, value);
      AddRelatedUser(e, value);
      if (id == f.user_name || id == f.source_user_name || !e.Has(f.user_name)) SetView(e, f.user_name, value);
      break;
    case Kind::kSeverity:
      if (auto v = Severity(value)) e.Set(id, Value::Int(*v));
      break;
    case Kind::kTransport: SetView(e, id, Transport(value, e)); break;
    case Kind::kDirection:
      SetView(e, id, value == "0" ? std::string_view("inbound") : value == "1" ? std::string_view("outbound") : value);
      break;
  }
  if (id == f.message) has_msg = true;
}

// After all pairs: labels of custom fields ("cs1Label=Rule Name" + "cs1=Allow Web").
void ApplyLabels(event::Event& e) {
  static constexpr std::string_view kCustom[] = {"cs1", "cs2", "cs3", "cs4", "cs5", "cs6", "cn1", "cn2", "cn3",
                                                 "cfp1", "cfp2", "cfp3", "cfp4", "flexString1", "flexString2",
                                                 "c6a1", "c6a2", "c6a3", "c6a4", "deviceCustomDate1",
                                                 "deviceCustomDate2"};
  char label_key[32];
  for (std::string_view k : kCustom) {
    const event::FieldId kid = event::DefaultFieldTable().Find(k);
    if (!kid.valid()) continue;
    const Value* v = e.FindOriginal(kid);
    if (v == nullptr) continue;
    std::memcpy(label_key, k.data(), k.size());
    std::memcpy(label_key + k.size(), "Label", 5);
    const event::FieldId lid = event::DefaultFieldTable().Find(std::string_view(label_key, k.size() + 5));
    if (!lid.valid()) continue;
    const Value* label = e.FindOriginal(lid);
    if (label == nullptr || !label->is_string() || label->str().empty()) continue;
    SetOriginal(e, label->str(), *v);
  }
}

// Splits the next '|'-terminated header field with '\|' and '\\' escapes.
Result<std::string_view> HeaderField(std::string_view s, std::size_t& pos, event::Event& e, std::string_view what,
                                     std::size_t base) {
  const std::size_t start = pos;
  bool escaped = false;
  for (; pos < s.size(); ++pos) {
    if (s[pos] == '\\') {
      escaped = true;
      ++pos;
      continue;
    }
    if (s[pos] == '|') break;
  }
  if (pos >= s.size()) return ParseError(base + start, "truncated header: " + std::string(what) + " not terminated by '|'");
  std::string_view v = s.substr(start, pos - start);
  ++pos;
  if (escaped) v = Unescape(v, e.arena());
  return v;
}

bool IsCefKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '_' || c == '.' || c == '[' ||
         c == ']' || c == '-';
}

std::string_view UnescapeCefValue(std::string_view v, event::Event& e) {
  if (v.find('\\') == std::string_view::npos) return v;
  char* out = e.arena().Allocate(v.size());
  std::size_t n = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c == '\\' && i + 1 < v.size()) {
      const char nx = v[i + 1];
      if (nx == '=' || nx == '\\' || nx == '|') {
        c = nx;
        ++i;
      } else if (nx == 'n') {
        c = '\n';
        ++i;
      } else if (nx == 'r') {
        c = '\r';
        ++i;
      }
    }
    out[n++] = c;
  }
  return {out, n};
}

void SetHeaderCommon(event::Event& e, std::string_view vendor, std::string_view product, std::string_view version,
                     std::string_view event_id) {
  const Fields& f = F();
  if (!vendor.empty()) SetView(e, f.observer_vendor, vendor);
  if (!product.empty()) SetView(e, f.observer_product, product);
  if (!version.empty()) SetView(e, f.observer_version, version);
  if (!event_id.empty()) SetView(e, f.event_code, event_id);
  SetDatasetSlug(e, vendor, product);  // "Security|threatmanager" -> security.threatmanager
}

// Position of "CEF:"/"LEEF:" at the start of the payload, or after a bare host word ("host CEF:0|").
std::size_t FindMarker(std::string_view s, std::string_view marker) {
  if (StartsWith(s, marker)) return 0;
  const auto p = s.find(marker);
  if (p != std::string_view::npos && p < 300 && (s[p - 1] == ' ' || s[p - 1] == ':')) return p;
  return std::string_view::npos;
}

}  // namespace

Status ParseCefPayload(std::string_view s, std::size_t base, const ParseContext& ctx, event::Event& e) {
  const Fields& f = F();
  auto ParseError = [base](std::size_t off, std::string_view what) { return text::ParseErrorAt(base + off, what); };
  if (!StartsWith(s, "CEF:")) return ParseError(0, "CEF payload must start with 'CEF:'");
  std::size_t pos = 4;
  auto at = [&](Error err) { return err; };
  auto version = HeaderField(s, pos, e, "Version", base);
  if (!version.ok()) return at(version.error());
  if (version->empty() || !IsDigit((*version)[0])) return at(ParseError(4, "CEF version must be a number"));
  std::string_view fields[6];
  static constexpr std::string_view kNames[6] = {"Device Vendor", "Device Product", "Device Version", "Signature ID",
                                                 "Name", "Severity"};
  for (int i = 0; i < 6; ++i) {
    auto v = HeaderField(s, pos, e, kNames[i], base);
    if (!v.ok()) return at(v.error());
    fields[i] = *v;
  }
  SetOriginal(e, "cef.version", Value::String(*version));
  SetOriginal(e, "cef.device_vendor", Value::String(fields[0]));
  SetOriginal(e, "cef.device_product", Value::String(fields[1]));
  SetOriginal(e, "cef.device_version", Value::String(fields[2]));
  SetOriginal(e, "cef.signature_id", Value::String(fields[3]));
  SetOriginal(e, "cef.name", Value::String(fields[4]));
  SetOriginal(e, "cef.severity", Value::String(fields[5]));
  SetHeaderCommon(e, fields[0], fields[1], fields[2], fields[3]);
  if (auto sev = Severity(fields[5])) e.Set(f.event_severity, Value::Int(*sev));
  if (!fields[4].empty()) SetView(e, f.message, fields[4]);
  // Extension.
  bool has_msg = false;
  while (pos < s.size()) {
    while (pos < s.size() && s[pos] == ' ') ++pos;
    if (pos >= s.size()) break;
    const std::size_t kstart = pos;
    while (pos < s.size() && IsCefKeyChar(s[pos])) ++pos;
    if (pos == kstart || pos >= s.size() || s[pos] != '=')
      return at(ParseError(kstart, "CEF extension: 'key=' expected"));
    const std::string_view key = s.substr(kstart, pos - kstart);
    const std::size_t vstart = ++pos;
    std::size_t vend = s.size();
    std::size_t next = s.size();
    for (std::size_t i = vstart; i < s.size(); ++i) {
      if (s[i] == '\\') {
        ++i;
        continue;
      }
      if (s[i] != '=') continue;
      std::size_t j = i;
      while (j > vstart && IsCefKeyChar(s[j - 1])) --j;
      if (j > vstart && j < i && s[j - 1] == ' ') {
        vend = j - 1;
        next = j;
        break;
      }
      // An unescaped '=' inside the value (senders get this wrong often): keep it.
    }
    while (vend > vstart && s[vend - 1] == ' ') --vend;
    const std::string_view value = UnescapeCefValue(s.substr(vstart, vend - vstart), e);
    ApplyPair(key, value, ctx, e, has_msg);
    pos = next;
  }
  ApplyLabels(e);
  (void)has_msg;
  return Ok();
}

Status ParseLeefPayload(std::string_view s, std::size_t base, const ParseContext& ctx, event::Event& e) {
  auto ParseError = [base](std::size_t off, std::string_view what) { return text::ParseErrorAt(base + off, what); };
  if (!StartsWith(s, "LEEF:")) return ParseError(0, "LEEF payload must start with 'LEEF:'");
  std::size_t pos = 5;
  std::size_t bar = s.find('|', pos);
  if (bar == std::string_view::npos) return ParseError(pos, "truncated LEEF header: version");
  const std::string_view version = s.substr(pos, bar - pos);
  if (version != "1.0" && version != "2.0" && version != "1" && version != "2")
    return ParseError(pos, "unsupported LEEF version '" + std::string(version) + "'");
  pos = bar + 1;
  std::string_view h[4];
  static constexpr std::string_view kNames[4] = {"Vendor", "Product", "Version", "EventID"};
  for (int i = 0; i < 4; ++i) {
    bar = s.find('|', pos);
    if (bar == std::string_view::npos) return ParseError(pos, "truncated LEEF header: " + std::string(kNames[i]));
    h[i] = s.substr(pos, bar - pos);
    pos = bar + 1;
  }
  char delim = '\t';
  if (version[0] == '2') {
    // Optional delimiter field: "^|", "x09|", "0x09|", "\x09|".
    bar = s.find('|', pos);
    if (bar != std::string_view::npos && bar - pos <= 6) {
      std::string_view d = s.substr(pos, bar - pos);
      bool ok = true;
      if (d.size() == 1) {
        delim = d[0];
      } else if (d.empty()) {
        ok = true;  // empty: TAB
      } else {
        std::string_view hex = d;
        if (StartsWith(hex, "0x") || StartsWith(hex, "0X")) hex.remove_prefix(2);
        else if (StartsWith(hex, "\\x")) hex.remove_prefix(2);
        else if (hex[0] == 'x' || hex[0] == 'X') hex.remove_prefix(1);
        else ok = false;
        unsigned v = 0;
        if (ok && (hex.empty() || hex.size() > 4)) ok = false;
        for (char c : hex) {
          if (!ok) break;
          v <<= 4;
          if (IsDigit(c)) v |= static_cast<unsigned>(c - '0');
          else if (ToLower(c) >= 'a' && ToLower(c) <= 'f') v |= static_cast<unsigned>(ToLower(c) - 'a' + 10);
          else ok = false;
        }
        if (ok && (v == 0 || v > 0x7F)) return ParseError(pos, "LEEF delimiter must be one ASCII character");
        if (ok) delim = static_cast<char>(v);
      }
      if (ok) pos = bar + 1;
      // else: no delimiter field; attributes start here, TAB-separated.
    }
  }
  SetOriginal(e, "leef.version", Value::String(version));
  SetOriginal(e, "leef.vendor", Value::String(h[0]));
  SetOriginal(e, "leef.product", Value::String(h[1]));
  SetOriginal(e, "leef.product_version", Value::String(h[2]));
  SetOriginal(e, "leef.event_id", Value::String(h[3]));
  SetHeaderCommon(e, h[0], h[1], h[2], h[3]);
  bool has_msg = false;
  std::string_view dev_time, dev_time_format;
  while (pos < s.size()) {
    std::size_t end = s.find(delim, pos);
    if (end == std::string_view::npos) end = s.size();
    std::string_view attr = s.substr(pos, end - pos);
    pos = end + 1;
    const auto eq = attr.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    std::string_view key = Trim(attr.substr(0, eq)), value = attr.substr(eq + 1);
    if (key == "devTime") {
      dev_time = value;
      SetOriginal(e, key, Value::String(value));
      continue;
    }
    if (key == "devTimeFormat") dev_time_format = value;
    ApplyPair(key, value, ctx, e, has_msg);
  }
  if (!dev_time.empty()) {
    // devTimeFormat is a Java SimpleDateFormat; the common ones are covered by DeviceTime.
    if (auto t = DeviceTime(dev_time, ctx)) {
      e.set_time(*t);
      e.set_time_text(dev_time);
    }
  }
  (void)dev_time_format;
  return Ok();
}

Status CefParser::Parse(std::string_view message, const ParseContext& ctx, event::Event& e) {
  std::string_view s = PrepareMessage(message, ctx, e);
  SyslogHeader h = SkipSyslogHeader(s, ctx);
  ApplySyslogHeader(h, e);
  const std::size_t p = FindMarker(h.msg, "CEF:");
  if (p == std::string_view::npos) return ParseError(h.msg_offset, "no 'CEF:' payload");
  if (p > 0 && h.hostname.empty()) {
    std::string_view host = Trim(h.msg.substr(0, p));
    if (!host.empty() && host.find(' ') == std::string_view::npos) SetView(e, F().host_hostname, host);
  }
  return ParseCefPayload(h.msg.substr(p), h.msg_offset + p, ctx, e);
}

int CefParser::Detect(std::string_view sample) const {
  if (StartsWith(sample, "CEF:")) return 98;
  const auto p = sample.find("CEF:");
  if (p != std::string_view::npos && p < 300 && p + 5 < sample.size() && IsDigit(sample[p + 4]) &&
      sample.find('|', p) != std::string_view::npos)
    return 95;
  return 0;
}

Status LeefParser::Parse(std::string_view message, const ParseContext& ctx, event::Event& e) {
  std::string_view s = PrepareMessage(message, ctx, e);
  SyslogHeader h = SkipSyslogHeader(s, ctx);
  ApplySyslogHeader(h, e);
  const std::size_t p = FindMarker(h.msg, "LEEF:");
  if (p == std::string_view::npos) return ParseError(h.msg_offset, "no 'LEEF:' payload");
  return ParseLeefPayload(h.msg.substr(p), h.msg_offset + p, ctx, e);
}

int LeefParser::Detect(std::string_view sample) const {
  if (StartsWith(sample, "LEEF:")) return 98;
  const auto p = sample.find("LEEF:");
  if (p != std::string_view::npos && p < 300 && sample.find('|', p) != std::string_view::npos) return 95;
  return 0;
}

}  // namespace medsoc::ingest::text
