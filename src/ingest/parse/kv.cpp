#include "ingest/parse/kv.h"

#include "ingest/parse/syslog.h"
#include "ingest/parse/text_common.h"

namespace medsoc::ingest::text {
namespace {

using event::Value;

enum class Kind : std::uint8_t { kIp, kInt, kStr, kUser, kLower, kTime };
struct Alias {
  std::string_view key;
  event::FieldId Fields::*field;
  Kind kind;
};
constexpr Alias kAliases[] = {
    {"src", &Fields::source_ip, Kind::kIp},          {"srcip", &Fields::source_ip, Kind::kIp},
    {"src_ip", &Fields::source_ip, Kind::kIp},       {"sip", &Fields::source_ip, Kind::kIp},
    {"dst", &Fields::destination_ip, Kind::kIp},     {"dstip", &Fields::destination_ip, Kind::kIp},
    {"dst_ip", &Fields::destination_ip, Kind::kIp},  {"dip", &Fields::destination_ip, Kind::kIp},
    {"spt", &Fields::source_port, Kind::kInt},       {"sport", &Fields::source_port, Kind::kInt},
    {"srcport", &Fields::source_port, Kind::kInt},   {"src_port", &Fields::source_port, Kind::kInt},
    {"dpt", &Fields::destination_port, Kind::kInt},  {"dport", &Fields::destination_port, Kind::kInt},
    {"dstport", &Fields::destination_port, Kind::kInt}, {"dst_port", &Fields::destination_port, Kind::kInt},
    {"user", &Fields::user_name, Kind::kUser},       {"username", &Fields::user_name, Kind::kUser},
    {"usr", &Fields::user_name, Kind::kUser},        {"action", &Fields::event_action, Kind::kStr},
    {"act", &Fields::event_action, Kind::kStr},      {"proto", &Fields::network_transport, Kind::kLower},
    {"protocol", &Fields::network_transport, Kind::kLower}, {"msg", &Fields::message, Kind::kStr},
    {"message", &Fields::message, Kind::kStr},       {"time", nullptr, Kind::kTime},
    {"timestamp", nullptr, Kind::kTime},             {"datetime", nullptr, Kind::kTime},
};

int CountPairs(std::string_view s, int limit) {
  int pairs = 0;
  std::size_t pos = 0;
  while (pos < s.size() && pairs < limit) {
    const auto eq = s.find('=', pos);
    if (eq == std::string_view::npos) break;
    std::size_t k = eq;
    while (k > pos && IsKeyChar(s[k - 1], '=')) --k;
    if (k < eq && (k == 0 || IsSpace(s[k - 1]))) ++pairs;
    pos = eq + 1;
  }
  return pairs;
}

}  // namespace

Status KvParser::Parse(std::string_view message, const ParseContext& ctx, event::Event& e) {
  const Fields& f = F();
  std::string_view s = PrepareMessage(message, ctx, e);
  SyslogHeader h = SkipSyslogHeader(s, ctx);
  ApplySyslogHeader(h, e);
  KvDialect d;
  std::size_t n_pairs = 0;
  auto r = ScanKv(h.msg, d, e.arena(), [&](const KvPair& p) {
    ++n_pairs;
    SetOriginal(e, p.key, Value::String(p.value));
    if (p.value.empty()) return;
    for (const Alias& a : kAliases) {
      if (a.key.size() != p.key.size() || !EqualsIgnoreCase(a.key, p.key)) continue;
      switch (a.kind) {
        case Kind::kIp: SetIp(e, f.*(a.field), p.value); break;
        case Kind::kInt: SetInt(e, f.*(a.field), p.value); break;
        case Kind::kStr: SetView(e, f.*(a.field), p.value); break;
        case Kind::kUser:
          SetView(e, f.*(a.field), p.value);
          AddRelatedUser(e, p.value);
          break;
        case Kind::kLower: {
          char* low = e.arena().Allocate(p.value.size());
          for (std::size_t i = 0; i < p.value.size(); ++i) low[i] = ToLower(p.value[i]);
          SetView(e, f.*(a.field), std::string_view(low, p.value.size()));
          break;
        }
        case Kind::kTime:
          if (auto t = ScanIsoTime(p.value, ctx.tz_offset_minutes); t && t->length == p.value.size()) {
            e.set_time(t->time);
            e.set_time_text(p.value);
          } else if (auto v = EpochSecondsOrMillis(p.value)) {
            e.set_time(*v);
            e.set_time_text(p.value);
          }
          break;
      }
      break;
    }
  });
  if (!r.ok()) {
    return ParseErrorAt(h.msg_offset, r.error().message() + " (offsets after the header)");
  }
  if (n_pairs == 0) return ParseErrorAt(h.msg_offset, "no key=value pairs");
  if (!e.Has(f.message) && !h.msg.empty() && h.pri >= 0) SetView(e, f.message, h.msg);
  return Ok();
}

int KvParser::Detect(std::string_view sample) const {
  const int pairs = CountPairs(sample, 12);
  if (pairs < 2) return 0;
  return 40 + pairs * 2;  // 44..64: below every specific format
}

}  // namespace medsoc::ingest::text
